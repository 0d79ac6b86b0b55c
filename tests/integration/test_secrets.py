"""A value set with `pulumi config set --secret` stays secret: in no resource
input, stack output or message of ours does it show in plain text. Keys whose
values Kubernetes keeps in plain text (resource IDs) are refused as secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from harness import FakeCli, is_secret, run_program, stack_file_config, walk_strings, write_kubeconfig

from components.settings import SettingsError

MARK = "s3cr3t"


def plain_strings(value: Any) -> list[str]:
    """Every string of a wire-form value outside its secret parts."""
    if is_secret(value):
        return []
    if isinstance(value, dict):
        return [s for item in value.values() for s in plain_strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in plain_strings(item)]
    return [value] if isinstance(value, str) else []


# key -> a valid value carrying MARK (kind mode, the dev stack's other settings)
KIND_SECRETS: dict[str, str] = {
    "nodeImage": f"ghcr.io/carlory/kindnode-crio-{MARK}:v1.31.0",
    "podImage": f"registry.example/{MARK}/echoserver:2.3",
    "volumes": json.dumps(
        [{"name": "volume", "reference": f"quay.io/crio/artifact:v1-{MARK}", "mountPath": f"/{MARK}"}]
    ),
    "checks": json.dumps([["cat", f"/volume/{MARK}"]]),
    "featureGates": json.dumps({"ImageVolume": True, f"Z{MARK}Gate": True}),
}


@pytest.mark.parametrize("key", sorted(KIND_SECRETS))
def test_a_secret_setting_never_shows_in_plain_text(cli: FakeCli, key: str) -> None:
    config = {**stack_file_config("dev"), key: KIND_SECRETS[key]}
    if key == "volumes":
        del config["checks"]  # the default checks, made from the (secret) mount paths
    if key == "checks":
        config["volumes"] = json.dumps(
            [{"name": "volume", "reference": "quay.io/crio/artifact:v1", "mountPath": "/volume"}]
        )
    try:
        run = run_program(config, cli=cli, preview=True, secret_keys=(key,))
    except SettingsError as error:  # pragma: no cover - the test names it
        raise AssertionError(str(error)) from None
    for registration in run.registrations:
        leaked = [s for s in plain_strings(registration.inputs) if MARK in s]
        assert not leaked, f"{registration.name}: {leaked[:1]}"
    for name, value in run.outputs.items():
        if name not in run.secret_outputs:
            assert not [s for s in walk_strings(value) if MARK in s], name


@pytest.mark.parametrize("key", ["clusterName", "podName", "namespace"])
def test_a_resource_name_cannot_be_secret_and_says_why(key: str) -> None:
    with pytest.raises(SettingsError) as raised:
        run_program({**stack_file_config("dev"), key: "fine-name"}, secret_keys=(key,))
    message = str(raised.value)
    assert f"imagevolume:{key} = [secret]: cannot be a secret" in message
    assert "fine-name" not in message
    # The same value again, set without --secret, read back inside the command.
    read_back = f"value=$(pulumi config get --stack dev imagevolume:{key})"
    assert f'{read_back} && pulumi config set --stack dev imagevolume:{key} -- "$value"' in message


def test_a_secret_context_keeps_the_cluster_name_output_secret(cli: FakeCli, tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path, contexts=(f"prod-{MARK}",), current=f"prod-{MARK}")
    config = {**stack_file_config("existing"), "kubeconfig": path, "context": f"prod-{MARK}"}
    run = run_program(config, stack="existing", cli=cli, preview=True, secret_keys=("context",))
    assert "clusterName" in run.secret_outputs
    for registration in run.registrations:
        assert not [s for s in plain_strings(registration.inputs) if MARK in s], registration.name


def test_a_failing_secret_check_is_named_without_its_words(cli: FakeCli) -> None:
    config = {**stack_file_config("dev"), "checks": json.dumps([["cat", f"/volume/{MARK}"]])}
    with pytest.raises(Exception) as raised:
        run_program(config, cli=cli, secret_keys=("checks",))
    text = str(raised.value)
    assert "check failed in pod default/pod (exit 1): [secret]" in text
    assert MARK not in text


def test_a_pod_with_secret_images_fails_without_naming_them(cli: FakeCli) -> None:
    reference = f"quay.io/crio/artifact:v1-{MARK}"
    cli.extra_env["FAKE_MISSING_IMAGES"] = reference
    volumes = json.dumps([{"name": "volume", "reference": reference, "mountPath": "/volume"}])
    with pytest.raises(Exception) as raised:
        run_program({**stack_file_config("dev"), "volumes": volumes}, cli=cli, secret_keys=("volumes",))
    text = str(raised.value)
    assert "an image could not be pulled" in text and "Image volumes: [secret]" in text
    assert MARK not in text


def test_a_secret_source_volume_shows_neither_its_name_nor_its_digest(cli: FakeCli, tmp_path: Path) -> None:
    folder = tmp_path / f"folder-{MARK}"
    folder.mkdir()
    (folder / f"file-{MARK}.txt").write_text("secret content\n")
    volumes = json.dumps([{"name": f"v{MARK}", "source": str(folder), "mountPath": f"/{MARK}"}])
    config = {**stack_file_config("dev"), "volumes": volumes, "registryPort": "5123"}
    del config["checks"]
    run = run_program(config, cli=cli, preview=True, secret_keys=("volumes",))
    digest = run.secret_outputs and run.outputs["contentDigests"][f"/{MARK}"]
    assert isinstance(digest, str) and digest.startswith("sha256:")
    for registration in run.registrations:
        assert MARK not in registration.urn, registration.urn
        leaked = [s for s in plain_strings(registration.inputs) if MARK in s or digest in s]
        assert not leaked, f"{registration.name}: {leaked[:1]}"
    [push] = [r for r in run.registrations if r.name.endswith("-push")]
    assert "stdout" in push.additional_secret_outputs  # target@digest
    assert {"volumes", "content", "contentDigests"} <= run.secret_outputs
