#!/usr/bin/env bash
# make real-tools: the Go programs the real-part tiers run, built from the Go
# module proxy at pinned versions (go install verifies each module against the
# checksum database and its own go.sum) into a cache outside the tree, keyed by
# module and version; a second run builds nothing. Each binary's version and
# sha256 are recorded in $cache/tools.sha256; $cache/bin holds the current ones
# (put it first on PATH, as make test-real does).
#
# Environment: IMAGEVOLUME_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/imagevolume).
set -euo pipefail

cache=${IMAGEVOLUME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imagevolume}
# name  module (package)  version
tools=(
  "kind sigs.k8s.io/kind v0.32.0"
)

command -v go >/dev/null 2>&1 || {
  echo "real-tools: go is not on PATH: install Go 1.26 (https://go.dev/doc/install)" >&2
  exit 1
}
mkdir -p "$cache/bin" "$cache/builds"
export GOMODCACHE=$cache/go/mod GOCACHE=$cache/go/build GOFLAGS=-trimpath
for line in "${tools[@]}"; do
  read -r name package version <<<"$line"
  folder=$cache/builds/${package//\//_}@$version
  if [[ ! -x $folder/$name ]]; then
    echo "real-tools: building $name ($package@$version) into $folder" >&2
    started=$SECONDS
    rm -rf "$folder.partial"
    GOBIN=$folder.partial go install -ldflags='-s -w' "$package@$version"
    mv "$folder.partial" "$folder"
    echo "real-tools: $name built in $((SECONDS - started)) s" >&2
  fi
  ln -sfn "$folder/$name" "$cache/bin/$name"
done
(cd "$cache/bin" && sha256sum -- * >"$cache/tools.sha256.partial" && mv "$cache/tools.sha256.partial" "$cache/tools.sha256")
echo "real-tools: $cache/bin ($(wc -l <"$cache/tools.sha256") tools, sha256 in $cache/tools.sha256)" >&2
