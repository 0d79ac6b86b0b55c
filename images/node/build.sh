#!/usr/bin/env bash
# make node-image: a kind node image with containerd, built on this machine
# from Debian packages and Go modules only (no container registry): Debian
# bookworm (debootstrap) with systemd, Debian's runc and CNI plugins; kubeadm,
# kubelet, kubectl and containerd built by scripts/real-tools.sh; the
# control-plane, etcd and pause images made here and preloaded into
# containerd's store. docs/node-image.md says what is in it and why.
#
# The image's root file system is cached as a tar under
# $IMAGEVOLUME_CACHE/node-image/<key>/, the key a hash of everything that goes
# in (this folder, the Debian package list and mirror, the programs' sha256),
# so a second run only imports it into the Docker engine (DOCKER_HOST), tagged
# $IMAGEVOLUME_NODE_IMAGE (default localhost/imagevolume/node:<kubernetes
# version>: a name no registry answers for, so kind never pulls a stranger's
# image of it); an image of that tag with the same key is left alone.
#
# Environment:
#   IMAGEVOLUME_CACHE          the cache (default ${XDG_CACHE_HOME:-~/.cache}/imagevolume)
#   IMAGEVOLUME_NODE_IMAGE     the tag to import as
#   IMAGEVOLUME_DEBIAN_MIRROR  the Debian mirror debootstrap uses (default http://deb.debian.org/debian)
#   IMAGEVOLUME_NODE_IMPORT=0  build the cached tar only, no Docker engine needed
# Needs root (debootstrap, chroot, containerd), debootstrap, umoci, skopeo and Go.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${IMAGEVOLUME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imagevolume}
mirror=${IMAGEVOLUME_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
# The node's Debian packages: systemd as PID 1; iptables, iproute2, conntrack
# and ethtool for the kubelet and kube-proxy; runc and the CNI plugins for
# containerd; mount and util-linux (findmnt, mountpoint) for the entrypoint.
packages=(systemd systemd-sysv dbus iptables iproute2 util-linux mount kmod libseccomp2 runc
  containernetworking-plugins conntrack ethtool ca-certificates procps socat)
variant=minbase
# What a node never uses: the package cache, documentation, manuals.
trimmed=(var/cache/apt/archives var/lib/apt/lists usr/share/doc usr/share/man usr/share/locale)

started=$SECONDS
steps=8
step=0
progress() {
  step=$((step + 1))
  echo "node-image: [$step/$steps] $* ($((SECONDS - started)) s)" >&2
}
fail() {
  echo "node-image: error: $*" >&2
  exit 1
}

[[ $(id -u) -eq 0 ]] || fail "building the node image needs root (debootstrap, chroot and containerd): run it as root"
[[ $(uname -m) == x86_64 ]] ||
  fail "the node image is built for amd64 only (the kube-proxy image takes x86_64-linux-gnu libraries); this machine is $(uname -m)"
import=${IMAGEVOLUME_NODE_IMPORT:-1}
if [[ $import == 0 ]]; then
  steps=7
else
  command -v docker >/dev/null 2>&1 || fail "docker is not on PATH: install Docker Engine (Debian: apt-get install docker.io)"
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    fail "no Docker daemon answers (DOCKER_HOST=${DOCKER_HOST:-unset}): start it, or set IMAGEVOLUME_NODE_IMPORT=0 to build the cached tar only"
fi
for tool in debootstrap umoci skopeo go tar flock; do
  command -v "$tool" >/dev/null 2>&1 ||
    fail "$tool is not on PATH: install it (Debian: apt-get install debootstrap umoci skopeo; Go 1.26 from https://go.dev/doc/install)"
done

mkdir -p "$cache/node-image" "$cache/tmp"
# One build at a time per cache: another run waits here (their temporary
# folders are their own; the cache's tars are written once, then renamed).
exec 9>"$cache/node-image/.lock"
if ! flock -n 9; then
  echo "node-image: another build holds $cache/node-image/.lock: waiting for it (at most an hour)" >&2
  flock -w 3600 9 || fail "the other build still holds $cache/node-image/.lock after an hour"
fi
progress "Go programs (scripts/real-tools.sh: kubernetes, containerd, crictl, etcd, coredns, pause)"
"$root/scripts/real-tools.sh" kubernetes containerd crictl etcd coredns pause
bin=$cache/node-bin
kubernetes_version=$("$bin/kubeadm" version -o short)
image=${IMAGEVOLUME_NODE_IMAGE:-localhost/imagevolume/node:$kubernetes_version}

# The images kubeadm runs, by the names it asks containerd for.
mapfile -t wanted < <("$bin/kubeadm" config images list --kubernetes-version "$kubernetes_version")
image_named() { # the one wanted image whose repository ends in /$1
  local name
  for name in "${wanted[@]}"; do
    [[ ${name%:*} == */$1 ]] && { echo "$name"; return; }
  done
  fail "kubeadm $kubernetes_version lists no $1 image: ${wanted[*]}"
}

base_key=$(printf '%s\n' "$suite" "$mirror" "$variant" "${packages[@]}" "${trimmed[@]}" | sha256sum | cut -c1-16)
key=$({
  echo "$base_key"
  (cd "$here" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
  for program in kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy \
    containerd ctr containerd-shim-runc-v2 crictl etcd coredns pause; do
    sha256sum <"$bin/$program"
  done
} | sha256sum | cut -c1-16)
out=$cache/node-image/$key
base=$cache/node-image/debian-$suite-$base_key.tar

work=
containerd_pid=
cleanup() {
  if [[ -n $containerd_pid ]]; then
    kill "$containerd_pid" 2>/dev/null || true
    wait "$containerd_pid" 2>/dev/null || true
  fi
  if [[ -n $work ]]; then
    # A mount left by a failed step must not take the host's files with it.
    if grep -q " $work/" /proc/self/mounts; then
      echo "node-image: $work still has mounts; left in place" >&2
    else
      rm -rf "$work"
    fi
  fi
}
trap cleanup EXIT

if [[ -f $out/rootfs.tar ]]; then
  step=5
  progress "root file system: cached ($out/rootfs.tar)"
else
  work=$(mktemp -d "$cache/tmp/node-image.XXXXXX")
  rootfs=$work/rootfs
  if [[ -f $base ]]; then
    progress "Debian $suite: cached ($base)"
    mkdir "$rootfs"
    tar -C "$rootfs" -xf "$base"
  else
    progress "Debian $suite from $mirror (debootstrap: ${packages[*]})"
    include=$(
      IFS=,
      echo "${packages[*]}"
    )
    log=$cache/tmp/node-image-debootstrap.log
    debootstrap --variant="$variant" --include="$include" "$suite" "$rootfs" "$mirror" >"$log" 2>&1 ||
      fail "debootstrap failed (its log: $log):$(tail -n 5 "$log")"
    for folder in "${trimmed[@]}"; do
      [[ ! -d $rootfs/$folder ]] || find "$rootfs/$folder" -mindepth 1 -delete
    done
    tar -C "$rootfs" -cf "$work/debian.tar" .
    mv "$work/debian.tar" "$base"
    for old in "$cache"/node-image/debian-*.tar; do
      [[ $old == "$base" ]] || rm -f "$old"
    done
  fi

  progress "node files and programs"
  cp -R --no-preserve=ownership "$here/files/." "$rootfs/"
  install -m 0755 "$bin/kubelet" "$bin/kubeadm" "$bin/kubectl" "$rootfs/usr/bin/"
  install -m 0755 "$bin/containerd" "$bin/ctr" "$bin/containerd-shim-runc-v2" "$bin/crictl" "$rootfs/usr/local/bin/"
  mkdir -p "$rootfs/etc/cni/net.d" "$rootfs/etc/kubernetes/manifests" "$rootfs/etc/containerd/certs.d"
  echo "$kubernetes_version" >"$rootfs/kind/version"
  # shellcheck disable=SC2016 # dpkg-query's own format, not the shell's
  chroot "$rootfs" dpkg-query -W -f '${Package} ${Version}\n' >"$rootfs/kind/debian-packages"
  # systemd as a container's init: only the units a node needs, no kernel
  # messages, no binfmt (kind's base image does the same).
  rm -f "$rootfs"/lib/systemd/system/multi-user.target.wants/* "$rootfs"/etc/systemd/system/*.wants/* \
    "$rootfs"/lib/systemd/system/local-fs.target.wants/* "$rootfs"/lib/systemd/system/sockets.target.wants/*udev* \
    "$rootfs"/lib/systemd/system/sockets.target.wants/*initctl* "$rootfs"/lib/systemd/system/basic.target.wants/* \
    "$rootfs"/lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service
  echo "ReadKMsg=no" >>"$rootfs/etc/systemd/journald.conf"
  chroot "$rootfs" systemctl enable containerd.service kubelet.service
  chroot "$rootfs" systemctl mask systemd-binfmt.service

  progress "images: ${wanted[*]}"
  layout=$work/layout
  umoci init --layout "$layout"
  # make_image NAME ENTRYPOINT FILE...: an image of FILE... (paths inside the
  # node's root) and their libraries, saved as a docker-archive tar for ctr.
  make_image() {
    local name=$1 entrypoint=$2 tag bundle file target directory link
    shift 2
    tag=${name%:*}
    tag=${tag##*/}
    bundle=$work/bundle-$tag
    umoci new --image "$layout:$tag"
    umoci unpack --image "$layout:$tag" "$bundle" >/dev/null
    # Debian's merged /usr: /lib, /lib64, /bin and /sbin are links into /usr,
    # and the loader and libraries are named through them.
    for link in lib lib64 bin sbin; do
      [[ -L $rootfs/$link ]] && cp -a "$rootfs/$link" "$bundle/rootfs/$link"
    done
    for file in "$@"; do
      # .images/ holds what goes into the images only: at the same path, without it.
      directory=$(chroot "$rootfs" readlink -f "/$(dirname "$file")")
      target=$bundle/rootfs${directory#/.images}/$(basename "$file")
      mkdir -p "$(dirname "$target")"
      cp -a "$rootfs/$file" "$target"
    done
    umoci repack --image "$layout:$tag" "$bundle" >/dev/null
    # PATH as a base image sets it: kube-proxy looks iptables up there.
    umoci config --image "$layout:$tag" --config.entrypoint "$entrypoint" --config.user 0:0 \
      --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    skopeo copy --quiet "oci:$layout:$tag" "docker-archive:$work/$tag.tar:$name"
  }
  # The control plane's programs are static (CGO_ENABLED=0): kubeadm's static
  # pod manifests run them by name, from PATH.
  stage() { install -D -m 0755 "$1" "$rootfs/.images/usr/local/bin/$(basename "$1")"; }
  for program in kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd coredns pause; do
    stage "$bin/$program"
  done
  # kubeadm's CoreDNS Deployment passes only its arguments (-conf ...): the
  # entrypoint is the program, as in the others.
  for program in kube-apiserver kube-controller-manager kube-scheduler etcd coredns pause; do
    name=$(image_named "$program")
    make_image "$name" "/usr/local/bin/$program" ".images/usr/local/bin/$program"
  done
  # kube-proxy runs iptables: the node's own, with what it loads.
  proxy_files=(.images/usr/local/bin/kube-proxy usr/sbin/xtables-nft-multi usr/sbin/xtables-legacy-multi
    usr/lib/x86_64-linux-gnu/xtables)
  for command in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    proxy_files+=("usr/sbin/$command" "etc/alternatives/$command" "usr/sbin/${command/tables/tables-nft}"
      "usr/sbin/${command/tables/tables-legacy}")
  done
  # shellcheck disable=SC2016 # expanded by the shell in the chroot
  while read -r library; do
    proxy_files+=("${library#/}")
  done < <(chroot "$rootfs" sh -c 'for f in /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi /usr/lib/x86_64-linux-gnu/xtables/*.so; do ldd "$f"; done' |
    awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
  for library in $(printf '%s\n' "${proxy_files[@]}" | grep -E '^(usr/)?lib' | sort -u); do
    # The loader and libraries are reached through symlinks: copy what they point at too.
    target=$(chroot "$rootfs" readlink -f "/$library")
    [[ /$library == "$target" ]] || proxy_files+=("${target#/}")
  done
  name=$(image_named kube-proxy)
  make_image "$name" /usr/local/bin/kube-proxy "${proxy_files[@]}"
  # The images' programs stay in the node only inside the images.
  rm -rf "$rootfs/.images"

  progress "preloading the images into containerd's store (/var/lib/containerd)"
  mkdir -p "$work/state"
  cat >"$work/containerd.toml" <<EOF
version = 3
root = "$rootfs/var/lib/containerd"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images"]
[grpc]
  address = "$work/containerd.sock"
EOF
  # Without the lock's descriptor: a containerd left by a killed build must not hold it.
  "$bin/containerd" --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 9>&- &
  containerd_pid=$!
  for attempt in $(seq 100); do
    "$bin/ctr" --address "$work/containerd.sock" version >/dev/null 2>&1 && break
    kill -0 "$containerd_pid" 2>/dev/null || fail "containerd did not start:$(tail -n 5 "$work/containerd.log")"
    ((attempt < 100)) || fail "containerd did not answer in 10 s:$(tail -n 5 "$work/containerd.log")"
    sleep 0.1
  done
  for tar in "$work"/*.tar; do
    # As kind's node image builder imports (kind pkg/build/nodeimage/imageimporter.go):
    # pinned, so that the kubelet's image garbage collection keeps them; unpacked on first use.
    "$bin/ctr" --address "$work/containerd.sock" --namespace k8s.io images import \
      --label io.cri-containerd.pinned=pinned --no-unpack --digests "$tar" >/dev/null
  done
  "$bin/ctr" --address "$work/containerd.sock" --namespace k8s.io images list -q >"$work/images"
  # The names, without the digest-only and import-<date> names --digests adds.
  grep -v -e '^sha256:' -e '^import-' "$work/images" >"$rootfs/kind/images" || true
  kill "$containerd_pid"
  wait "$containerd_pid" 2>/dev/null || true
  containerd_pid=
  # The sandbox image containerd's configuration names is among them.
  sandbox=$(sed -n 's/^ *sandbox_image = "\(.*\)"$/\1/p' "$rootfs/etc/containerd/config.toml")
  for name in "${wanted[@]}" "$sandbox"; do
    grep -qxF "$name" "$rootfs/kind/images" || fail "$name is not in containerd's store after the import"
  done

  progress "root file system into the cache ($out/rootfs.tar)"
  mkdir -p "$out.partial"
  tar --numeric-owner --xattrs -C "$rootfs" -cf "$out.partial/rootfs.tar" .
  rm -rf "$out"
  mv "$out.partial" "$out"
  # Earlier builds' trees: one node image tar is enough to keep.
  # (Under the lock, a .partial one is a killed build's.)
  for old in "$cache"/node-image/*/; do
    [[ ${old%/} == "$out" ]] || rm -rf "${old%/}"
  done
fi

if [[ $import == 0 ]]; then
  progress "done: $out/rootfs.tar (IMAGEVOLUME_NODE_IMPORT=0: not imported)"
  echo "$out/rootfs.tar"
  exit 0
fi
progress "docker import as $image"
previous=$(docker image inspect --format '{{.Id}} {{index .Config.Labels "io.imagevolume.node-image.key"}}' "$image" 2>/dev/null || true)
previous_id=${previous%% *} previous_key=${previous#* }
if [[ -n $previous && $previous_key == "$key" ]]; then
  echo "node-image: $image is already this build ($key)" >&2
else
  # A name, not an image id, for FROM: BuildKit (docker build's default from
  # Docker 23) does not take an id there. Its own name per run: builds of other
  # caches may use the same engine.
  rootfs_image=localhost/imagevolume/node-rootfs:$key-$$
  docker import "$out/rootfs.tar" "$rootfs_image" >/dev/null
  log=$cache/tmp/node-image-docker-build.log
  # The legacy builder warns on stderr on every build: shown only when it fails.
  if ! docker build --quiet --build-arg ROOTFS="$rootfs_image" --build-arg KEY="$key" --tag "$image" - \
    <"$here/Dockerfile" >"$log" 2>&1; then
    docker image rm "$rootfs_image" >/dev/null 2>&1 || true
    fail "docker build of $image failed:$(tail -n 5 "$log")"
  fi
  # Only the name goes: the layers stay under the new image.
  docker image rm "$rootfs_image" >/dev/null || echo "node-image: warning: cannot remove the name $rootfs_image" >&2
  # The build this one replaces: only one of ours (labelled), unless a container still runs it.
  if [[ -n $previous && $previous_key != "<no value>" && -n $previous_key &&
    $previous_id != "$(docker image inspect --format '{{.Id}}' "$image")" ]]; then
    docker image rm "$previous_id" >/dev/null 2>&1 ||
      echo "node-image: the previous build of $image ($previous_id) is still in use: left" >&2
  fi
fi
progress "done: $image"
echo "$image"
