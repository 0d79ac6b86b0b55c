#!/usr/bin/env bash
# make clean-real: remove what a crashed real-tier run left behind. Only what
# the tiers mark as theirs: containers, networks, volumes and images labelled
# io.imagevolume.test (tests/real/docker_engine.py LABEL), and the dockerd
# processes whose pid files they wrote (with those daemons' folders).
set -uo pipefail

label=io.imagevolume.test
state=${IMAGEVOLUME_REAL_STATE:-/tmp/imagevolume-real}

for pid_file in "$state"/dockerd-*.pid; do
  [[ -e $pid_file ]] || continue
  { read -r pid; read -r base; } <"$pid_file"
  if kill -0 "$pid" 2>/dev/null && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]]; then
    echo "clean-real: removing the containers of dockerd $pid ($base), then stopping it" >&2
    ids=$(docker --host "unix://$base/docker.sock" ps -aq 2>/dev/null)
    # shellcheck disable=SC2086 # one id per word
    [[ -z $ids ]] || docker --host "unix://$base/docker.sock" rm -f -v $ids >/dev/null 2>&1
    kill "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  fi
  [[ -n $base && -d $base ]] && rm -rf -- "$base"
  rm -f -- "$pid_file"
done

if docker version >/dev/null 2>&1; then
  ids=$(docker ps -aq --filter "label=$label")
  # shellcheck disable=SC2086 # one id per word
  [[ -z $ids ]] || docker rm -f -v $ids >/dev/null
  for kind in network volume; do
    ids=$(docker "$kind" ls -q --filter "label=$label")
    # shellcheck disable=SC2086
    [[ -z $ids ]] || docker "$kind" rm $ids >/dev/null
  done
  # kind's node containers carry kind's label only: the real_cluster tier's
  # clusters are named ivt<run id>-kind (their /var volumes go with them).
  mapfile -t nodes < <(docker ps -a --filter "label=io.x-k8s.kind.cluster" --format '{{.ID}} {{.Label "io.x-k8s.kind.cluster"}}' |
    awk '$2 ~ /^ivt[0-9a-f]+-/ { print $1 }')
  ((${#nodes[@]} == 0)) || docker rm -f -v "${nodes[@]}" >/dev/null
  # The node images the tier imported (tests/real/test_node_image.py), and the
  # temporary names of a node image build that was killed (images/node/build.sh).
  mapfile -t node_images < <(docker image ls -q "localhost/imagevolume-test/node" | sort -u)
  ((${#node_images[@]} == 0)) || docker image rm -f "${node_images[@]}" >/dev/null
  mapfile -t node_images < <(docker image ls --format '{{.Repository}}:{{.Tag}}' "localhost/imagevolume/node-rootfs")
  ((${#node_images[@]} == 0)) || docker image rm -f "${node_images[@]}" >/dev/null
  ids=$(docker image ls -q --filter "label=$label" | sort -u)
  # shellcheck disable=SC2086
  [[ -z $ids ]] || docker image rm -f $ids >/dev/null
  echo "clean-real: nothing labelled $label is left on $(docker context show 2>/dev/null || echo docker)" >&2
fi
