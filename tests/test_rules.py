"""The version and runtime rules (components/rules.py), one test per row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness import write_kubeconfig

from components import versions
from components.settings import parse_settings
from components.settings.model import KindClusterSettings
from components.settings.problems import SettingsError
from components.settings.rules import RULES, containerd_version
from components.versions import KIND_DEFAULT_NODE_IMAGE, NodeImage

KIND_135 = "kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f"
SUB_PATH_VOLUMES = json.dumps(
    [{"name": "v", "reference": "quay.io/crio/artifact:v2", "mountPath": "/v", "subPath": "dir"}]
)
SOURCE_VOLUMES = json.dumps([{"name": "content", "source": "examples/content", "mountPath": "/data"}])
KIND_134 = "kindest/node:v1.34.0"

# (rule name, bad config, the exact problem text, a config next to it that passes)
ROWS = [
    (
        "image volumes exist from 1.31",
        {"nodeImage": "ghcr.io/carlory/kindnode-crio:v1.30.0"},
        'imagevolume:nodeImage = "ghcr.io/carlory/kindnode-crio:v1.30.0": Kubernetes 1.30.0 has no '
        "image volume source: it exists from 1.31 (KEP-4639)\n"
        "    fix: pulumi config set --stack dev imagevolume:nodeImage ghcr.io/carlory/kindnode-crio:v1.31.0",
        {"nodeImage": "ghcr.io/carlory/kindnode-crio:v1.31.0"},
    ),
    (
        "gate on below 1.35",
        {"featureGates": '{"ImageVolume": false}'},
        "imagevolume:featureGates.ImageVolume = false: must be true on Kubernetes 1.31.0: the "
        "ImageVolume gate is alpha and off by default before 1.35\n"
        "    fix: pulumi config set --stack dev --path imagevolume:featureGates.ImageVolume true",
        {"featureGates": '{"ImageVolume": true}'},
    ),
    (
        "gate locked on from 1.36",
        {
            "nodeImage": "kindest/node:v1.36.1",
            "runtime": "containerd",
            "featureGates": '{"ImageVolume": false}',
        },
        "imagevolume:featureGates.ImageVolume = false: cannot be false on Kubernetes 1.36.1: "
        "ImageVolume is GA and locked on from 1.36\n"
        "    fix: pulumi config set --stack dev --path imagevolume:featureGates.ImageVolume true",
        {"nodeImage": "kindest/node:v1.36.1", "runtime": "containerd", "featureGates": "{}"},
    ),
    (
        "subPath from 1.33",
        {"volumes": SUB_PATH_VOLUMES},
        'imagevolume:volumes[0].subPath = "dir": is not allowed for image volumes on Kubernetes '
        "1.31.0: subPath is allowed from 1.33\n"
        "    fix: pulumi config rm --stack dev --path 'imagevolume:volumes[0].subPath'",
        {"volumes": SUB_PATH_VOLUMES, "nodeImage": "ghcr.io/carlory/kindnode-crio:v1.33.0"},
    ),
    (
        "subPath with containerd >= 2.2",
        {"volumes": SUB_PATH_VOLUMES, "nodeImage": "kindest/node:v1.34.0", "runtime": "containerd"},
        'imagevolume:volumes[0].subPath = "dir": needs containerd >= 2.2 in the node image '
        "(kindest/node:v1.34.0 ships containerd 2.1.4); earlier containerd ignores subPath and "
        "mounts the image root\n"
        f"    fix: pulumi config set --stack dev imagevolume:nodeImage {KIND_DEFAULT_NODE_IMAGE}",
        {"volumes": SUB_PATH_VOLUMES, "nodeImage": KIND_135, "runtime": "containerd"},
    ),
    (
        "image volumes with containerd >= 2.1",
        {"nodeImage": "kindest/node:v1.33.1", "runtime": "containerd"},
        None,  # every known kind image ships containerd >= 2.1: the row guards future entries
        {"nodeImage": "kindest/node:v1.34.0", "runtime": "containerd"},
    ),
    (
        "source volumes with containerd >= 2.2",
        {"nodeImage": KIND_134, "runtime": "containerd", "volumes": SOURCE_VOLUMES},
        f'imagevolume:volumes[0].source = "examples/content": needs containerd >= 2.2 in the node image '
        f"({KIND_134} ships containerd 2.1.4): the nodes reach the stack's registry through "
        "/etc/containerd/certs.d/localhost:<port>/hosts.toml, which earlier containerd does not read\n"
        f"    fix: pulumi config set --stack dev imagevolume:nodeImage {KIND_DEFAULT_NODE_IMAGE}",
        {"nodeImage": KIND_135, "runtime": "containerd", "volumes": SOURCE_VOLUMES},
    ),
    (
        "crio needs a CRI-O node image",
        {"nodeImage": KIND_135},
        f'imagevolume:runtime = "crio": needs a node image with CRI-O, but {KIND_135} is a kind '
        "image that runs containerd\n    fix: pulumi config set --stack dev imagevolume:runtime containerd",
        {"nodeImage": KIND_135, "runtime": "containerd"},
    ),
    (
        "containerd not on a CRI-O node image",
        {"runtime": "containerd"},
        'imagevolume:runtime = "containerd": does not match ghcr.io/carlory/kindnode-crio:v1.31.0, '
        "a CRI-O node image (its CRI socket is /var/run/crio/crio.sock); containerd runs in kind's own "
        "node images, such as the pinned kind's\n"
        f"    fix: pulumi config set --stack dev imagevolume:nodeImage {KIND_DEFAULT_NODE_IMAGE}",
        {"runtime": "containerd", "nodeImage": KIND_DEFAULT_NODE_IMAGE},
    ),
    (
        "containerd cannot mount artifact:v1",
        {
            "nodeImage": KIND_135,
            "runtime": "containerd",
            "volumes": '[{"name": "v", "reference": "quay.io/crio/artifact:v1", "mountPath": "/v"}]',
        },
        'imagevolume:volumes[0].reference = "quay.io/crio/artifact:v1": cannot be mounted by '
        "containerd: its image config has no rootfs.diff_ids (containerd: number of layers and "
        "diffIDs don't match); quay.io/crio/artifact:v2 has the same files and mounts on both runtimes\n"
        "    fix: pulumi config set --stack dev --path 'imagevolume:volumes[0].reference' "
        "quay.io/crio/artifact:v2",
        # The default volume on containerd is :v2.
        {"nodeImage": KIND_135, "runtime": "containerd"},
    ),
]


def test_every_rule_has_a_row() -> None:
    assert [row[0] for row in ROWS] == [rule.name for rule in RULES]


@pytest.mark.parametrize(("name", "bad", "message", "good"), ROWS, ids=[row[0] for row in ROWS])
def test_rule(name: str, bad: dict[str, str], message: str | None, good: dict[str, str]) -> None:
    parse_settings(good, "dev")  # the neighbouring config passes
    if message is None:
        parse_settings(bad, "dev")
        return
    with pytest.raises(SettingsError) as raised:
        parse_settings(bad, "dev")
    assert [str(p) for p in raised.value.problems] == [message]


def test_containerd_rules_apply_to_an_old_containerd(monkeypatch: pytest.MonkeyPatch) -> None:
    """The containerd >= 2.1 row, exercised with an image table entry that is older."""
    older = NodeImage("sha256:" + "0" * 64, (2, 0, 5), "0.27.0")
    monkeypatch.setitem(versions.KIND_NODE_IMAGES, "v1.32.2", older)
    with pytest.raises(SettingsError) as raised:
        parse_settings({"nodeImage": "kindest/node:v1.32.2", "runtime": "containerd"}, "dev")
    assert [p.key for p in raised.value.problems] == ["nodeImage"]
    assert "ships containerd 2.0.5; image volumes need containerd >= 2.1" in str(raised.value)


def test_subpath_on_an_unknown_containerd_image_is_refused() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings(
            {"volumes": SUB_PATH_VOLUMES, "nodeImage": "kindest/node:v1.35.9", "runtime": "containerd"}, "dev"
        )
    assert "ships containerd unknown" in str(raised.value)


def test_containerd_version_is_read_only_from_known_images() -> None:
    assert containerd_version(KIND_135) == (2, 2, 0)
    assert containerd_version("kindest/node:v1.35.0") == (2, 2, 0)
    assert containerd_version("kindest/node:v1.35.0@sha256:" + "1" * 64) is None  # another build
    assert containerd_version("docker.io/kindest/node:v1.36.1") == (2, 3, 1)
    assert containerd_version("example.com/kindest/node:v1.36.1") is None


def test_the_projects_own_node_image_is_known_by_tag() -> None:
    # make node-image imports localhost/imagevolume/node:<kubernetes version>; a docker
    # import has no digest to pin, so the tag alone says what it ships.
    assert containerd_version("localhost/imagevolume/node:v1.36.3") == (2, 3, 7)
    assert containerd_version("localhost/imagevolume/node:v1.36.2") is None
    assert containerd_version("example.com/imagevolume/node:v1.36.3") is None
    # Docker Hub's imagevolume/node is nobody's we know: kind would pull it.
    assert containerd_version("imagevolume/node:v1.36.3") is None
    settings = parse_settings(
        {
            "volumes": SUB_PATH_VOLUMES,
            "nodeImage": "localhost/imagevolume/node:v1.36.3",
            "runtime": "containerd",
        },
        "dev",
    )
    assert isinstance(settings.cluster, KindClusterSettings)
    assert settings.cluster.node_image == "localhost/imagevolume/node:v1.36.3"


def test_crio_on_the_projects_containerd_node_image_is_refused() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({"nodeImage": "localhost/imagevolume/node:v1.36.3", "runtime": "crio"}, "dev")
    assert [p.key for p in raised.value.problems] == ["runtime"]
    assert "runs containerd" in str(raised.value)


def test_existing_cluster_without_a_version_skips_version_rules(tmp_path: Path) -> None:
    existing = {"clusterMode": "existing", "kubeconfig": write_kubeconfig(tmp_path), "context": "prod"}
    settings = parse_settings(existing, "prod")
    assert settings.kubernetes_version is None
    with pytest.raises(SettingsError) as raised:
        parse_settings({**existing, "kubernetesVersion": "1.30"}, "prod")
    assert [p.key for p in raised.value.problems] == ["kubernetesVersion"]
