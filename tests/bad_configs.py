"""The bad-input corpus: configs the program must refuse, each with the key
its problem names (tests/test_settings.py), and whose printed fixes, applied
with the real pulumi CLI, must give a config that passes
(tests/real/test_fix_convergence.py)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from harness import write_kubeconfig

ARTIFACT = "quay.io/crio/artifact:v1"


def volumes(*items: dict[str, object]) -> str:
    return json.dumps(list(items))


def volume(**fields: object) -> dict[str, object]:
    return {"name": "volume", "reference": ARTIFACT, "mountPath": "/volume", **fields}


# Each row: a bad config, and the key (under imagevolume:) its problem must name.
BAD_CONFIGS: list[tuple[dict[str, str], str, str]] = [
    ({"clusterMode": "kinds"}, "clusterMode", ""),
    ({"clusterMode": "Kind"}, "clusterMode", ""),
    ({"clusterName": "Bad_Name"}, "clusterName", ""),
    ({"clusterName": "-leading-dash"}, "clusterName", ""),
    ({"clusterName": "a" * 50}, "clusterName", ""),
    ({"clusterName": "name;rm -rf /"}, "clusterName", ""),
    ({"clusterName": ""}, "clusterName", ""),
    ({"nodeImage": "not an image"}, "nodeImage", ""),
    ({"nodeImage": "UPPER/case:v1"}, "nodeImage", ""),
    ({"nodeImage": "kindest/node:v1.35.0@sha256:short"}, "nodeImage", ""),
    ({"nodeImage": "$(curl evil)"}, "nodeImage", ""),
    ({"nodeImage": "ghcr.io/carlory/kindnode-crio:latest"}, "kubernetesVersion", ""),
    ({"runtime": "docker"}, "runtime", ""),
    ({"workerz": "-1"}, "workerz", ""),  # a fix's value that starts with '-' (pulumi config set -- -1)
    ({"podName": "-pod"}, "podName", ""),
    ({"runtime": "CRI-O"}, "runtime", ""),
    ({"workers": "-1"}, "workers", ""),
    ({"workers": "1.5"}, "workers", ""),
    ({"workers": "eleven"}, "workers", ""),
    ({"workers": "11"}, "workers", ""),
    ({"kubernetesVersion": "1.31.x"}, "kubernetesVersion", ""),
    ({"kubernetesVersion": "latest"}, "kubernetesVersion", ""),
    ({"featureGates": "ImageVolume=true"}, "featureGates", ""),
    ({"featureGates": '["ImageVolume"]'}, "featureGates", ""),
    ({"featureGates": '{"ImageVolume": "yes"}'}, "featureGates.ImageVolume", ""),
    ({"featureGates": '{"image-volume": true}'}, "featureGates.image-volume", ""),
    ({"podName": "Pod"}, "podName", ""),
    ({"podName": "pod name"}, "podName", ""),
    ({"namespace": "kube_system"}, "namespace", ""),
    ({"namespace": "a" * 64}, "namespace", ""),
    ({"podImage": "echoserver:2.3 "}, "podImage", ""),
    ({"podImage": "registry.k8s.io/e2e-test-images/echoserver:"}, "podImage", ""),
    ({"volumes": "[]"}, "volumes", ""),
    ({"volumes": "{}"}, "volumes", ""),
    ({"volumes": "not json"}, "volumes", ""),
    ({"volumes": '["volume"]'}, "volumes[0]", ""),
    ({"volumes": volumes(volume(name="Volume"))}, "volumes[0].name", ""),
    ({"volumes": volumes({"reference": ARTIFACT, "mountPath": "/v"})}, "volumes[0].name", ""),
    ({"volumes": volumes(volume(reference="quay.io/crio/artifact:v1 ; ls"))}, "volumes[0].reference", ""),
    ({"volumes": volumes(volume(reference=None))}, "volumes[0].reference", ""),
    ({"volumes": volumes(volume(pullPolicy="always"))}, "volumes[0].pullPolicy", ""),
    ({"volumes": volumes(volume(pullPolicy="IfNotExists"))}, "volumes[0].pullPolicy", ""),
    ({"volumes": volumes(volume(mountPath="volume"))}, "volumes[0].mountPath", ""),
    ({"volumes": volumes(volume(mountPath="/"))}, "volumes[0].mountPath", ""),
    ({"volumes": volumes(volume(mountPath="/a/../etc"))}, "volumes[0].mountPath", ""),
    ({"volumes": volumes(volume(mountPath=7))}, "volumes[0].mountPath", ""),
    (
        {
            "volumes": volumes(
                volume(subPath="/abs"),
            ),
            "nodeImage": "kindest/node:v1.35.0",
            "runtime": "containerd",
        },
        "volumes[0].subPath",
        "",
    ),
    ({"volumes": volumes(volume(subPath="../up"))}, "volumes[0].subPath", ""),
    ({"volumes": volumes(volume(subpath="dir"))}, "volumes[0].subpath", ""),
    ({"volumes": volumes(volume(), volume(mountPath="/other"))}, "volumes[1].name", ""),
    ({"volumes": volumes(volume(), volume(name="other", mountPath="/volume/"))}, "volumes[1].mountPath", ""),
    ({"checks": "ls -l /volume"}, "checks", ""),
    ({"checks": "[]"}, "checks", ""),
    ({"checks": '["ls -l /volume"]'}, "checks[0]", ""),
    ({"checks": "[[]]"}, "checks[0]", ""),
    ({"checks": '[["ls", 1]]'}, "checks[0]", ""),
    ({"checks": '[["", "x"]]'}, "checks[0]", ""),
    ({"checks": '[["cat", "/f"], ["cat", "/f"]]'}, "checks[1]", ""),
    ({"podReadyTimeout": "5 minutes"}, "podReadyTimeout", ""),
    ({"podReadyTimeout": "1s"}, "podReadyTimeout", ""),
    ({"clusterReadyTimeout": "2h"}, "clusterReadyTimeout", ""),
    ({"clusterReadyTimeout": "300"}, "clusterReadyTimeout", ""),
    ({"kubeconfig": "/tmp/kubeconfig"}, "kubeconfig", ""),
    ({"context": "kind-dev"}, "context", ""),
    ({"clusterMode": "existing"}, "kubeconfig", ""),
    ({"clusterMode": "existing", "kubeconfig": "/etc/hostname"}, "context", ""),
    (
        {"clusterMode": "existing", "kubeconfig": "/etc/hostname", "context": "x"},
        "kubeconfig",
        "a YAML scalar",
    ),
    ({"clusterMode": "existing", "kubeconfig": "/nonexistent/kubeconfig"}, "kubeconfig", ""),
    (
        {"clusterMode": "existing", "kubeconfig": "/etc/hostname", "nodeImage": "kindest/node:v1.35.0"},
        "nodeImage",
        "",
    ),
    ({"clusterMode": "existing", "kubeconfig": "/etc/hostname", "workers": "2"}, "workers", ""),
    ({"podNmae": "pod"}, "podNmae", ""),
    ({"nodeimage": "kindest/node:v1.35.0"}, "nodeimage", ""),
    # Digests: sha256 with 64 or sha512 with 128 lowercase hex digits, nothing else.
    ({"nodeImage": f"kindest/node:v1.35.0@sha256:{'A' * 64}"}, "nodeImage", "uppercase"),
    ({"nodeImage": f"kindest/node:v1.35.0@sha256:{'a' * 63}"}, "nodeImage", "sha256: and 64"),
    ({"nodeImage": f"kindest/node:v1.35.0@sha256:{'a' * 65}"}, "nodeImage", "sha256: and 64"),
    ({"podImage": f"busybox@sha512:{'a' * 64}"}, "podImage", "sha512: and 128"),
    ({"podImage": f"busybox@md5:{'a' * 32}"}, "podImage", "sha256: and 64"),
    (
        {"volumes": volumes(volume(reference=f"quay.io/crio/artifact@sha384:{'a' * 96}"))},
        "volumes[0].reference",
        "sha512: and 128",
    ),
    (
        {"volumes": volumes(volume(reference=f"quay.io/crio/artifact:v1@SHA256:{'a' * 64}"))},
        "volumes[0].reference",
        "uppercase",
    ),
    # A gate one or two edits from one the project knows: kubeadm refuses it only
    # after delete-before-replace removed the working cluster.
    ({"featureGates": '{"ImageVolumes": true}'}, "featureGates.ImageVolumes", "did you mean ImageVolume?"),
    ({"featureGates": '{"imageVolume": true}'}, "featureGates.imageVolume", "did you mean ImageVolume?"),
    ({"featureGates": '{"ImageVolme": true}'}, "featureGates.ImageVolme", "did you mean ImageVolume?"),
    (
        {"featureGates": '{"ImageVolume": true, "ImgeVolumes": true}'},
        "featureGates.ImgeVolumes",
        "did you mean ImageVolume?",
    ),
    ({"featureGates": '{"IMAGEVOLUME": true}'}, "featureGates.IMAGEVOLUME", "did you mean ImageVolume?"),
    ({"featureGates": '{"IamgeVolume": true}'}, "featureGates.IamgeVolume", "did you mean ImageVolume?"),
    # Mount paths: canonical, and not where the kernel, the system or kubelet is.
    (
        {"volumes": volumes(volume(mountPath="//data/"))},
        "volumes[0].mountPath",
        "imagevolume:volumes[0].mountPath' /data\n",
    ),
    (
        {"volumes": volumes(volume(mountPath="/data/./x"))},
        "volumes[0].mountPath",
        "imagevolume:volumes[0].mountPath' /data/x\n",
    ),
    (
        {"volumes": volumes(volume(mountPath="/data/../x"))},
        "volumes[0].mountPath",
        "imagevolume:volumes[0].mountPath' /x\n",
    ),
    (
        {"volumes": volumes(volume(mountPath="/data/"))},
        "volumes[0].mountPath",
        "imagevolume:volumes[0].mountPath' /data\n",
    ),
    (
        {"volumes": volumes(volume(mountPath="volume"))},
        "volumes[0].mountPath",
        "imagevolume:volumes[0].mountPath' /volume\n",
    ),
    ({"volumes": volumes(volume(mountPath=""))}, "volumes[0].mountPath", "absolute"),
    ({"volumes": volumes(volume(mountPath="/"))}, "volumes[0].mountPath", "the container's root"),
    ({"volumes": volumes(volume(mountPath="/proc"))}, "volumes[0].mountPath", "the kernel's /proc"),
    ({"volumes": volumes(volume(mountPath="/proc/self"))}, "volumes[0].mountPath", "the kernel's /proc"),
    ({"volumes": volumes(volume(mountPath="/sys/fs/cgroup"))}, "volumes[0].mountPath", "the kernel's /sys"),
    ({"volumes": volumes(volume(mountPath="/dev"))}, "volumes[0].mountPath", "/dev"),
    ({"volumes": volumes(volume(mountPath="/dev/shm"))}, "volumes[0].mountPath", "/dev"),
    ({"volumes": volumes(volume(mountPath="/proc/"))}, "volumes[0].mountPath", "the kernel's /proc"),
    ({"volumes": volumes(volume(mountPath="/etc"))}, "volumes[0].mountPath", "system directory"),
    ({"volumes": volumes(volume(mountPath="/bin"))}, "volumes[0].mountPath", "system directory"),
    ({"volumes": volumes(volume(mountPath="/sbin"))}, "volumes[0].mountPath", "system directory"),
    ({"volumes": volumes(volume(mountPath="/usr"))}, "volumes[0].mountPath", "system directory"),
    ({"volumes": volumes(volume(mountPath="/usr/bin"))}, "volumes[0].mountPath", "system directory"),
    ({"volumes": volumes(volume(mountPath="/lib"))}, "volumes[0].mountPath", "system directory"),
    ({"volumes": volumes(volume(mountPath="/lib64"))}, "volumes[0].mountPath", "system directory"),
    ({"volumes": volumes(volume(mountPath="/lib32"))}, "volumes[0].mountPath", "system directory"),
    ({"volumes": volumes(volume(mountPath="/libx32"))}, "volumes[0].mountPath", "system directory"),
    ({"volumes": volumes(volume(mountPath="/run"))}, "volumes[0].mountPath", "system directory"),
    ({"volumes": volumes(volume(mountPath="/var/run"))}, "volumes[0].mountPath", "system directory"),
    (
        {"volumes": volumes(volume(mountPath="/etc/hosts"))},
        "volumes[0].mountPath",
        "kubelet mounts /etc/hosts there",
    ),
    (
        {"volumes": volumes(volume(mountPath="/etc/hostname"))},
        "volumes[0].mountPath",
        "kubelet mounts /etc/hostname there",
    ),
    (
        {"volumes": volumes(volume(mountPath="/etc/resolv.conf"))},
        "volumes[0].mountPath",
        "kubelet mounts /etc/resolv.conf there",
    ),
    (
        {"volumes": volumes(volume(mountPath="/dev/termination-log"))},
        "volumes[0].mountPath",
        "kubelet mounts /dev/termination-log there",
    ),
    (
        {"volumes": volumes(volume(mountPath="/var/run/secrets/kubernetes.io/serviceaccount"))},
        "volumes[0].mountPath",
        "kubelet mounts /var/run/secrets/kubernetes.io/serviceaccount there",
    ),
    (
        {"volumes": volumes(volume(mountPath="/var/run/secrets/kubernetes.io/serviceaccount/x"))},
        "volumes[0].mountPath",
        "/var/run/secrets/kubernetes.io/serviceaccount",
    ),
    ({"volumes": volumes(volume(mountPath="/" + "a" * 256))}, "volumes[0].mountPath", "255 bytes"),
    ({"volumes": volumes(volume(mountPath="/" + "\u00e9" * 128))}, "volumes[0].mountPath", "255 bytes"),
    ({"volumes": volumes(volume(mountPath=("/" + "a" * 200) * 21))}, "volumes[0].mountPath", "4221 bytes"),
    # Sizes: a string at most 4 KiB; what reaches one command at most 64 KiB.
    ({"podName": "a" * 5000}, "podName", "5000 bytes"),
    ({"kubernetesVersion": "1" * 4097}, "kubernetesVersion", "4097 bytes"),
    ({"volumes": volumes(volume(subPath="d" * 4097))}, "volumes[0].subPath", "4097 bytes"),
    ({"featureGates": json.dumps({"A" + "b" * 4096: True})}, "featureGates.A" + "b" * 4096, "4097 bytes"),
    ({"checks": json.dumps([["cat", "/" + "f" * 4096]])}, "checks[0][1]", "4097 bytes"),
    ({"checks": json.dumps([["echo", *["w" * 4000] * 17]])}, "checks[0]", "68004 bytes"),
    (
        {"featureGates": json.dumps({f"Gate{i}" + "x" * 3990: True for i in range(17)})},
        "featureGates",
        "bytes",
    ),
    # A check's program name: non-blank, no whitespace.
    ({"checks": '[["ls -l /volume"]]'}, "checks[0]", 'did you mean ["ls", "-l", "/volume"]?'),
    ({"checks": '[["ls  -l", "/volume"]]'}, "checks[0]", 'did you mean ["ls", "-l", "/volume"]?'),
    ({"checks": '[["cat\\t", "/f"]]'}, "checks[0]", 'did you mean ["cat", "/f"]?'),
    ({"checks": '[[" "]]'}, "checks[0]", "blank"),
    ({"checks": '["ls -l /volume"]'}, "checks[0]", 'did you mean ["ls", "-l", "/volume"]?'),
    # Control characters: refused everywhere, never printed raw.
    ({"podName": "pod\x1b[31m"}, "podName", "\\u001b"),
    ({"podName": "pod\n- imagevolume:forged = 1"}, "podName", "\\n"),
    ({"namespace": "default\x7f"}, "namespace", "\\u007f"),
    ({"clusterName": "dev\x85"}, "clusterName", "\\u0085"),
    ({"kubernetesVersion": "1.31\x00"}, "kubernetesVersion", "\\u0000"),
    ({"clusterMode": "existing", "kubeconfig": "/tmp/k\x00", "context": "x"}, "kubeconfig", "\\u0000"),
    ({"clusterMode": "existing", "kubeconfig": "/etc/hostname", "context": "x\x1b"}, "context", "\\u001b"),
    ({"volumes": volumes(volume(**{"na\x1bme": "x"}))}, "volumes[0].na\x1bme", "volumes[0].na\\u001bme"),
    ({"volumes": volumes(volume(name="vol\x9b"))}, "volumes[0].name", "\\u009b"),
    ({"volumes": volumes(volume(mountPath="/data\x01"))}, "volumes[0].mountPath", "\\u0001"),
    ({"volumes": volumes(volume(reference=ARTIFACT + "\r"))}, "volumes[0].reference", "\\r"),
    (
        {"featureGates": '{"Image\\u001bVolume": true}'},
        "featureGates.Image\x1bVolume",
        "featureGates.Image\\u001bVolume",
    ),
    ({"featureGates": '{"ImageVolume": "true\\n"}'}, "featureGates.ImageVolume", "\\n"),
    ({"checks": '[["cat", "/volume/dir/file\\u001b[2J"]]'}, "checks[0][1]", "\\u001b"),
    ({"checks": '[["l\\u0000s"]]'}, "checks[0][0]", "\\u0000"),
    ({"pod\x1bName": "pod"}, "pod\x1bName", "imagevolume:pod\\u001bName"),
    ({"podNmae": "pod\u2028- imagevolume:forged"}, "podNmae", "\\u2028"),
    ({"volumes": "not json\x1b\n- imagevolume:forged"}, "volumes", "\\u001b"),
    (
        {"volumes": '[{"name": "v", "reference": "quay.io/crio/artifact:v1", "mountPath": "/\\ud800"}]'},
        "volumes[0].mountPath",
        "\\ud800",
    ),
    # existing mode: a file that is no kubeconfig is a problem, never a traceback (files below).
    ({"clusterMode": "existing", "kubeconfig": "KC/binary", "context": "prod"}, "kubeconfig", "UTF-8"),
    ({"clusterMode": "existing", "kubeconfig": "KC/latin1", "context": "prod"}, "kubeconfig", "UTF-8"),
    ({"clusterMode": "existing", "kubeconfig": "KC/list", "context": "prod"}, "kubeconfig", "a YAML list"),
    (
        {"clusterMode": "existing", "kubeconfig": "KC/scalar", "context": "prod"},
        "kubeconfig",
        "a YAML scalar",
    ),
    ({"clusterMode": "existing", "kubeconfig": "KC/empty", "context": "prod"}, "kubeconfig", "empty"),
    ({"clusterMode": "existing", "kubeconfig": "KC/nul", "context": "prod"}, "kubeconfig", "not YAML"),
    ({"clusterMode": "existing", "kubeconfig": "KC/pod", "context": "prod"}, "kubeconfig", "kind: Config"),
    (
        {"clusterMode": "existing", "kubeconfig": "KC/contexts-number", "context": "prod"},
        "kubeconfig",
        "contexts",
    ),
    (
        {"clusterMode": "existing", "kubeconfig": "KC/context-string", "context": "prod"},
        "kubeconfig",
        "context",
    ),
    (
        {"clusterMode": "existing", "kubeconfig": "KC/cluster-list", "context": "prod"},
        "kubeconfig",
        "cluster",
    ),
    (
        {"clusterMode": "existing", "kubeconfig": "KC/missing-ca", "context": "prod"},
        "kubeconfig",
        "certs/missing.crt",
    ),
    (
        {"clusterMode": "existing", "kubeconfig": "KC/ca-is-a-folder", "context": "prod"},
        "kubeconfig",
        "certs",
    ),
    ({"clusterMode": "existing", "kubeconfig": "KC/escape", "context": "other"}, "context", "\\u001b"),
    ({"clusterMode": "existing", "kubeconfig": "KC/", "context": "prod"}, "kubeconfig", "folder"),
    ({"clusterMode": "existing", "kubeconfig": "/dev/zero", "context": "prod"}, "kubeconfig", "regular file"),
    # Source volumes: a local folder, or a reference, never both; a folder that builds.
    (
        {"volumes": volumes(volume(source="examples/content"))},
        "volumes[0].source",
        "either a reference (an image in a registry) or a source (a local folder), not both",
    ),
    (
        {"volumes": volumes(volume(reference=None, source="no/such/folder"))},
        "volumes[0].source",
        "relative to the project folder",
    ),
    ({"volumes": volumes(volume(reference=None, source=" "))}, "volumes[0].source", "local folder"),
    ({"volumes": volumes(volume(reference=None, source=7))}, "volumes[0].source", "local folder"),
    (
        {"volumes": volumes(volume(reference=None, source="/dev/null"))},
        "volumes[0].source",
        "/dev/null",
    ),
    (
        {"volumes": volumes({"name": "v", "mountPath": "/v"})},
        "volumes[0].reference",
        "is required unless source is given",
    ),
    ({"registryPort": "80"}, "registryPort", "from 1024 to 65535"),
    ({"registryPort": "65536"}, "registryPort", "from 1024 to 65535"),
    ({"registryPort": "five"}, "registryPort", "TCP port"),
    ({"registryPort": "5001", "clusterMode": "existing"}, "registryPort", "applies only when"),
    ({"registry": "registry.example.com"}, "registry", "applies only when"),
    # registryImage: an OCI image reference (kind mode), as podImage and nodeImage.
    ({"registryImage": "Registry:3"}, "registryImage", "must be an OCI image reference"),
    ({"registryImage": "registry:3 "}, "registryImage", "must be an OCI image reference"),
    ({"registryImage": ""}, "registryImage", "must be an OCI image reference"),
    ({"registryImage": "registry:"}, "registryImage", "must be an OCI image reference"),
    ({"registryImage": "registry:" + "t" * 129}, "registryImage", "must be an OCI image reference"),
    ({"registryImage": "r/" + "a" * 254}, "registryImage", "must be an OCI image reference"),
    ({"registryImage": "http://127.0.0.1:5000/registry"}, "registryImage", "must be an OCI image reference"),
    ({"registryImage": f"registry:3@sha256:{'a' * 63}"}, "registryImage", "sha256: and 64"),
    ({"registryImage": f"registry:3@sha256:{'a' * 65}"}, "registryImage", "sha256: and 64"),
    ({"registryImage": f"registry:3@sha256:{'A' * 64}"}, "registryImage", "uppercase"),
    ({"registryImage": "registry:3\x1b"}, "registryImage", "\\u001b"),
    (
        {"registryImage": "imagevolume-registry:2.8.2", "clusterMode": "existing"},
        "registryImage",
        "applies only when",
    ),
    (
        {
            "clusterMode": "existing",
            "kubeconfig": "KC/good",
            "context": "prod",
            "volumes": volumes(volume(reference=None, source="examples/content")),
        },
        "volumes[0].source",
        "needs imagevolume:registry when clusterMode is existing",
    ),
    (
        {
            "clusterMode": "existing",
            "kubeconfig": "KC/good",
            "context": "prod",
            "registry": "r.example.com:99999",
        },
        "registry",
        "HOST[:PORT][/PATH]",
    ),
    (
        {
            "clusterMode": "existing",
            "kubeconfig": "KC/good",
            "context": "prod",
            "registry": "r.example.com:0/x",
        },
        "registry",
        "HOST[:PORT][/PATH]",
    ),
    (
        {"clusterMode": "existing", "kubeconfig": "KC/good", "context": "prod", "registry": "team"},
        "registry",
        "HOST[:PORT][/PATH]",
    ),
    (
        {
            "clusterMode": "existing",
            "kubeconfig": "KC/good",
            "context": "prod",
            "registry": "r.example.com:5000/x:tag",
        },
        "registry",
        "HOST[:PORT][/PATH]",
    ),
]


def kubeconfig_document(**changes: object) -> dict[str, object]:
    document: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://prod.example:6443"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "prod",
    }
    document.update(changes)
    return document


# The files the KC/<name> rows name, written into a folder of their own.
KUBECONFIG_FILES: dict[str, bytes] = {
    "binary": bytes(range(256)),
    "latin1": "clusters: []\n# caf\u00e9\n".encode("latin-1"),
    "list": b"- a\n- b\n",
    "scalar": b"just text\n",
    "empty": b"",
    "nul": b"apiVersion: v1\x00\n",
    "pod": yaml.safe_dump(kubeconfig_document(kind="Pod")).encode(),
    "contexts-number": yaml.safe_dump(kubeconfig_document(contexts=5)).encode(),
    "context-string": yaml.safe_dump(
        kubeconfig_document(contexts=[{"name": "prod", "context": "c"}])
    ).encode(),
    "cluster-list": yaml.safe_dump(kubeconfig_document(clusters=[{"name": "c", "cluster": ["x"]}])).encode(),
    "missing-ca": yaml.safe_dump(
        kubeconfig_document(
            clusters=[
                {
                    "name": "c",
                    "cluster": {"server": "https://p", "certificate-authority": "certs/missing.crt"},
                }
            ]
        )
    ).encode(),
    "ca-is-a-folder": yaml.safe_dump(
        kubeconfig_document(
            clusters=[{"name": "c", "cluster": {"server": "https://p", "certificate-authority": "certs"}}]
        )
    ).encode(),
    "escape": yaml.safe_dump(
        kubeconfig_document(contexts=[{"name": "prod\x1b[2J", "context": {"cluster": "c", "user": "u"}}])
    ).encode(),
}


def materialise(config: dict[str, str], folder: Path) -> dict[str, str]:
    """The config with each KC/<name> value the path of that file in `folder`
    (KC/good: a valid kubeconfig)."""
    (folder / "certs").mkdir(parents=True, exist_ok=True)
    for name, content in KUBECONFIG_FILES.items():
        (folder / name).write_bytes(content)
    good = folder / "good-folder"
    good.mkdir(exist_ok=True)
    paths = {"KC/good": write_kubeconfig(good)}  # a kubeconfig with contexts prod and other
    return {
        k: paths.get(v) or str(folder / v[3:]) + ("/" if v.endswith("/") else "")
        if v.startswith("KC/")
        else v
        for k, v in config.items()
    }
