"""The rendered kind config and pod, against the walkthrough and the real schema."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from harness import stack_file_config

from components.cluster.identity import cluster_identity
from components.cluster.kind_config import kind_config, render_kind_config
from components.pod.pod_spec import pod_manifest
from components.settings import parse_settings
from components.settings.model import KindClusterSettings

# docs/walkthrough.md section 2 (step 1), verbatim.
WALKTHROUGH_KIND_CONFIG = """
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
  kubeadmConfigPatches:
  - |
    kind: InitConfiguration
    nodeRegistration:
      criSocket: unix:///var/run/crio/crio.sock
  - |
    kind: JoinConfiguration
    nodeRegistration:
      criSocket: unix:///var/run/crio/crio.sock
- role: worker
  kubeadmConfigPatches:
  - |
    kind: JoinConfiguration
    nodeRegistration:
      criSocket: unix:///var/run/crio/crio.sock
featureGates: {"ImageVolume": true}
"""

# docs/walkthrough.md section 3 (step 2), verbatim.
WALKTHROUGH_POD = """
apiVersion: v1
kind: Pod
metadata:
  name: pod
spec:
  containers:
  - name: test
    image: registry.k8s.io/e2e-test-images/echoserver:2.3
    volumeMounts:
    - name: volume
      mountPath: /volume
  volumes:
  - name: volume
    image:
      reference: quay.io/crio/artifact:v1
      pullPolicy: IfNotPresent
"""


def kind_settings(
    raw: dict[str, str], environ: dict[str, str] | None = None, stack: str = "dev"
) -> KindClusterSettings:
    cluster = parse_settings(raw, stack, environ=environ).cluster
    assert isinstance(cluster, KindClusterSettings)
    return cluster


@pytest.mark.parametrize("config", [{}, "dev"], ids=["defaults", "dev-stack-file"])
def test_kind_config_is_the_walkthroughs(config: dict[str, str] | str) -> None:
    cluster = kind_settings(stack_file_config(config) if isinstance(config, str) else config)
    assert yaml.safe_load(render_kind_config(cluster)) == yaml.safe_load(WALKTHROUGH_KIND_CONFIG)


def test_containerd_kind_config_has_no_crio_socket_and_counts_workers() -> None:
    cluster = kind_settings({**stack_file_config("containerd"), "workers": "3"}, stack="containerd")
    config = yaml.safe_load(render_kind_config(cluster))
    assert [node["role"] for node in config["nodes"]] == ["control-plane"] + ["worker"] * 3
    assert "crio" not in render_kind_config(cluster)
    assert config["featureGates"] == {"ImageVolume": True}


def test_zero_workers_is_a_control_plane_alone() -> None:
    cluster = kind_settings({"workers": "0"})
    assert [node["role"] for node in kind_config(cluster)["nodes"]] == ["control-plane"]


def test_identity_changes_with_anything_that_defines_the_cluster() -> None:
    base = kind_settings(stack_file_config("dev"))
    changes = [
        kind_settings({"clusterName": "other"}),
        kind_settings({"workers": "2"}),
        kind_settings({"nodeImage": "ghcr.io/carlory/kindnode-crio:v1.32.0"}),
        # Where the nodes run: kind re-detects its provider on every call.
        kind_settings({}, {"KIND_EXPERIMENTAL_PROVIDER": "podman"}),
        kind_settings({}, {"DOCKER_HOST": "ssh://builder"}),
        kind_settings({}, {"DOCKER_CONTEXT": "colima"}),
    ]
    identities = [cluster_identity(c) for c in [base, *changes]]
    assert len({i.fingerprint for i in identities}) == len(identities)
    assert len({i.cluster_identifier for i in identities}) == len(identities)
    assert len({tuple(i.defining()) for i in identities}) == len(identities)
    # ...and not with what does not (time-outs re-run create, which adopts).
    slower = kind_settings({"clusterReadyTimeout": "10m"})
    assert cluster_identity(slower) == cluster_identity(base)
    # docker's own default context is no context at all.
    assert cluster_identity(kind_settings({}, {"DOCKER_CONTEXT": "default"})) == cluster_identity(base)
    # kind ignores an unknown provider value and finds docker first.
    assert cluster_identity(kind_settings({}, {"KIND_EXPERIMENTAL_PROVIDER": "bogus"})) == cluster_identity(
        base
    )


def test_pod_is_the_walkthroughs() -> None:
    settings = parse_settings(stack_file_config("dev"), "dev")
    expected = yaml.safe_load(WALKTHROUGH_POD)
    expected["metadata"]["namespace"] = "default"
    # Ours, not the walkthrough's: see POD_ANNOTATIONS.
    expected["metadata"]["annotations"] = {"pulumi.com/waitFor": "jsonpath={.metadata.uid}"}
    assert pod_manifest(settings.pod) == expected


@pytest.mark.parametrize("stack", ["dev", "containerd", "existing"])
def test_pod_validates_against_the_kubernetes_schema(
    stack: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # the existing stack names ~/.kube/config
    kube = tmp_path / ".kube"
    kube.mkdir()
    (kube / "config").write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: mine, context: {cluster: c, user: u}}]\n"
    )
    config = stack_file_config(stack)
    if stack == "existing":
        config["context"] = "mine"
    settings = parse_settings(config, stack)
    version = settings.kubernetes_version
    assert version is not None
    # Strict: unknown fields (a typo such as volumeMount) fail too.
    kubernetes_validate.validate(
        pod_manifest(settings.pod), f"{version.major}.{version.minor}.0", strict=True
    )


def test_schema_validation_catches_a_broken_image_volume() -> None:
    manifest = pod_manifest(parse_settings({}, "dev").pod)
    manifest["spec"]["volumes"][0]["image"]["ref"] = manifest["spec"]["volumes"][0]["image"].pop("reference")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, "1.31.0", strict=True)


def test_image_volume_source_is_unknown_to_the_1_30_schema() -> None:
    """Why the version rules start at 1.31: the API has no `image` volume before."""
    manifest = pod_manifest(parse_settings({}, "dev").pod)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, "1.30.0", strict=True)


def test_sub_path_is_rendered_on_the_mount() -> None:
    settings = parse_settings(stack_file_config("containerd"), "containerd")
    mounts = pod_manifest(settings.pod)["spec"]["containers"][0]["volumeMounts"]
    assert mounts == [
        {"name": "volume", "mountPath": "/volume"},
        {"name": "volume-dir", "mountPath": "/volume-dir", "subPath": "dir"},
    ]
