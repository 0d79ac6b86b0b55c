"""preflight.sh, run by create.sh before kind create, against the fake kind and
docker: the kind release against the node image, the image's platform against
the Docker host's, and kind's inotify limits on that host."""

from __future__ import annotations

import json

from harness import FakeCli
from test_scripts import create

from components.settings import parse_settings
from components.settings.grammar import KubernetesVersion
from components.settings.model import KindClusterSettings
from components.versions import KIND, KIND_DEFAULT_NODE_IMAGE

CRIO_IMAGE = "ghcr.io/carlory/kindnode-crio:v1.31.0"


def cluster(**config: str) -> tuple[KindClusterSettings, KubernetesVersion | None]:
    settings = parse_settings(config, "dev")
    assert isinstance(settings.cluster, KindClusterSettings)
    return settings.cluster, settings.kubernetes_version


def created(cli: FakeCli) -> bool:
    return any(c[:2] == ["create", "cluster"] for c in cli.calls("kind"))


def test_the_pinned_kind_runs_its_own_node_image(cli: FakeCli) -> None:
    code, _, stderr = create(cli, *cluster(nodeImage=KIND_DEFAULT_NODE_IMAGE, runtime="containerd"))
    assert code == 0, stderr
    assert "notice" not in stderr


def test_a_node_image_of_another_kind_release_is_refused_with_the_fix(cli: FakeCli) -> None:
    cli.extra_env["FAKE_KIND_VERSION"] = "v0.31.0"
    code, stdout, stderr = create(cli, *cluster(nodeImage=KIND_DEFAULT_NODE_IMAGE, runtime="containerd"))
    assert code == 1 and stdout == ""
    assert f"was built for kind v{KIND.version}, but this kind is v0.31.0" in stderr
    assert f"pulumi config set imagevolume:nodeImage {KIND_DEFAULT_NODE_IMAGE}" in stderr
    assert not created(cli)


def test_kubernetes_1_36_needs_kind_0_32(cli: FakeCli) -> None:
    """Any 1.36 image, from the table or not (kubeadm v1beta4)."""
    cli.extra_env["FAKE_KIND_VERSION"] = "v0.31.0"
    code, _, stderr = create(cli, *cluster(nodeImage="kindest/node:v1.36.2", runtime="containerd"))
    assert code == 1
    assert "runs Kubernetes 1.36 or later, which needs kind v0.32.0 or later" in stderr
    assert not created(cli)


def test_a_community_image_passes_with_a_notice(cli: FakeCli) -> None:
    code, _, stderr = create(cli, *cluster(nodeImage=CRIO_IMAGE))
    assert code == 0, stderr
    assert f"notice: node image {CRIO_IMAGE} comes from no kind release" in stderr


def test_a_single_platform_image_of_another_cpu_is_refused(cli: FakeCli) -> None:
    cli.extra_env["FAKE_IMAGE_ARCHES"] = f"{CRIO_IMAGE}=arm64"
    code, _, stderr = create(cli, *cluster(nodeImage=CRIO_IMAGE))
    assert code == 1
    assert f"node image {CRIO_IMAGE} is built for arm64 only, but the docker host is amd64" in stderr
    assert not created(cli)
    inspect = next(c for c in cli.calls("docker") if c[:2] == ["image", "inspect"])
    assert inspect[-1] == CRIO_IMAGE


def test_a_multi_platform_image_matches_any_host(cli: FakeCli) -> None:
    cli.extra_env["FAKE_DOCKER_ARCH"] = "aarch64"
    code, _, stderr = create(cli, *cluster(nodeImage=CRIO_IMAGE))
    assert code == 0, stderr


def test_low_inotify_limits_on_the_docker_host_warn_with_the_sysctl_fix(cli: FakeCli) -> None:
    cli.extra_env["FAKE_INOTIFY_MAX_USER_WATCHES"] = "8192"
    code, _, stderr = create(cli, *cluster(nodeImage=CRIO_IMAGE))
    assert code == 0, stderr  # a warning, not a refusal
    assert "warning: fs.inotify.max_user_watches is 8192 on the docker host" in stderr
    assert "sudo sysctl fs.inotify.max_user_watches=524288" in stderr
    assert "max_user_instances" not in stderr
    # Read on the Docker host, from a container of the node image: not this machine's /proc.
    run = next(c for c in cli.calls("docker") if c[:1] == ["run"])
    assert run[run.index("--entrypoint") + 1 :] == [
        "cat",
        CRIO_IMAGE,
        "/proc/sys/fs/inotify/max_user_watches",
    ]


def test_a_single_node_cluster_does_not_read_the_limits(cli: FakeCli) -> None:
    cli.extra_env["FAKE_INOTIFY_MAX_USER_WATCHES"] = "8192"
    code, _, stderr = create(cli, *cluster(nodeImage=CRIO_IMAGE, workers="0"))
    assert code == 0, stderr
    assert "inotify" not in stderr
    assert not [c for c in cli.calls("docker") if c[:1] == ["run"]]


def test_an_adopted_cluster_runs_no_preflight(cli: FakeCli) -> None:
    assert create(cli, *cluster(nodeImage=CRIO_IMAGE))[0] == 0
    cli.extra_env["FAKE_KIND_VERSION"] = "v0.29.0"
    pulls = len([c for c in cli.calls("docker") if c[:1] == ["pull"]])
    code, _, stderr = create(cli, *cluster(nodeImage=CRIO_IMAGE))
    assert code == 0, stderr
    assert len([c for c in cli.calls("docker") if c[:1] == ["pull"]]) == pulls
    assert json.dumps(stderr).count("using it") == 1


def test_a_node_image_already_present_is_not_pulled_again(cli: FakeCli) -> None:
    """As kind does (pullIfNotPresent): a pull asks the registry even for a present
    image, and fails offline or for a locally built one (tests/real: D3)."""
    assert cli.run(f"docker pull {CRIO_IMAGE}").returncode == 0
    cli.extra_env["FAKE_MISSING_IMAGES"] = CRIO_IMAGE  # a pull now fails, as offline
    code, _, stderr = create(cli, *cluster(nodeImage=CRIO_IMAGE))
    assert code == 0, stderr
    pulls = [c for c in cli.calls("docker") if c[0] == "pull"]
    assert len(pulls) == 1  # the test's own


def test_a_missing_node_image_is_pulled(cli: FakeCli) -> None:
    code, _, stderr = create(cli, *cluster(nodeImage=CRIO_IMAGE))
    assert code == 0, stderr
    assert ["pull", CRIO_IMAGE] in cli.calls("docker")
