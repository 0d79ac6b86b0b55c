"""Stack config parsing: defaults, and a clear answer for every mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest
import yaml
from harness import FakeCli, run_program, write_kubeconfig

from components.settings import default_checks, default_cluster_name, parse_settings
from components.settings.model import Check, ExistingClusterSettings, ImageVolume, KindClusterSettings
from components.settings.problems import SettingsError

ARTIFACT = "quay.io/crio/artifact:v1"


def volumes(*items: dict[str, object]) -> str:
    return json.dumps(list(items))


def volume(**fields: object) -> dict[str, object]:
    return {"name": "volume", "reference": ARTIFACT, "mountPath": "/volume", **fields}


def test_defaults_are_the_walkthrough() -> None:
    settings = parse_settings({}, "dev")
    assert settings.cluster == KindClusterSettings(
        name="imagevolume-dev",
        node_image="ghcr.io/carlory/kindnode-crio:v1.31.0",
        runtime="crio",
        workers=1,
        feature_gates=(("ImageVolume", True),),
        ready_timeout_seconds=300,
    )
    assert str(settings.kubernetes_version) == "1.31.0"
    assert settings.pod.name == "pod" and settings.pod.namespace == "default"
    assert settings.pod.image == "registry.k8s.io/e2e-test-images/echoserver:2.3"
    assert settings.pod.volumes == (ImageVolume("volume", ARTIFACT, "IfNotPresent", "/volume"),)
    assert [c.command_line for c in settings.checks] == [
        "ls -l /volume",
        "ls -l /volume/dir",
        "cat /volume/dir/file",
    ]


def test_values_are_parsed_from_the_cli_wire_form() -> None:
    settings = parse_settings(
        {
            "workers": "3",
            "featureGates": '{"ImageVolume": "true", "OtherGate": false}',
            "clusterReadyTimeout": "1m30s",
            "checks": '[["cat", "/volume/file"]]',
        },
        "dev",
    )
    assert isinstance(settings.cluster, KindClusterSettings)
    assert settings.cluster.workers == 3
    assert settings.cluster.feature_gate_map == {"ImageVolume": True, "OtherGate": False}
    assert settings.cluster.ready_timeout_seconds == 90
    assert settings.checks == (Check(("cat", "/volume/file")),)


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        ("dev", "imagevolume-dev"),
        ("Team_B.prod", "imagevolume-team-b-prod"),
        ("x" * 80, "imagevolume-" + "x" * 37),
    ],
)
def test_default_cluster_name_is_per_stack_and_valid(stack: str, expected: str) -> None:
    assert default_cluster_name(stack) == expected
    cluster = parse_settings({}, stack).cluster
    assert isinstance(cluster, KindClusterSettings) and cluster.name == expected


def test_pull_policy_defaults_like_kubernetes() -> None:
    def policy(reference: str) -> str:
        return (
            parse_settings(
                {"volumes": volumes({"name": "v", "reference": reference, "mountPath": "/v"})}, "dev"
            )
            .pod.volumes[0]
            .pull_policy
        )

    assert policy("quay.io/crio/artifact:v1") == "IfNotPresent"
    assert policy("quay.io/crio/artifact") == "Always"
    assert policy("quay.io/crio/artifact:latest") == "Always"
    assert policy("quay.io/crio/artifact@sha256:" + "a" * 64) == "IfNotPresent"


def test_default_checks_follow_each_volume() -> None:
    checks = default_checks(
        (
            ImageVolume("a", "quay.io/crio/artifact:v2", "IfNotPresent", "/a"),
            ImageVolume("b", "quay.io/crio/artifact:v2", "IfNotPresent", "/b", sub_path="dir"),
            ImageVolume("c", "registry.example.com/other:1", "IfNotPresent", "/c/"),
        )
    )
    assert [c.command_line for c in checks] == [
        "ls -l /a",
        "ls -l /a/dir",
        "cat /a/dir/file",
        "ls -l /b",
        "cat /b/file",
        "ls -l /c",
    ]


def test_existing_mode_keeps_only_the_chosen_context(tmp_path: Path) -> None:
    """`kubectl config view --minify --flatten --context prod`: only prod's
    cluster and user reach the provider, the commands and the state."""
    path = write_kubeconfig(tmp_path, current="other")
    settings = parse_settings({"clusterMode": "existing", "kubeconfig": path, "context": "prod"}, "prod")
    cluster = settings.cluster
    assert isinstance(cluster, ExistingClusterSettings)
    assert (cluster.kubeconfig_path, cluster.context) == (path, "prod")
    chosen = yaml.safe_load(cluster.kubeconfig)
    assert chosen["current-context"] == "prod"
    assert [c["name"] for c in chosen["contexts"]] == ["prod"]
    assert chosen["clusters"] == [
        {"name": "prod-cluster", "cluster": {"server": "https://prod.example:6443"}}
    ]
    assert chosen["users"] == [{"name": "prod-user", "user": {"token": "token-of-prod"}}]
    assert "token-of-other" not in cluster.kubeconfig
    assert settings.kubernetes_version is None


def test_existing_mode_is_unmoved_by_a_switch_of_current_context(tmp_path: Path) -> None:
    config = {
        "clusterMode": "existing",
        "kubeconfig": write_kubeconfig(tmp_path, current="other"),
        "context": "prod",
    }
    before = parse_settings(config, "prod").cluster
    write_kubeconfig(tmp_path, current="prod")  # e.g. kind create switched it
    assert parse_settings(config, "prod").cluster == before


def test_existing_mode_inlines_certificate_files_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.crt").write_bytes(b"CA")
    (tmp_path / "client.key").write_bytes(b"KEY")
    document = yaml.safe_load(Path(write_kubeconfig(tmp_path)).read_text())
    document["clusters"][0]["cluster"]["certificate-authority"] = "certs/ca.crt"
    document["users"][0]["user"] = {"client-key": str(tmp_path / "client.key"), "exec": {"command": "aws"}}
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(document))
    config = {"clusterMode": "existing", "kubeconfig": str(tmp_path / "kubeconfig"), "context": "prod"}
    cluster = parse_settings(config, "prod").cluster
    assert isinstance(cluster, ExistingClusterSettings)
    chosen = yaml.safe_load(cluster.kubeconfig)
    assert chosen["clusters"][0]["cluster"]["certificate-authority-data"] == "Q0E="  # base64 of CA
    assert chosen["users"][0]["user"] == {"client-key-data": "S0VZ", "exec": {"command": "aws"}}


def test_existing_mode_names_a_missing_context_and_the_ones_there_are(tmp_path: Path) -> None:
    config = {"clusterMode": "existing", "kubeconfig": write_kubeconfig(tmp_path)}
    with pytest.raises(SettingsError) as raised:
        parse_settings(config, "prod")
    assert [p.key for p in raised.value.problems] == ["context"]
    assert "fix: pulumi config set imagevolume:context my-context" in str(raised.value)
    with pytest.raises(SettingsError) as raised:
        parse_settings({**config, "context": "staging"}, "prod")
    assert "the file has no such context (contexts: prod, other)" in str(raised.value)


def test_a_secret_context_is_not_shown_back(tmp_path: Path) -> None:
    config = {"clusterMode": "existing", "kubeconfig": write_kubeconfig(tmp_path), "context": "s3cr3t-ctx"}
    with pytest.raises(SettingsError) as raised:
        parse_settings(config, "prod", secret_keys=("context",))
    assert "s3cr3t" not in str(raised.value)
    assert "imagevolume:context = [secret]" in str(raised.value)


# Each row: a bad config, and the key (under imagevolume:) its problem must name.
BAD_CONFIGS: list[tuple[dict[str, str], str]] = [
    ({"clusterMode": "kinds"}, "clusterMode"),
    ({"clusterMode": "Kind"}, "clusterMode"),
    ({"clusterName": "Bad_Name"}, "clusterName"),
    ({"clusterName": "-leading-dash"}, "clusterName"),
    ({"clusterName": "a" * 50}, "clusterName"),
    ({"clusterName": "name;rm -rf /"}, "clusterName"),
    ({"clusterName": ""}, "clusterName"),
    ({"nodeImage": "not an image"}, "nodeImage"),
    ({"nodeImage": "UPPER/case:v1"}, "nodeImage"),
    ({"nodeImage": "kindest/node:v1.35.0@sha256:short"}, "nodeImage"),
    ({"nodeImage": "$(curl evil)"}, "nodeImage"),
    ({"nodeImage": "ghcr.io/carlory/kindnode-crio:latest"}, "kubernetesVersion"),
    ({"runtime": "docker"}, "runtime"),
    ({"runtime": "CRI-O"}, "runtime"),
    ({"workers": "-1"}, "workers"),
    ({"workers": "1.5"}, "workers"),
    ({"workers": "eleven"}, "workers"),
    ({"workers": "11"}, "workers"),
    ({"kubernetesVersion": "1.31.x"}, "kubernetesVersion"),
    ({"kubernetesVersion": "latest"}, "kubernetesVersion"),
    ({"featureGates": "ImageVolume=true"}, "featureGates"),
    ({"featureGates": '["ImageVolume"]'}, "featureGates"),
    ({"featureGates": '{"ImageVolume": "yes"}'}, "featureGates.ImageVolume"),
    ({"featureGates": '{"image-volume": true}'}, "featureGates.image-volume"),
    ({"podName": "Pod"}, "podName"),
    ({"podName": "pod name"}, "podName"),
    ({"namespace": "kube_system"}, "namespace"),
    ({"namespace": "a" * 64}, "namespace"),
    ({"podImage": "echoserver:2.3 "}, "podImage"),
    ({"podImage": "registry.k8s.io/e2e-test-images/echoserver:"}, "podImage"),
    ({"volumes": "[]"}, "volumes"),
    ({"volumes": "{}"}, "volumes"),
    ({"volumes": "not json"}, "volumes"),
    ({"volumes": '["volume"]'}, "volumes[0]"),
    ({"volumes": volumes(volume(name="Volume"))}, "volumes[0].name"),
    ({"volumes": volumes({"reference": ARTIFACT, "mountPath": "/v"})}, "volumes[0].name"),
    ({"volumes": volumes(volume(reference="quay.io/crio/artifact:v1 ; ls"))}, "volumes[0].reference"),
    ({"volumes": volumes(volume(reference=None))}, "volumes[0].reference"),
    ({"volumes": volumes(volume(pullPolicy="always"))}, "volumes[0].pullPolicy"),
    ({"volumes": volumes(volume(pullPolicy="IfNotExists"))}, "volumes[0].pullPolicy"),
    ({"volumes": volumes(volume(mountPath="volume"))}, "volumes[0].mountPath"),
    ({"volumes": volumes(volume(mountPath="/"))}, "volumes[0].mountPath"),
    ({"volumes": volumes(volume(mountPath="/a/../etc"))}, "volumes[0].mountPath"),
    ({"volumes": volumes(volume(mountPath=7))}, "volumes[0].mountPath"),
    (
        {
            "volumes": volumes(
                volume(subPath="/abs"),
            ),
            "nodeImage": "kindest/node:v1.35.0",
            "runtime": "containerd",
        },
        "volumes[0].subPath",
    ),
    ({"volumes": volumes(volume(subPath="../up"))}, "volumes[0].subPath"),
    ({"volumes": volumes(volume(subpath="dir"))}, "volumes[0].subpath"),
    ({"volumes": volumes(volume(), volume(mountPath="/other"))}, "volumes[1].name"),
    ({"volumes": volumes(volume(), volume(name="other", mountPath="/volume/"))}, "volumes[1].mountPath"),
    ({"checks": "ls -l /volume"}, "checks"),
    ({"checks": "[]"}, "checks"),
    ({"checks": '["ls -l /volume"]'}, "checks[0]"),
    ({"checks": "[[]]"}, "checks[0]"),
    ({"checks": '[["ls", 1]]'}, "checks[0]"),
    ({"checks": '[["", "x"]]'}, "checks[0]"),
    ({"checks": '[["cat", "/f"], ["cat", "/f"]]'}, "checks[1]"),
    ({"podReadyTimeout": "5 minutes"}, "podReadyTimeout"),
    ({"podReadyTimeout": "1s"}, "podReadyTimeout"),
    ({"clusterReadyTimeout": "2h"}, "clusterReadyTimeout"),
    ({"clusterReadyTimeout": "300"}, "clusterReadyTimeout"),
    ({"kubeconfig": "/tmp/kubeconfig"}, "kubeconfig"),
    ({"context": "kind-dev"}, "context"),
    ({"clusterMode": "existing"}, "kubeconfig"),
    ({"clusterMode": "existing", "kubeconfig": "/etc/hostname"}, "context"),
    ({"clusterMode": "existing", "kubeconfig": "/etc/hostname", "context": "x"}, "context"),
    ({"clusterMode": "existing", "kubeconfig": "/nonexistent/kubeconfig"}, "kubeconfig"),
    (
        {"clusterMode": "existing", "kubeconfig": "/etc/hostname", "nodeImage": "kindest/node:v1.35.0"},
        "nodeImage",
    ),
    ({"clusterMode": "existing", "kubeconfig": "/etc/hostname", "workers": "2"}, "workers"),
    ({"podNmae": "pod"}, "podNmae"),
    ({"nodeimage": "kindest/node:v1.35.0"}, "nodeimage"),
]


@pytest.mark.parametrize(
    ("config", "key"), BAD_CONFIGS, ids=[f"{k}-{i}" for i, (_, k) in enumerate(BAD_CONFIGS)]
)
def test_bad_config_names_the_key_the_value_and_the_fix_and_runs_nothing(
    cli: FakeCli, config: dict[str, str], key: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        run_program(config, cli=cli)  # the stack's program, as `pulumi preview`/`up` runs it
    assert cli.calls() == []  # no kind, kubectl or docker call: nothing was created
    keys = [problem.key for problem in raised.value.problems]
    assert key in keys
    message = str(raised.value)
    assert f"imagevolume:{key} = " in message
    problem = next(p for p in raised.value.problems if p.key == key)
    assert problem.allowed
    assert problem.fix.startswith("pulumi config ")
    if key in config:  # the value given is shown back
        assert json.dumps(config[key])[:60] in message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({"workers": "-1", "runtime": "docker", "podName": "Pod", "namspace": "x"}, "dev")
    assert {p.key for p in raised.value.problems} == {"workers", "runtime", "podName", "namspace"}
    assert str(raised.value).startswith("stack 'dev': 4 problems in stack config, nothing was created:")


def test_unknown_key_suggests_the_known_one() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({"nodeimage": "kindest/node:v1.35.0"}, "dev")
    message = str(raised.value)
    assert "did you mean imagevolume:nodeImage?" in message
    assert "pulumi config rm imagevolume:nodeimage && pulumi config set imagevolume:nodeImage" in message


def test_fix_commands_quote_what_the_shell_would_split() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({"volumes": volumes(volume(pullPolicy="always"))}, "dev")
    assert "fix: pulumi config set --path 'imagevolume:volumes[0].pullPolicy' IfNotPresent" in str(
        raised.value
    )


def test_settings_error_is_a_pulumi_run_error() -> None:
    """RunError: Pulumi prints the message without a Python traceback."""
    assert issubclass(SettingsError, pulumi.RunError)


def test_a_secret_value_is_never_shown_back(cli: FakeCli) -> None:
    """A value set with `pulumi config set --secret` under a mistyped key, or
    invalid, appears neither in the message nor in the suggested fix."""
    config = {"kubeconfg": "s3cr3t-token-value", "podImage": "s3cr3t not an image"}
    with pytest.raises(SettingsError) as raised:
        run_program(config, cli=cli, secret_keys=("kubeconfg", "podImage"))
    message = str(raised.value)
    assert "s3cr3t" not in message
    assert "imagevolume:kubeconfg = [secret]: is not a setting of this project; did you mean" in message
    assert "pulumi config set imagevolume:kubeconfig VALUE --secret" in message
    assert "imagevolume:podImage = [secret]: must be an OCI image reference" in message


def test_the_loader_reads_config_as_the_cli_passes_it(cli: FakeCli) -> None:
    run = run_program({"workers": "0", "podName": "probe"}, cli=cli)
    assert run.outputs["podName"] == "probe"
    [create] = [c for c in cli.calls("kind") if c[:2] == ["create", "cluster"]]
    config = (cli.cluster("imagevolume-dev").path / "config.yaml").read_text()
    assert "worker" not in config and create[create.index("--name") + 1] == "imagevolume-dev"


SHELL_METACHARACTERS = [";", "$(x)", "`x`", "'", '"', " ", "\n", "|", "&", ">"]
NAME_LIKE = {
    "clusterName": lambda bad: {"clusterName": f"dev{bad}"},
    "nodeImage": lambda bad: {"nodeImage": f"kindest/node:v1.35.0{bad}", "runtime": "containerd"},
    "podImage": lambda bad: {"podImage": f"busybox{bad}"},
    "podName": lambda bad: {"podName": f"pod{bad}"},
    "namespace": lambda bad: {"namespace": f"default{bad}"},
    "volumes[0].name": lambda bad: {"volumes": volumes(volume(name=f"v{bad}"))},
    "volumes[0].reference": lambda bad: {"volumes": volumes(volume(reference=f"{ARTIFACT}{bad}"))},
}


@pytest.mark.parametrize("bad", SHELL_METACHARACTERS)
@pytest.mark.parametrize("key", sorted(NAME_LIKE))
def test_names_and_references_cannot_carry_shell_metacharacters(key: str, bad: str) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings(NAME_LIKE[key](bad), "dev")
    assert key in [problem.key for problem in raised.value.problems]


def test_duplicate_is_named_by_its_own_index_even_after_a_bad_entry() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({"volumes": volumes({"name": "Bad"}, volume(), volume(mountPath="/other"))}, "dev")
    keys = [p.key for p in raised.value.problems]
    assert "volumes[2].name" in keys and "volumes[1].name" not in keys
    assert "must be unique; volumes[1] has it too" in str(raised.value)


def test_a_bad_gate_name_is_removed_not_every_gate_overwritten() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({"featureGates": '{"ImageVolume": true, "image-volume": true}'}, "dev")
    assert [p.fix for p in raised.value.problems] == [
        "pulumi config rm --path imagevolume:featureGates.image-volume"
    ]


def test_a_rule_never_shows_a_secret_value() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({"nodeImage": "kindest/node:v1.35.0"}, "dev", secret_keys={"runtime", "nodeImage"})
    assert [str(p).split(":", 2)[1] for p in raised.value.problems] == ["runtime = [secret]"]
