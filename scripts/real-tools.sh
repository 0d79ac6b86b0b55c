#!/usr/bin/env bash
# make real-tools: the Go programs the real-part tiers run, built from the Go
# module proxy at pinned versions into a cache outside the tree, keyed by module
# and version; a second run builds nothing. Every module is verified against
# the checksum database and a go.sum: kind's own (go install), or the go.sum of
# the wrapper module in tools/ (see tools/README.md) for the programs whose
# go.mod has replace directives or whose main package needs generated files.
# Each program's name, version and sha256 (for a module that builds several,
# the one it is named by) are recorded in $cache/tools.sha256;
# $cache/bin holds the current ones (put it first on PATH, as make test-real
# does).
#
# Usage: real-tools.sh [NAME...]: the named programs, all when none is named:
# the tools kind, pulumi and pulumi-resource-kubernetes, linked into
# $cache/bin; and the node image's programs (images/node/build.sh), linked
# into $cache/node-bin and never put on PATH (a containerd there would be the
# one dockerd starts): kubernetes (kubeadm, kubelet and the control plane),
# containerd (with ctr and its runc shim), crictl, etcd, coredns and pause.
# Environment: IMAGEVOLUME_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/imagevolume).
set -euo pipefail

tools=(kind pulumi pulumi-resource-kubernetes)
node_programs=(kubernetes containerd crictl etcd coredns pause)
known=("${tools[@]}" "${node_programs[@]}")
wanted=("$@")
((${#wanted[@]})) || wanted=("${known[@]}")
for name in "${wanted[@]}"; do
  [[ " ${known[*]} " == *" $name "* ]] || {
    echo "real-tools: unknown program '$name': the programs are ${known[*]}" >&2
    exit 2
  }
done
# wants NAME: whether NAME was asked for.
wants() { [[ " ${wanted[*]} " == *" $1 "* ]]; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
wrappers=$root/tools
cache=${IMAGEVOLUME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imagevolume}

command -v go >/dev/null 2>&1 || {
  echo "real-tools: go is not on PATH: install Go 1.26 (https://go.dev/doc/install)" >&2
  exit 1
}
mkdir -p "$cache/bin" "$cache/node-bin" "$cache/builds" "$cache/tmp"
# One run at a time per cache: a second waits here rather than removing the
# first one's half-built folder.
exec 8>"$cache/real-tools.lock"
flock 8
export GOMODCACHE=$cache/go/mod GOCACHE=$cache/go/build GOFLAGS=-trimpath

# The version a wrapper's go.mod requires of a module (the single place it is pinned).
required() { # wrapper module
  local version
  version=$(awk -v m="$2" '($1 == m || ($1 == "require" && $2 == m)) { print ($1 == m ? $2 : $3); exit }' "$wrappers/$1/go.mod")
  [[ -n $version ]] || { echo "real-tools: tools/$1/go.mod requires no $2" >&2; exit 1; }
  echo "$version"
}

sums=()
# build NAME VERSION FOLDER FUNCTION [LINKS]: unless FOLDER/NAME exists,
# FUNCTION OUT builds it into OUT (FOLDER.partial, renamed when done); then
# NAME's sha256 is recorded and LINKS/NAME (default $cache/bin) points at it.
# Extra files FUNCTION leaves in OUT (shims shipped beside a binary, the other
# programs of one module) are linked into LINKS too.
build() {
  local name=$1 version=$2 folder=$3 function=$4 links=${5:-$cache/bin} started file
  if [[ ! -x $folder/$name ]]; then
    echo "real-tools: building $name $version into $folder" >&2
    started=$SECONDS
    rm -rf "$folder.partial"
    mkdir -p "$folder.partial"
    "$function" "$folder.partial"
    (cd "$folder.partial" && sha256sum -- "$name" >"$name.sha256")
    mv "$folder.partial" "$folder"
    echo "real-tools: built $name $version in $((SECONDS - started)) s" >&2
  fi
  [[ -f $folder/$name.sha256 ]] || (cd "$folder" && sha256sum -- "$name" >"$name.sha256")
  sums+=("$name $version $(cut -d' ' -f1 "$folder/$name.sha256")")
  for file in "$folder"/*; do
    [[ $file == *.sha256 ]] || ln -sfn "$file" "$links/${file##*/}"
  done
}

# kind: a plain go install (its go.mod has no replace directives).
kind_version=v0.32.0
kind_build() { GOBIN=$1 go install -ldflags='-s -w' "sigs.k8s.io/kind@$kind_version"; }
wants kind && build kind "$kind_version" "$cache/builds/sigs.k8s.io_kind@$kind_version" kind_build

# pulumi: pkg/v3's go.mod replaces sdk/v3 with ../sdk, so go install refuses it;
# tools/pulumi requires pkg/v3 and sdk/v3 at one version and repeats pkg's other
# replace lines. Release builds set the version string with -X and CGO_ENABLED=0.
pulumi_version=$(required pulumi github.com/pulumi/pulumi/pkg/v3)
pulumi_build() {
  (cd "$wrappers/pulumi" && CGO_ENABLED=0 go build -mod=readonly -o "$1/pulumi" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}
wants pulumi && build pulumi "$pulumi_version" "$cache/builds/github.com_pulumi_pulumi_pkg_v3_cmd_pulumi@$pulumi_version" pulumi_build

# pulumi-resource-kubernetes: the provider module is served only by
# pseudo-version (tools/pulumi-resource-kubernetes/go.mod names the release
# tag it is). Its main package embeds schema-embed.json and
# terraform-mapping-embed.json, which the module lacks: as the repository's
# Makefile does (VERSION=... go generate, then go build with the version set by
# -X), run the package's own generate.go on the schema.json and
# terraform-mapping.json it ships, in a copy of the package placed in the
# wrapper module, then build that copy.
kubernetes_release=v4.25.0
kubernetes_module=github.com/pulumi/pulumi-kubernetes/provider/v4
kubernetes_pseudo=$(required pulumi-resource-kubernetes "$kubernetes_module")
kubernetes_build() {
  local work source
  work=$(mktemp -d "$cache/tmp/kubernetes.XXXXXX")
  cp "$wrappers/pulumi-resource-kubernetes/go.mod" "$wrappers/pulumi-resource-kubernetes/go.sum" "$work/"
  source=$(cd "$work" && go mod download -json "$kubernetes_module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d $source/cmd/pulumi-resource-kubernetes ]] || { echo "real-tools: $kubernetes_module@$kubernetes_pseudo: no cmd/pulumi-resource-kubernetes" >&2; exit 1; }
  cp -R "$source/cmd/pulumi-resource-kubernetes" "$work/main"
  chmod -R u+w "$work/main"
  (cd "$work/main" && VERSION=${kubernetes_release#v} go run -mod=readonly generate.go)
  (cd "$work" && CGO_ENABLED=0 go build -mod=readonly -o "$1/pulumi-resource-kubernetes" \
    -ldflags "-s -w -X $kubernetes_module/pkg/version.Version=${kubernetes_release#v}" ./main)
  rm -rf "$work"
}
wants pulumi-resource-kubernetes && build pulumi-resource-kubernetes "$kubernetes_release" \
  "$cache/builds/${kubernetes_module//\//_}_cmd_pulumi-resource-kubernetes@$kubernetes_pseudo" kubernetes_build

# kubernetes: k8s.io/kubernetes replaces every k8s.io staging module with
# ./staging/...; tools/kubernetes requires the published staging release of the
# same version instead. The version strings are the ones hack/lib/version.sh
# sets (kubeadm picks its control-plane image tags from gitVersion).
kubernetes_version=$(required kubernetes k8s.io/kubernetes)
kubernetes_programs=(kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)
kubernetes_node_build() {
  local minor=${kubernetes_version#v1.} package ldflags=(-s -w)
  minor=${minor%%.*}
  for package in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=("-X $package.gitVersion=$kubernetes_version" "-X $package.gitMajor=1" "-X $package.gitMinor=$minor"
      "-X $package.gitTreeState=clean" "-X $package.buildDate=1970-01-01T00:00:00Z")
  done
  (cd "$wrappers/kubernetes" && CGO_ENABLED=0 go build -mod=readonly -o "$1/" -ldflags "${ldflags[*]}" \
    "${kubernetes_programs[@]/#/k8s.io/kubernetes/cmd/}")
}
wants kubernetes && build kubelet "$kubernetes_version" "$cache/builds/k8s.io_kubernetes@$kubernetes_version" \
  kubernetes_node_build "$cache/node-bin"

# containerd: a plain go install (no replace directives), with the build tags
# kind's base image builds it with (kind images/base/Dockerfile), static.
containerd_version=v2.3.7
containerd_build() {
  GOBIN=$1 CGO_ENABLED=0 go install -tags 'no_aufs no_zfs no_btrfs no_devmapper' \
    -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$containerd_version" \
    "github.com/containerd/containerd/v2/cmd/containerd@$containerd_version" \
    "github.com/containerd/containerd/v2/cmd/ctr@$containerd_version" \
    "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$containerd_version"
}
wants containerd && build containerd "$containerd_version" \
  "$cache/builds/github.com_containerd_containerd_v2@$containerd_version" containerd_build "$cache/node-bin"

# crictl: a plain go install (no replace directives); kind runs it in nodes
# (kind load, kind export logs).
crictl_version=v1.37.0
crictl_build() {
  GOBIN=$1 CGO_ENABLED=0 go install -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$crictl_version" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$crictl_version"
}
wants crictl && build crictl "$crictl_version" "$cache/builds/sigs.k8s.io_cri-tools@$crictl_version" crictl_build "$cache/node-bin"

# etcd: its main package is in etcd's root module, which replaces its sibling
# modules with ../ paths; tools/etcd is that main function over the server module.
etcd_version=$(required etcd go.etcd.io/etcd/server/v3)
etcd_build() { (cd "$wrappers/etcd" && CGO_ENABLED=0 go build -mod=readonly -o "$1/etcd" -ldflags '-s -w' .); }
wants etcd && build etcd "$etcd_version" "$cache/builds/go.etcd.io_etcd_server_v3@$etcd_version" etcd_build "$cache/node-bin"

# coredns: a plain go install (no replace directives), the version kubeadm
# deploys (kubeadm constants.CoreDNSVersion).
coredns_version=v1.14.2
coredns_build() { GOBIN=$1 CGO_ENABLED=0 go install -ldflags '-s -w' "github.com/coredns/coredns@$coredns_version"; }
wants coredns && build coredns "$coredns_version" "$cache/builds/github.com_coredns_coredns@$coredns_version" coredns_build "$cache/node-bin"

# pause: the project's own (tools/pause), the sandbox image's only program.
pause_version=$(cd "$wrappers/pause" && cat go.mod main.go | sha256sum | cut -c1-12)
pause_build() { (cd "$wrappers/pause" && CGO_ENABLED=0 go build -mod=readonly -o "$1/pause" -ldflags '-s -w' .); }
wants pause && build pause "$pause_version" "$cache/builds/pause@$pause_version" pause_build "$cache/node-bin"

# Keep the lines of the programs not asked for this time.
{
  [[ -f $cache/tools.sha256 ]] && for line in "${sums[@]}"; do printf '%s\n' "${line%% *}"; done \
    | awk 'NR == FNR { asked[$1] = 1; next } !($1 in asked)' - "$cache/tools.sha256"
  printf '%s\n' "${sums[@]}"
} | sort >"$cache/tools.sha256.partial"
mv "$cache/tools.sha256.partial" "$cache/tools.sha256"
echo "real-tools: $cache/bin and $cache/node-bin (${#sums[@]} programs; name, version and sha256 in $cache/tools.sha256)" >&2
