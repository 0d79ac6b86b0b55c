"""Stack config parsing: defaults, and a clear answer for every mistake."""

from __future__ import annotations

import hashlib
import json
import shlex
import tempfile
from pathlib import Path

import pulumi
import pytest
import yaml
from bad_configs import (
    ARTIFACT,
    BAD_CONFIGS,
    materialise,
    volume,
    volumes,
)
from harness import FakeCli, run_program, write_kubeconfig
from hypothesis import given
from hypothesis import strategies as st

from components.content import digest as folder_digest
from components.settings import default_checks, default_cluster_name, parse_settings
from components.settings.kubeconfig import KubeconfigError, choose_context, parse_kubeconfig, read_file
from components.settings.model import Check, ExistingClusterSettings, ImageVolume, KindClusterSettings
from components.settings.problems import SettingsError, show_key
from components.settings.registry import default_registry_port
from components.versions import REGISTRY_IMAGE


def test_defaults_are_the_walkthrough() -> None:
    settings = parse_settings({}, "dev")
    assert settings.cluster == KindClusterSettings(
        name="imagevolume-dev",
        node_image="ghcr.io/carlory/kindnode-crio:v1.31.0",
        runtime="crio",
        workers=1,
        feature_gates=(("ImageVolume", True),),
        ready_timeout_seconds=300,
        registry_port=default_registry_port("dev"),
        registry_image=REGISTRY_IMAGE,
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


def short_hash(stack: str) -> str:
    return hashlib.sha256(stack.encode()).hexdigest()[:6]


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        ("dev", "imagevolume-dev"),
        ("Team_B.prod", f"imagevolume-team-b-prod-{short_hash('Team_B.prod')}"),
        ("x" * 80, "imagevolume-" + "x" * 30 + f"-{short_hash('x' * 80)}"),
    ],
)
def test_default_cluster_name_is_per_stack_and_valid(stack: str, expected: str) -> None:
    assert default_cluster_name(stack) == expected
    cluster = parse_settings({}, stack).cluster
    assert isinstance(cluster, KindClusterSettings) and cluster.name == expected


def test_stack_names_that_fold_alike_get_their_own_clusters() -> None:
    """dev, Dev, dev_ and long names sharing a prefix must not share a cluster."""
    stacks = ["dev", "Dev", "dev_", "DEV", "d-e-v", "x" * 60 + "a", "x" * 60 + "b"]
    names = [default_cluster_name(stack) for stack in stacks]
    assert len(set(names)) == len(names)
    assert all(len(name) <= 49 for name in names)


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
    # The file's current-context, a context it has (write_kubeconfig: prod and other).
    assert str(raised.value).endswith("fix: pulumi config set --stack prod imagevolume:context other")
    with pytest.raises(SettingsError) as raised:
        parse_settings({**config, "context": "staging"}, "prod")
    assert "the file has no such context (contexts: prod, other)" in str(raised.value)


def test_a_secret_context_is_not_shown_back(tmp_path: Path) -> None:
    config = {"clusterMode": "existing", "kubeconfig": write_kubeconfig(tmp_path), "context": "s3cr3t-ctx"}
    with pytest.raises(SettingsError) as raised:
        parse_settings(config, "prod", secret_keys=("context",))
    assert "s3cr3t" not in str(raised.value)
    assert "imagevolume:context = [secret]" in str(raised.value)


def _is_report_line(line: str) -> bool:
    return line.startswith(
        ("stack ", "- imagevolume:", "    fix: pulumi config ", "    fix: kubectl --kubeconfig ")
    )


@pytest.mark.parametrize(
    ("config", "key", "says"),
    BAD_CONFIGS,
    ids=[f"{json.dumps(k)[1:-1][:40]}-{i}" for i, (_, k, _) in enumerate(BAD_CONFIGS)],
)
def test_bad_config_names_the_key_the_value_and_the_fix_and_runs_nothing(
    cli: FakeCli, tmp_path: Path, config: dict[str, str], key: str, says: str
) -> None:
    config = materialise(config, tmp_path / "kc")
    with pytest.raises(SettingsError) as raised:
        run_program(config, cli=cli)  # the stack's program, as `pulumi preview`/`up` runs it
    assert cli.calls() == []  # no kind, kubectl or docker call: nothing was created
    keys = [problem.key for problem in raised.value.problems]
    assert key in keys
    message = str(raised.value)
    assert f"imagevolume:{show_key(key)} = " in message
    problem = next(p for p in raised.value.problems if p.key == key)
    assert problem.allowed
    assert problem.fix.startswith(("pulumi config ", "kubectl --kubeconfig "))
    if key in config:  # the value given is shown back
        assert json.dumps(config[key])[:60] in message
    assert says in str(problem) + "\n"
    # No value or key can forge a line of the report or reach the terminal raw.
    assert all(_is_report_line(line) for line in message.splitlines()), message
    assert all(c == "\n" or c.isprintable() for c in message)


GOOD_CONFIGS: list[dict[str, str]] = [
    {"nodeImage": f"kindest/node:v1.35.0@sha256:{'0' * 64}", "runtime": "containerd"},
    {"nodeImage": f"kindest/node:v1.35.0@sha512:{'0a' * 64}", "runtime": "containerd"},
    {"podImage": f"busybox@sha256:{'f' * 64}"},
    {"featureGates": '{"ImageVolume": true}'},
    {"featureGates": '{"ImageVolume": true, "RecursiveReadOnlyMounts": true}'},
    {"featureGates": '{"ImageVolume": true, "InPlacePodVerticalScaling": false}'},
    {"volumes": volumes(volume(mountPath="/etc/myapp"))},
    {"volumes": volumes(volume(mountPath="/usr/share/models"))},
    {"volumes": volumes(volume(mountPath="/var/run/myapp"))},
    {"volumes": volumes(volume(mountPath="/opt/" + "a" * 255))},
    {"volumes": volumes(volume(mountPath="/libexec-data"))},
    {"checks": json.dumps([["sh", "-c", "ls -l /volume"]])},
    {"checks": json.dumps([["cat", "/" + "f" * 4095]])},
    {"checks": json.dumps([["echo", *["w" * 4096] * 15]])},
    {"podName": "p" * 253},
    {"registryImage": "imagevolume-registry:2.8.2"},
    {"registryImage": f"127.0.0.1:5000/registry@sha256:{'0' * 64}"},
    {"registryImage": f"localhost:5000/mirror/registry:3@sha512:{'0a' * 64}"},
    {"registryImage": "[::1]:5000/registry:3"},
    {"registryImage": "registry"},
    {"registryImage": "registry:" + "t" * 128},
    {"registryImage": "r/" + "a" * 253},
]


@pytest.mark.parametrize("config", GOOD_CONFIGS, ids=[str(i) for i in range(len(GOOD_CONFIGS))])
def test_what_the_rules_allow_passes(config: dict[str, str]) -> None:
    parse_settings(config, "dev")


def _problem(config: dict[str, str], key: str, secret_keys: tuple[str, ...] = ()) -> str:
    with pytest.raises(SettingsError) as raised:
        parse_settings(config, "dev", secret_keys=secret_keys)
    return next(str(p) for p in raised.value.problems if p.key == key)


def test_a_mount_path_is_refused_with_its_canonical_form_as_the_fix() -> None:
    assert _problem({"volumes": volumes(volume(mountPath="//data/"))}, "volumes[0].mountPath") == (
        'imagevolume:volumes[0].mountPath = "//data/": is not canonical (it has an empty component (//) '
        "and ends with /); the canonical form is /data\n"
        "    fix: pulumi config set --stack dev --path 'imagevolume:volumes[0].mountPath' /data"
    )


def test_a_reserved_mount_path_says_why_and_suggests_a_folder_of_its_own() -> None:
    assert _problem({"volumes": volumes(volume(mountPath="/etc/hosts"))}, "volumes[0].mountPath") == (
        'imagevolume:volumes[0].mountPath = "/etc/hosts": is refused: kubelet mounts /etc/hosts there '
        "(the pod's hosts file); mount an image volume at a folder of its own, such as /volume or "
        "/etc/myapp\n"
        "    fix: pulumi config set --stack dev --path 'imagevolume:volumes[0].mountPath' /volume"
    )


def test_a_gate_near_a_known_one_names_it_and_keeps_the_value() -> None:
    assert _problem({"featureGates": '{"ImageVolumes": false}'}, "featureGates.ImageVolumes") == (
        "imagevolume:featureGates.ImageVolumes = false: is not a feature gate this project knows; "
        "did you mean ImageVolume? (kubeadm refuses an unknown gate only after the working cluster "
        "was deleted to be replaced)\n"
        "    fix: pulumi config rm --stack dev --path imagevolume:featureGates.ImageVolumes && "
        "pulumi config set --stack dev --path imagevolume:featureGates.ImageVolume false"
    )


def test_a_check_split_by_the_shell_is_suggested_as_argv() -> None:
    assert _problem({"checks": '[["ls -l /volume"], ["cat", "/f"]]'}, "checks[0]") == (
        'imagevolume:checks[0] = ["ls -l /volume"]: its program name (argv[0]) has whitespace: a check '
        'runs without a shell, one word per list item; did you mean ["ls", "-l", "/volume"]?\n'
        "    fix: pulumi config set --stack dev imagevolume:checks "
        '\'[["ls", "-l", "/volume"], ["cat", "/f"]]\''
    )


def test_an_uppercase_digest_is_suggested_in_lowercase() -> None:
    reference = f"kindest/node:v1.35.0@sha256:{'AB' * 32}"
    assert _problem({"nodeImage": reference}, "nodeImage").endswith(
        f"fix: pulumi config set --stack dev imagevolume:nodeImage kindest/node:v1.35.0@sha256:{'ab' * 32}"
    )


def test_a_control_character_is_shown_escaped_and_the_fix_drops_it() -> None:
    assert _problem({"podImage": "busybox:1\x1b"}, "podImage") == (
        'imagevolume:podImage = "busybox:1\\u001b": must not contain control characters (it has \\u001b); '
        "C0, DEL and C1 control characters are refused in every setting, name and path\n"
        "    fix: pulumi config set --stack dev imagevolume:podImage busybox:1"
    )


def test_a_fix_that_drops_control_characters_is_checked_against_the_other_rules() -> None:
    """pod[31m (pod\x1b[31m without its escape character) is no pod name: the
    fix is the one the name rule gives, so applying it passes."""
    assert _problem({"podName": "pod\x1b[31m"}, "podName") == (
        'imagevolume:podName = "pod\\u001b[31m": must not contain control characters (it has \\u001b); '
        "C0, DEL and C1 control characters are refused in every setting, name and path\n"
        "    fix: pulumi config set --stack dev imagevolume:podName pod"
    )
    parse_settings({"podName": "pod"}, "dev")


def test_a_secret_with_control_characters_is_not_shown() -> None:
    message = _problem({"podImage": "s3cr3t\x1b"}, "podImage", secret_keys=("podImage",))
    assert "s3cr3t" not in message and "\x1b" not in message and "[secret]" in message
    message = _problem(
        {"volumes": volumes(volume(mountPath="//s3cr3t/"))}, "volumes[0].mountPath", ("volumes",)
    )
    assert "s3cr3t" not in message and "[secret]" in message


def test_a_fix_for_a_key_with_a_control_character_is_quoted_for_the_shell() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({"volumes": volumes(volume(**{"x\ny": "1"}))}, "dev")
    [problem] = [p for p in raised.value.problems if p.key == "volumes[0].x\ny"]
    assert problem.fix == "pulumi config rm --stack dev --path $'imagevolume:volumes[0].x\\ny'"


def test_existing_mode_names_a_referenced_file_that_is_missing(tmp_path: Path) -> None:
    document = yaml.safe_load(Path(write_kubeconfig(tmp_path)).read_text())
    document["users"][0]["user"] = {
        "client-certificate": "certs/client.crt",
        "client-key": "certs/client.key",
    }
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "client.crt").write_bytes(b"CRT")
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(document))
    config = {"clusterMode": "existing", "kubeconfig": str(tmp_path / "kubeconfig"), "context": "prod"}
    message = _problem(config, "kubeconfig")
    assert f"client-key certs/client.key ({tmp_path}/certs/client.key) cannot be read" in message
    assert "No such file or directory" in message


# Any text, control characters, separators and lone surrogates included.
any_text = st.text(st.characters(codec=None), max_size=12) | st.sampled_from(
    ["", "ImageVolume", "/volume", "//data/", "/etc/hosts", "ls -l /volume", "\x1b[2J", "\u2028", "\ud800"]
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=8,
)
volume_like = st.fixed_dictionaries(
    {"name": st.just("v"), "reference": st.just(ARTIFACT)},
    optional={"mountPath": any_text, "subPath": any_text, "pullPolicy": any_text, "x": json_value},
)
raw_config = st.dictionaries(
    st.sampled_from(
        ["podName", "namespace", "podImage", "nodeImage", "clusterName", "kubernetesVersion", "workers"]
    )
    | any_text,
    any_text,
    max_size=3,
).flatmap(
    lambda scalars: st.fixed_dictionaries(
        {},
        optional={
            "featureGates": st.dictionaries(any_text, json_value, max_size=3).map(json.dumps),
            "volumes": (st.lists(volume_like | json_value, max_size=2) | json_value).map(json.dumps),
            "checks": st.lists(st.lists(any_text, max_size=3) | json_value, max_size=2).map(json.dumps),
        },
    ).map(lambda structured: {**scalars, **structured})
)


@given(raw_config)
def test_any_config_gives_settings_or_a_clean_report_never_a_traceback(config: dict[str, str]) -> None:
    try:
        parse_settings(config, "dev")
    except SettingsError as error:
        message = str(error)
        assert all(_is_report_line(line) for line in message.splitlines()), message
        assert all(c == "\n" or c.isprintable() for c in message)


kubeconfig_like = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from(["Config", "Pod"]) | json_value,
        "contexts": st.lists(
            st.fixed_dictionaries(
                {"name": st.sampled_from(["prod", "other"]) | json_value},
                optional={
                    "context": st.fixed_dictionaries({"cluster": st.just("c"), "user": json_value})
                    | json_value
                },
            )
            | json_value,
            max_size=2,
        )
        | json_value,
        "clusters": st.lists(
            st.fixed_dictionaries(
                {"name": st.just("c")},
                optional={
                    "cluster": st.fixed_dictionaries(
                        {"server": any_text}, optional={"certificate-authority": any_text | json_value}
                    )
                    | json_value
                },
            )
            | json_value,
            max_size=2,
        )
        | json_value,
        "users": json_value,
    },
)
kubeconfig_file = (
    kubeconfig_like.map(lambda d: yaml.safe_dump(d).encode())
    | json_value.map(lambda d: yaml.safe_dump(d).encode())
    | st.binary(max_size=64)
)


@given(kubeconfig_file)
def test_any_kubeconfig_gives_settings_or_a_clean_report_never_a_traceback(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "kubeconfig").write_bytes(content)
        config = {"clusterMode": "existing", "kubeconfig": f"{folder}/kubeconfig", "context": "prod"}
        try:
            parse_settings(config, "prod")
        except SettingsError as error:
            message = str(error)
            assert all(_is_report_line(line) for line in message.splitlines()), message
            assert all(c == "\n" or c.isprintable() for c in message)


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
    assert message.endswith(
        "fix: pulumi config set --stack dev imagevolume:nodeImage kindest/node:v1.35.0 && "
        "pulumi config rm --stack dev imagevolume:nodeimage"
    )


def test_fix_commands_quote_what_the_shell_would_split() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({"volumes": volumes(volume(pullPolicy="always"))}, "dev")
    assert (
        "fix: pulumi config set --stack dev --path 'imagevolume:volumes[0].pullPolicy' IfNotPresent"
        in str(raised.value)
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
    # The value moves to the right key without being shown: read back inside the command.
    assert (
        "fix: value=$(pulumi config get --stack dev imagevolume:kubeconfg) && "
        'pulumi config set --stack dev --secret imagevolume:kubeconfig -- "$value" && '
        "pulumi config rm --stack dev imagevolume:kubeconfg"
    ) in message
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
    "registryImage": lambda bad: {"registryImage": f"registry:3{bad}"},
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
        "pulumi config rm --stack dev --path imagevolume:featureGates.image-volume"
    ]


def test_a_rule_never_shows_a_secret_value() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({"nodeImage": "kindest/node:v1.35.0"}, "dev", secret_keys={"runtime", "nodeImage"})
    assert [str(p).split(":", 2)[1] for p in raised.value.problems] == ["runtime = [secret]"]


def test_a_source_volume_is_built_at_parse_and_referenced_by_digest(tmp_path: Path) -> None:
    folder = tmp_path / "project" / "site"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text("<h1>hi</h1>\n")
    config = {
        "registryPort": "5123",
        "volumes": volumes({"name": "site", "source": "site", "mountPath": "/site"}),
    }
    settings = parse_settings(config, "dev", project_dir=tmp_path / "project", cache_dir=None)
    (site,) = settings.pod.volumes
    assert site.source is not None
    assert site.source.path == str(folder)
    assert site.source.content.digest == folder_digest(folder, None)
    assert site.reference == f"localhost:5123/site@{site.source.content.digest}"
    assert site.pull_policy == "IfNotPresent"
    assert [(f.path, f.sha256) for f in site.source.content.files] == [
        ("index.html", hashlib.sha256(b"<h1>hi</h1>\n").hexdigest())
    ]
    assert site.as_output()["source"] == "site"
    assert settings.sources == (site,)
    # One byte more: another digest, so another reference (the pod is replaced).
    (folder / "index.html").write_text("<h1>hi!</h1>\n")
    again = parse_settings(config, "dev", project_dir=tmp_path / "project", cache_dir=None)
    assert again.pod.volumes[0].reference != site.reference


def test_an_existing_cluster_pushes_sources_to_its_registry(tmp_path: Path) -> None:
    config = {
        "clusterMode": "existing",
        "kubeconfig": write_kubeconfig(tmp_path),
        "context": "prod",
        "registry": "registry.example.com:8443/team/",
        "volumes": volumes({"name": "data", "source": "examples/content", "mountPath": "/data"}),
    }
    settings = parse_settings(config, "prod", cache_dir=None)
    (data,) = settings.pod.volumes
    assert isinstance(settings.cluster, ExistingClusterSettings)
    assert settings.cluster.registry == "registry.example.com:8443/team"
    assert data.reference.startswith("registry.example.com:8443/team/data@sha256:")


def test_registry_ports_differ_between_the_shipped_stacks() -> None:
    ports = {stack: default_registry_port(stack) for stack in ("dev", "containerd", "content", "existing")}
    assert len(set(ports.values())) == len(ports), ports
    assert all(1024 <= port <= 65535 for port in ports.values())


def test_a_secret_source_is_not_shown_back() -> None:
    config = {"volumes": volumes({"name": "v", "source": "no/such/secret-folder", "mountPath": "/v"})}
    with pytest.raises(SettingsError) as raised:
        parse_settings(config, "dev", secret_keys=("volumes",), cache_dir=None)
    assert "secret-folder" not in str(raised.value)
    assert [p.key for p in raised.value.problems] == ["volumes[0].source"]


@pytest.mark.parametrize("given", [".", ".pulumi", ".pulumi/cache", "sub/..", "SELF"])
def test_a_source_that_is_or_holds_the_state_folder_is_refused(tmp_path: Path, given: str) -> None:
    """.pulumi holds the state, the passphrase and the digest cache, which a build
    would both push and change (a new digest every run)."""
    project = tmp_path / "project"
    (project / ".pulumi" / "cache").mkdir(parents=True)
    (project / ".pulumi" / "passphrase").write_text("hunter2\n")
    (project / "sub").mkdir()
    (project / "sub" / "file").write_text("x\n")
    source = str(project) if given == "SELF" else given
    config = {"volumes": volumes({"name": "v", "source": source, "mountPath": "/v"})}
    with pytest.raises(SettingsError) as raised:
        parse_settings(
            config, "dev", project_dir=project, cache_dir=project / ".pulumi" / "cache" / "content"
        )
    [problem] = raised.value.problems
    assert problem.key == "volumes[0].source"
    assert "must not be, hold or be inside the project's .pulumi folder" in problem.allowed


def test_a_source_beside_the_state_folder_is_fine(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".pulumi").mkdir(parents=True)
    (project / "site").mkdir()
    (project / "site" / "index.html").write_text("hi\n")
    config = {"volumes": volumes({"name": "v", "source": "site", "mountPath": "/v"})}
    cache = project / ".pulumi" / "cache" / "content"
    first = parse_settings(config, "dev", project_dir=project, cache_dir=cache)
    assert (
        first.pod.volumes[0].reference
        == parse_settings(config, "dev", project_dir=project, cache_dir=cache).pod.volumes[0].reference
    )


@pytest.mark.parametrize(
    "image",
    [
        "imagevolume-registry:2.8.2",
        f"127.0.0.1:5000/registry@sha256:{'0' * 64}",
        "registry:" + "t" * 128,  # the longest tag
        "r/" + "a" * 253,  # the longest name, 255 characters
    ],
)
def test_the_registry_image_is_the_one_given(image: str) -> None:
    cluster = parse_settings({"registryImage": image}, "dev").cluster
    assert isinstance(cluster, KindClusterSettings) and cluster.registry_image == image


def test_the_registry_image_defaults_to_the_pinned_one() -> None:
    cluster = parse_settings({}, "dev").cluster
    assert isinstance(cluster, KindClusterSettings) and cluster.registry_image == REGISTRY_IMAGE
    assert REGISTRY_IMAGE.startswith("registry:3@sha256:")


def test_a_bad_registry_image_names_the_setting_and_the_pinned_default() -> None:
    assert _problem({"registryImage": "Registry:3"}, "registryImage") == (
        'imagevolume:registryImage = "Registry:3": must be an OCI image reference such as '
        f"{REGISTRY_IMAGE} or 127.0.0.1:5000/registry@sha256:<64 lowercase hex digits>: the stack's "
        "registry container runs it when a volume has a source\n"
        f"    fix: pulumi config set --stack dev imagevolume:registryImage {REGISTRY_IMAGE}"
    )


def test_a_registry_image_with_an_uppercase_digest_is_suggested_in_lowercase() -> None:
    message = _problem({"registryImage": f"127.0.0.1:5000/registry@sha256:{'AB' * 32}"}, "registryImage")
    assert "this one has uppercase letters" in message
    assert message.endswith(
        "fix: pulumi config set --stack dev imagevolume:registryImage "
        f"127.0.0.1:5000/registry@sha256:{'ab' * 32}"
    )


def test_a_registry_image_in_existing_mode_is_refused_like_the_registry_port(tmp_path: Path) -> None:
    config = {"clusterMode": "existing", "kubeconfig": write_kubeconfig(tmp_path), "context": "prod"}
    for key, value in (("registryPort", "5001"), ("registryImage", "imagevolume-registry:2.8.2")):
        assert _problem({**config, key: value}, key) == (
            f'imagevolume:{key} = "{value}": applies only when imagevolume:clusterMode is kind (it is '
            f"existing)\n    fix: pulumi config rm --stack dev imagevolume:{key}"
        )


def test_a_secret_registry_image_is_refused_like_a_secret_registry_port() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings(
            {"registryPort": "5123", "registryImage": "s3cr3t-registry:2.8.2"},
            "dev",
            secret_keys=("registryPort", "registryImage"),
        )
    assert [str(p) for p in raised.value.problems] == [
        "imagevolume:registryPort = [secret]: cannot be a secret: the registry container publishes it, "
        "which Docker lists in plain text\n"
        "    fix: value=$(pulumi config get --stack dev imagevolume:registryPort) && "
        'pulumi config set --stack dev imagevolume:registryPort -- "$value"',
        "imagevolume:registryImage = [secret]: cannot be a secret: the registry container runs it, "
        "which Docker lists in plain text\n"
        "    fix: value=$(pulumi config get --stack dev imagevolume:registryImage) && "
        'pulumi config set --stack dev imagevolume:registryImage -- "$value"',
    ]


def test_a_bad_secret_registry_image_is_not_shown_back() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({"registryImage": "S3CR3T not an image"}, "dev", secret_keys=("registryImage",))
    [problem] = raised.value.problems
    assert "s3cr3t" not in str(raised.value).lower()
    assert str(problem).startswith("imagevolume:registryImage = [secret]: must be an OCI image reference")


@pytest.mark.parametrize("path", ["~/.kube/config", "/nonexistent/kubeconfig"])
def test_a_missing_kubeconfig_file_is_not_fixed_by_setting_it_again(
    path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen through the real engine: the fix for a missing ~/.kube/config was
    `pulumi config set imagevolume:kubeconfig '~/.kube/config'`, the value
    already set."""
    monkeypatch.setenv("HOME", str(tmp_path))
    problem = _problem({"clusterMode": "existing", "kubeconfig": path, "context": "prod"}, "kubeconfig")
    fix = problem.split("fix: ", 1)[1]
    assert shlex.split(fix)[-1] != path
    assert fix == "pulumi config set --stack dev imagevolume:kubeconfig /path/to/your/kubeconfig"


def test_the_volumes_output_names_each_field_as_the_stack_file_does() -> None:
    """What `pulumi stack output volumes` shows, key by key (make mutate: the
    keys and the subPath condition were checked nowhere in the fast tier)."""
    config = {
        "runtime": "containerd",
        "nodeImage": "kindest/node:v1.36.1",
        "volumes": volumes(
            volume(name="v", reference="quay.io/crio/artifact:v2", mountPath="/volume"),
            volume(name="w", reference="quay.io/crio/artifact:v2", mountPath="/w", subPath="dir"),
        ),
    }
    settings = parse_settings(config, "dev")
    assert [v.as_output() for v in settings.pod.volumes] == [
        {
            "name": "v",
            "reference": "quay.io/crio/artifact:v2",
            "pullPolicy": "IfNotPresent",
            "mountPath": "/volume",
        },
        {
            "name": "w",
            "reference": "quay.io/crio/artifact:v2",
            "pullPolicy": "IfNotPresent",
            "mountPath": "/w",
            "subPath": "dir",
        },
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "it is a YAML list, not a map"),
        ("just words\n", "it is a YAML scalar, not a map"),
        ("apiVersion: v1\nkind: Config\nclusters: [\n", "it is not YAML (line 4)"),
        ("kind: Config\nclusters: {a: 1}\n", "its clusters is a YAML map, not a list"),
        ("kind: Config\nusers: [x]\n", "its users[0] is a YAML scalar, not a map"),
    ],
)
def test_a_malformed_kubeconfig_is_named_by_what_it_is(text: str, message: str) -> None:
    """The messages word for word, the line counted from 1 (make mutate: the
    wording and the line arithmetic were free to change)."""
    with pytest.raises(KubeconfigError) as raised:
        parse_kubeconfig(text)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("path", "strerror"),
    [
        ("/dev/null", "not a regular file (a device, pipe or socket)"),
        ("/tmp", "a folder, not a file"),
        ("a\0b", "not a path: it has a NUL character"),
    ],
)
def test_a_kubeconfig_path_that_is_no_file_says_what_it_is(path: str, strerror: str) -> None:
    with pytest.raises(OSError) as raised:
        read_file(path, 1024)
    assert raised.value.strerror == strerror


def test_the_chosen_context_keeps_its_server(tmp_path: Path) -> None:
    """The server is half of the existing cluster's identity."""
    text = (
        "apiVersion: v1\nkind: Config\n"
        "clusters: [{name: c, cluster: {server: 'https://10.0.0.1:6443'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: prod, context: {cluster: c, user: u}}]\n"
    )
    chosen = choose_context(text, "prod", str(tmp_path), lambda path: b"")
    assert chosen.server == "https://10.0.0.1:6443"
    expected = hashlib.sha256(b"prod\nhttps://10.0.0.1:6443").hexdigest()[:16]
    assert chosen.cluster_identifier == f"existing-{expected}"


# --- keys of other namespaces ---------------------------------------------------------


def test_a_kubernetes_provider_key_is_refused_and_moved_to_the_setting_it_meant(cli: FakeCli) -> None:
    """The program's providers are explicit: kubernetes:context would be
    ignored silently (pulumi-kubernetes reads it only for a default provider)."""
    with pytest.raises(SettingsError) as raised:
        run_program({}, cli=cli, foreign={"kubernetes:context": "kind-kind", "aws:region": "eu-west-1"})
    assert cli.calls() == []
    assert str(raised.value) == (
        "stack 'dev': 1 problem in stack config, nothing was created:\n"
        '- kubernetes:context = "kind-kind": is not read: this program\'s kubernetes provider is explicit '
        "and takes its settings from imagevolume: keys; did you mean imagevolume:context?\n"
        "    fix: value=$(pulumi config get --stack dev kubernetes:context) && "
        'pulumi config set --stack dev imagevolume:context -- "$value" && '
        "pulumi config rm --stack dev kubernetes:context"
    )


def test_a_mistyped_project_namespace_is_refused_with_a_did_you_mean() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({}, "dev", foreign={"imagevolumes:workers": "7", "ImageVolume:podname": "p"})
    assert [(p.namespace, p.key) for p in raised.value.problems] == [
        ("ImageVolume", "podname"),
        ("imagevolumes", "workers"),
    ]
    assert "did you mean imagevolume:workers?" in str(raised.value)
    assert "did you mean imagevolume:podName?" in str(raised.value)


def test_a_command_provider_key_has_nothing_to_move_to() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({}, "dev", foreign={"command:dir": "/tmp"})
    (problem,) = raised.value.problems
    assert problem.fix == "pulumi config rm --stack dev command:dir"
    assert "did you mean" not in str(problem)


def test_other_namespaces_are_left_alone() -> None:
    parse_settings({}, "dev", foreign={"aws:region": "eu-west-1", "pulumi:tags": "{}", "volume:x": "1"})


def test_a_secret_in_another_namespace_is_moved_without_being_shown() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings(
            {}, "dev", foreign={"kubernetes:kubeconfig": "s3cr3t"}, foreign_secret={"kubernetes:kubeconfig"}
        )
    message = str(raised.value)
    assert "s3cr3t" not in message
    assert "kubernetes:kubeconfig = [secret]" in message
    assert message.endswith(
        "fix: value=$(pulumi config get --stack dev kubernetes:kubeconfig) && "
        'pulumi config set --stack dev --secret imagevolume:kubeconfig -- "$value" && '
        "pulumi config rm --stack dev kubernetes:kubeconfig"
    )


def test_foreign_keys_are_reported_with_the_projects_own_problems() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({"workers": "eleven"}, "dev", foreign={"imagevolumes:workers": "7"})
    assert [p.key for p in raised.value.problems] == ["workers", "workers"]
    assert [p.namespace for p in raised.value.problems] == ["imagevolumes", "imagevolume"]


# --- two fixes of one list ----------------------------------------------------------


def test_fixes_of_several_checks_are_one_command_that_fixes_them_all() -> None:
    """Each item's own fix would set the whole list (overwriting the others')
    or remove by index (shifting the others'): one command for all."""
    given = [["ls -l /volume"], ["cat", "/f"], ["cat", "/f"], "cat /g", [" "]]
    with pytest.raises(SettingsError) as raised:
        parse_settings({"checks": json.dumps(given)}, "dev")
    fixes = {p.fix for p in raised.value.problems}
    assert [p.key for p in raised.value.problems] == ["checks[0]", "checks[2]", "checks[3]", "checks[4]"]
    corrected = [["ls", "-l", "/volume"], ["cat", "/f"], ["cat", "/g"]]
    assert fixes == {f"pulumi config set --stack dev imagevolume:checks {shlex.quote(json.dumps(corrected))}"}
    parse_settings({"checks": json.dumps(corrected)}, "dev")


def test_a_value_that_starts_with_a_dash_is_not_taken_for_a_flag() -> None:
    """pulumi config set KEY -1 fails: "unknown shorthand flag: '1' in -1"."""
    with pytest.raises(SettingsError) as raised:
        parse_settings({"workerz": "-1"}, "dev")
    assert raised.value.problems[0].fix == (
        "pulumi config set --stack dev imagevolume:workers -- -1 && "
        "pulumi config rm --stack dev imagevolume:workerz"
    )
