"""A source volume end to end under the engine model (tests/lifecycle.py): the
folder built at evaluation, the stack's registry (the fake docker runs Debian's
real docker-registry for it), the push, the nodes' way to the registry, and
the pod's content proof; then change, heal and destroy."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import (
    ROOT,
    CommandFailedError,
    FakeCli,
    free_port,
    reveal,
    run_like_command_provider,
    run_program,
    stack_file_config,
)
from integration.test_lifecycle import Stack, summary
from integration.test_make_targets import HEALING_URNS
from lifecycle import Deployment

from components.checks.component import expected_sums
from components.content import describe
from components.settings import SettingsError, parse_settings
from components.versions import REGISTRY_IMAGE

pytestmark = pytest.mark.skipif(
    shutil.which("docker-registry") is None and os.environ.get("CI") != "true",
    reason="Debian's docker-registry is not installed (apt-get install docker-registry); "
    "the fake docker runs it as the stack's registry",
)

CLUSTER = "imagevolume-content"
REGISTRY = f"{CLUSTER}-registry"
POD_URN = (
    "urn:pulumi:content::imagevolume::imagevolume:index:ImageVolumePod"
    "$kubernetes:core/v1:Pod::image-volume-pod"
)
CONFIGMAP_URN = (
    "urn:pulumi:content::imagevolume::imagevolume:index:ImageVolumePod"
    "$kubernetes:core/v1:ConfigMap::image-volume-local-registry-hosting"
)


def content_urns(urns: list[str]) -> list[str]:
    return [urn.replace("urn:pulumi:dev::", "urn:pulumi:content::") for urn in urns]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of examples/content that a test may change."""
    copy = tmp_path / "content"
    shutil.copytree(ROOT / "examples" / "content", copy, symlinks=True)
    return copy


class ContentStack(Stack):
    """The shipped `content` stack, mounting `folder` on a free port."""

    def __init__(self, cli: FakeCli, folder: Path, name: str = "content") -> None:
        super().__init__(cli, name)
        self.port = free_port()
        volumes = json.loads(stack_file_config("content")["volumes"])
        volumes[0]["source"] = str(folder)
        self.config = {**self.config, "volumes": json.dumps(volumes), "registryPort": str(self.port)}


@pytest.fixture
def stack(cli: FakeCli, folder: Path) -> Iterator[ContentStack]:
    made = ContentStack(cli, folder)
    yield made
    cli.stop_processes()


def docker(cli: FakeCli, command: str) -> str:
    result = cli.run(f"docker {command}")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def regular_files(folder: Path) -> int:
    return len(describe(folder, None).files)


def test_up_pushes_the_folder_and_proves_every_file(stack: ContentStack, folder: Path) -> None:
    first = stack.up()
    assert first.error is None, first.error
    count = regular_files(folder)
    assert count == 6
    assert first.outputs["content"] == {"/data": f"{count} files, all match"}
    digest = describe(folder, None).digest
    assert first.outputs["contentDigests"] == {"/data": digest}
    assert first.outputs["volumes"][0]["reference"] == f"localhost:{stack.port}/content@{digest}"
    cli = stack.cli
    # The registry: this stack's, on loopback, on the kind network.
    owner = docker(
        cli, f"inspect --format '{{{{index .Config.Labels \"io.imagevolume.owner\"}}}}' {REGISTRY}"
    )
    assert len(owner) == 32
    assert docker(cli, f"inspect --format '{{{{json .NetworkSettings.Networks.kind}}}}' {REGISTRY}") != "null"
    hosts = docker(
        cli, f"exec {CLUSTER}-control-plane cat /etc/containerd/certs.d/localhost:{stack.port}/hosts.toml"
    )
    assert hosts == f'[host."http://{REGISTRY}:5000"]'
    hosting = cli.api(first.outputs["kubeconfig"]).get("ConfigMap", "kube-public", "local-registry-hosting")
    assert hosting["data"]["localRegistryHosting.v1"].startswith(f'host: "localhost:{stack.port}"\n')
    # Nothing changed: nothing to do, in a preview or an up.
    assert stack.preview().changes() == []
    again = stack.up()
    assert again.changes() == []
    assert again.outputs == first.outputs


def test_a_changed_file_pushes_again_replaces_the_pod_and_re_runs_the_proof(
    stack: ContentStack, folder: Path
) -> None:
    first = stack.up()
    assert first.error is None, first.error
    (folder / "config" / "app.yaml").write_text("greeting: changed\n")
    preview = stack.preview()
    assert preview.error is None
    # The new digest is known in the preview: the pod is announced as replaced.
    assert "replace" in preview.ops("image-volume-pod")
    second = stack.up()
    assert summary(second) == "replaces push, pod, ready wait, checks"
    assert second.outputs["contentDigests"] != first.outputs["contentDigests"]
    assert second.outputs["content"] == {"/data": "6 files, all match"}
    assert (
        in_pod(stack, second.outputs["kubeconfig"], "cat", "/data/config/app.yaml") == "greeting: changed\n"
    )
    assert stack.up().changes() == []  # unchanged folder: nothing


def nothing_listens(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def in_pod(stack: ContentStack, kubeconfig: str, *argv: str) -> str:
    path = stack.cli.root / "pod-kubeconfig"
    path.write_text(kubeconfig)
    result = stack.cli.run(
        f"kubectl --kubeconfig {path} exec pod --container container -- {shlex.join(argv)}"
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_destroy_removes_the_registry_with_the_cluster(stack: ContentStack) -> None:
    assert stack.up().error is None
    destroyed = stack.destroy()
    assert destroyed.error is None, destroyed.error
    gone = stack.cli.run(f"docker inspect --format '{{{{.Id}}}}' {REGISTRY}")
    assert gone.returncode == 1 and f"No such object: {REGISTRY}" in gone.stderr
    assert stack.cli.clusters() == []
    assert nothing_listens(stack.port)


def test_a_taken_port_fails_up_naming_it_and_leaves_no_container(stack: ContentStack) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", stack.port))
        squatter.listen()
        failed = stack.up()
    assert failed.error is not None
    message = str(failed.error)
    assert f"imagevolume:registryPort {stack.port} is taken on 127.0.0.1" in message
    assert "pulumi config set imagevolume:registryPort" in message
    assert stack.cli.run(f"docker inspect {REGISTRY}").returncode == 1  # nothing half-made
    assert failed.ops("image-volume-pod") == []  # the pod was never attempted
    # Freed, the next up converges.
    assert stack.up().error is None


def test_a_registry_container_this_stack_did_not_make_is_left_alone(stack: ContentStack) -> None:
    theirs = docker(
        stack.cli,
        f"run -d --restart=always --name {REGISTRY} --label io.imagevolume.owner=someone-else "
        f"-p 127.0.0.1:{free_port()}:5000 {REGISTRY_IMAGE}",
    )
    failed = stack.up()
    assert failed.error is not None
    assert f"a container named {REGISTRY} exists and this stack did not make it" in str(failed.error)
    assert docker(stack.cli, f"inspect --format '{{{{.Id}}}}' {REGISTRY}") == theirs
    # destroy leaves it too.
    assert stack.destroy().error is None
    assert docker(stack.cli, f"inspect --format '{{{{.Id}}}}' {REGISTRY}") == theirs


def test_a_new_port_moves_the_registry_and_the_pod(stack: ContentStack) -> None:
    first = stack.up()
    assert first.error is None
    old = stack.port
    stack.port = free_port()
    moved = stack.up(registryPort=str(stack.port))
    assert summary(moved) == (
        "replaces registry, nodes' registry config, push, pod, ready wait, checks; updates registry ConfigMap"
    )
    assert moved.outputs["volumes"][0]["reference"].startswith(f"localhost:{stack.port}/content@")
    assert moved.outputs["content"] == first.outputs["content"]
    assert nothing_listens(old)


def test_a_deleted_cluster_is_healed_with_its_registry_config(stack: ContentStack) -> None:
    first = stack.up()
    assert first.error is None
    stack.cli.delete_cluster(CLUSTER)
    healed = stack.up_replacing([*content_urns(HEALING_URNS), CONFIGMAP_URN])
    assert healed.error is None, healed.error
    # The new nodes get their registry config again; the registry and its content stay.
    assert "nodes' registry config" in summary(healed)
    assert "push" not in summary(healed)
    assert healed.outputs["content"] == first.outputs["content"]
    assert stack.up().changes() == []


def test_a_deleted_registry_is_healed_and_pushed_again(stack: ContentStack) -> None:
    first = stack.up()
    assert first.error is None
    docker(stack.cli, f"rm -f -v {REGISTRY}")
    registry_urn = (
        "urn:pulumi:content::imagevolume::imagevolume:index:LocalRegistry"
        "$command:local:Command::registry-container"
    )
    healed = stack.up_replacing([registry_urn])
    assert healed.error is None, healed.error
    assert summary(healed) == "replaces registry, nodes' registry config, push"
    assert healed.outputs["content"] == first.outputs["content"]


def rerun_proof(stack: ContentStack, deployment: Deployment, stdin: str | None = None) -> str:
    """Run the content proof's command again, as the provider would; what it
    printed, or CommandFailedError."""
    proof = next(r for r in deployment.registrations if r.name == "verify-content-0")
    inputs = reveal(proof.inputs)
    if stdin is not None:
        inputs["stdin"] = stdin
    return run_like_command_provider(stack.cli, inputs, "create")[0]


def test_an_empty_mount_fails_the_proof_naming_the_runtime(stack: ContentStack) -> None:
    done = stack.up()
    assert done.error is None
    stack.cli.extra_env["FAKE_VOLUME_EMPTY"] = "1"
    # up stops at the read-only proof, which finds the mount empty first ...
    assert "empty" in str(stack.up_replacing([POD_URN]).error)
    # ... and the content proof says so on its own too.
    with pytest.raises(CommandFailedError) as failed:
        rerun_proof(stack, done)
    assert "none of the 6 files" in str(failed.value) and "the mount is empty" in str(failed.value)


def test_without_sha256sum_in_the_pod_the_files_are_hashed_here(stack: ContentStack) -> None:
    stack.cli.extra_env["FAKE_POD_MISSING_TOOLS"] = "sha256sum"
    done = stack.up()
    assert done.error is None, done.error
    assert done.outputs["content"] == {
        "/data": "6 files, all match (read with cat and hashed here: the pod image has no sha256sum)"
    }


def test_without_sha256sum_and_cat_the_proof_says_what_the_image_lacks(stack: ContentStack) -> None:
    done = stack.up()
    assert done.error is None
    stack.cli.extra_env["FAKE_POD_MISSING_TOOLS"] = "sha256sum,cat"
    with pytest.raises(CommandFailedError) as failed:
        rerun_proof(stack, done)
    message = str(failed.value)
    assert (
        "needs sha256sum or cat in the pod image (registry.k8s.io/e2e-test-images/echoserver:2.3)" in message
    )


def test_a_file_that_differs_in_the_pod_fails_the_proof_naming_it(stack: ContentStack) -> None:
    done = stack.up()
    assert done.error is None
    proof = next(r for r in done.registrations if r.name == "verify-content-0")
    stdin = reveal(proof.inputs)["stdin"]
    wrong = "0" * 64 + "  /data/config/app.yaml"
    stdin = re.sub(r"^[0-9a-f]{64}  /data/config/app\.yaml$", wrong, stdin, flags=re.M)
    assert wrong in stdin
    with pytest.raises(CommandFailedError) as failed:
        rerun_proof(stack, done, stdin)
    message = str(failed.value)
    assert "/data/config/app.yaml: FAILED" in message
    assert "1 of 6 files at /data in pod default/pod differ from the folder" in message


def test_a_folder_changed_after_evaluation_fails_the_push(stack: ContentStack, folder: Path) -> None:
    done = stack.up()
    assert done.error is None
    push = next(r for r in done.registrations if r.name == "content-0-push")
    (folder / "README.txt").write_text("changed after the preview\n")
    with pytest.raises(CommandFailedError) as failed:
        run_like_command_provider(stack.cli, reveal(push.inputs), "create")
    assert "changed after this deployment read it" in str(failed.value)


def test_a_crio_cluster_pulls_through_a_registries_conf_drop_in(cli: FakeCli, folder: Path) -> None:
    stack = Stack(cli)  # dev: CRI-O
    port = free_port()
    volumes = json.dumps([{"name": "content", "source": str(folder), "mountPath": "/data"}])
    try:
        done = stack.up(volumes=volumes, registryPort=str(port), checks='[["ls", "-l", "/data"]]')
        assert done.error is None, done.error
        assert done.outputs["content"] == {"/data": "6 files, all match"}
        conf = docker(
            cli,
            "exec imagevolume-dev-control-plane cat "
            "/etc/containers/registries.conf.d/50-imagevolume-registry.conf",
        )
        assert f'prefix = "localhost:{port}"' in conf and "insecure = true" in conf
    finally:
        cli.stop_processes()


def test_the_engine_orders_registry_push_nodes_and_pod(stack: ContentStack) -> None:
    """The engine runs resources in parallel unless they depend on each other
    (pulumi's step executor): the lifecycle model runs them in order, so the
    order is asserted here, on the declared dependencies."""
    preview = stack.preview()
    assert preview.error is None
    by_name = {r.name: r for r in preview.registrations}
    cluster, container = by_name["cluster-kind"], by_name["registry-container"]
    nodes, push, pod = by_name["registry-nodes"], by_name["content-0-push"], by_name["image-volume-pod"]
    assert {container.urn, cluster.urn} <= set(nodes.dependencies)  # the network exists with the cluster
    assert container.urn in push.dependencies
    assert {nodes.urn, push.urn} <= set(pod.dependencies)
    assert by_name["image-volume-local-registry-hosting"].urn in pod.dependencies


def test_a_secret_source_volume_fails_without_naming_its_files_paths_or_digest(
    cli: FakeCli, tmp_path: Path
) -> None:
    mark = "s3cr3t"
    folder = tmp_path / f"folder-{mark}"
    shutil.copytree(ROOT / "examples" / "content", folder, symlinks=True)
    (folder / f"file-{mark}.txt").write_text("secret\n")
    volumes = json.dumps([{"name": f"v{mark}", "source": str(folder), "mountPath": f"/{mark}"}])
    config = {**stack_file_config("content"), "volumes": volumes, "registryPort": str(free_port())}
    run = run_program(config, stack="content", cli=cli, secret_keys=("volumes",))
    digest = run.outputs["contentDigests"][f"/{mark}"]
    by_name = {r.name: r for r in run.registrations}
    proof = reveal(by_name["verify-content-0"].inputs)
    proof["stdin"] = re.sub(r"^[0-9a-f]{64}  ", "0" * 64 + "  ", proof["stdin"], count=1, flags=re.M)
    with pytest.raises(CommandFailedError) as mismatch:
        run_like_command_provider(cli, proof, "create")
    (folder / f"file-{mark}.txt").write_text("changed\n")
    with pytest.raises(CommandFailedError) as changed:
        run_like_command_provider(cli, by_name["content-0-push"].inputs, "create")
    for failed in (mismatch, changed):
        message = str(failed.value).split("\n", 1)[1]  # past the command line
        assert message.strip(), failed.value
        assert mark not in message and digest not in message, message
    assert "1 of 7 files" in str(mismatch.value)


@pytest.mark.parametrize(
    ("sub_path", "expected"),
    [
        (None, 6),
        (".", 6),
        ("config", 1),
        ("config/", 1),
        ("./config", 1),
        ("data set", 2),
        ("config/app.yaml", 1),  # a file: mounted at the mount path itself
    ],
)
def test_the_proof_expects_every_file_the_mount_shows(sub_path: str | None, expected: int) -> None:
    volumes = [{"name": "c", "source": "examples/content", "mountPath": "/data"}]
    if sub_path is not None:
        volumes[0]["subPath"] = sub_path
    settings = parse_settings(
        {**stack_file_config("content"), "volumes": json.dumps(volumes)}, "content", cache_dir=None
    )
    lines = expected_sums(settings.pod.volumes[0]).splitlines()
    assert len(lines) == expected
    if sub_path == "config/app.yaml":
        assert lines[0].endswith("  /data")
    elif sub_path and sub_path.strip("./") == "config":
        assert lines[0].endswith("  /data/app.yaml")


def test_a_sub_path_that_names_nothing_in_the_folder_is_refused() -> None:
    volumes = [{"name": "c", "source": "examples/content", "mountPath": "/data", "subPath": "nothing/here"}]
    with pytest.raises(SettingsError) as raised:
        parse_settings(
            {**stack_file_config("content"), "volumes": json.dumps(volumes)}, "content", cache_dir=None
        )
    [problem] = raised.value.problems
    assert problem.key == "volumes[0].subPath"
    assert "names nothing in the folder" in str(problem)


def test_another_engine_moves_the_registry_with_the_cluster(
    stack: ContentStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stack.up().error is None
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/other.sock")
    moved = stack.up()
    assert moved.error is None, moved.error
    assert "registry" in summary(moved).split(";")[0]  # replaced, so deleted where it ran
    old = stack.cli.run(f"docker inspect --format '{{{{.Id}}}}' {REGISTRY}", env={"DOCKER_HOST": ""})
    assert old.returncode == 1, "the registry on the old engine was left behind"
    assert moved.outputs["content"] == {"/data": "6 files, all match"}


def test_the_nodes_step_says_when_the_registry_container_is_gone(stack: ContentStack) -> None:
    done = stack.up()
    assert done.error is None
    docker(stack.cli, f"rm -f -v {REGISTRY}")
    nodes = next(r for r in done.registrations if r.name == "registry-nodes")
    with pytest.raises(CommandFailedError) as failed:
        run_like_command_provider(stack.cli, nodes.inputs, "create")
    assert f"cannot inspect the registry container {REGISTRY}" in str(failed.value)
    assert "make up starts a new one" in str(failed.value)
