#!/bin/sh
# Before the kubelet starts on cgroup v2 (kubelet.service.d/20-cgroup-v2.conf):
# enable every controller for the root group, /kubelet and /kubelet.slice.
set -eu
root=/sys/fs/cgroup
[ -f "$root/cgroup.controllers" ] || exit 0
enable_controllers() { sed -e 's/^/+/' -e 's/ / +/g' "$root/$1/cgroup.controllers" >"$root/$1/cgroup.subtree_control"; }
enable_controllers .
for group in kubelet kubelet.slice; do
  mkdir -p "$root/$group"
  enable_controllers "$group"
done
