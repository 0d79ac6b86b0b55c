"""Every printed fix, pasted into a shell with the real pulumi CLI, gives a
config that passes: the bad-input corpus (tests/bad_configs.py) converges in
one round.

For each bad config: the stack file holds it, the program's refusal lists
its problems, each `fix:` line runs as it is printed (bash, the Go-built
pulumi v3.259.0 on a file backend of the test's own), and the config the CLI
then holds (`pulumi config --json --show-secrets`, the strings the program
receives) must parse. A fix may name a placeholder where only the user knows
the value (a secret's corrected value, a kubeconfig path that does not
exist); the test fills it in as the user would, from PLACEHOLDERS, and
counts those fixes.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bad_configs import BAD_CONFIGS, materialise
from harness import ROOT
from real.test_pulumi_cli import real_pulumi, user_env

from components.settings import parse_settings
from components.settings.keys import JSON_KEYS
from components.settings.problems import NAMESPACE, SettingsError

pytestmark = pytest.mark.real_engine

STACK = "dev"
# A fix can reveal a problem the first refusal could not see (the rules run
# on settings that parse): each round applies what the program then prints.
ROUNDS = 3


class UnreadableStackFileError(Exception):
    """The CLI cannot read the stack file back."""


@dataclass
class Project:
    path: Path
    env: dict[str, str]
    salt: str

    def write_config(self, config: dict[str, str]) -> None:
        """The stack file holding `config` as a user would write it: JSON
        settings as structures when they parse, every other value a string;
        written as JSON, which is YAML (with escapes Go's YAML reads)."""
        lines = ["config:"]
        for key, value in config.items():
            written: object = value
            if key in JSON_KEYS:
                with contextlib.suppress(ValueError):
                    written = json.loads(value)
            lines.append(f"  {json.dumps(f'{NAMESPACE}:{key}')}: {json.dumps(written)}")
        (self.path / f"Pulumi.{STACK}.yaml").write_text("\n".join(lines) + "\n" + self.salt)

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", command], cwd=self.path, env=self.env, capture_output=True, text=True, check=False
        )

    def config(self) -> dict[str, str]:
        """What the program receives: each imagevolume: key's value as a string."""
        shown = self.run(f"pulumi config --stack {STACK} --json --show-secrets")
        if shown.returncode != 0:
            raise UnreadableStackFileError(shown.stderr.strip())
        return {
            key.removeprefix(f"{NAMESPACE}:"): entry["value"]
            for key, entry in json.loads(shown.stdout).items()
            if key.startswith(f"{NAMESPACE}:")
        }


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("convergence")
    home = root / "home"
    home.mkdir()
    pulumi = real_pulumi(home)
    work = root / "project"
    work.mkdir()
    (work / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (root / "backend").mkdir()
    env = {
        **user_env(pulumi, home),
        "PULUMI_BACKEND_URL": f"file://{root / 'backend'}",
        "PULUMI_CONFIG_PASSPHRASE": "convergence",
    }
    init = subprocess.run(
        ["pulumi", "stack", "init", STACK], cwd=work, env=env, capture_output=True, text=True, check=False
    )
    assert init.returncode == 0, init.stderr
    salt = next(
        line + "\n"
        for line in (work / f"Pulumi.{STACK}.yaml").read_text().splitlines()
        if line.startswith("encryptionsalt:")
    )
    yield Project(work, env, salt)


def decoded(config: dict[str, str]) -> dict[str, object]:
    """JSON settings decoded (the CLI hands them over compact, keys sorted)."""
    result: dict[str, object] = {}
    for key, value in config.items():
        try:
            result[key] = json.loads(value) if key in JSON_KEYS else value
        except ValueError:
            result[key] = value
    return result


def placeholders(folder: Path) -> dict[str, str]:
    """What a user types where a fix names a value only they know."""
    good = materialise({"kubeconfig": "KC/good"}, folder)["kubeconfig"]
    # No corpus row is secret, so no fix names VALUE (a secret's corrected
    # value); one that did would fail in bash, unfilled.
    return {"/path/to/your/kubeconfig": good, "my-context": "prod"}


@pytest.mark.parametrize(
    ("config", "key"),
    [(config, key) for config, key, _ in BAD_CONFIGS],
    ids=[f"{json.dumps(k)[1:-1][:40]}-{i}" for i, (_, k, _) in enumerate(BAD_CONFIGS)],
)
def test_the_printed_fixes_converge(
    project: Project, tmp_path: Path, config: dict[str, str], key: str
) -> None:
    config = materialise(config, tmp_path / "kc")
    project.write_config(config)
    try:
        held = project.config()
    except UnreadableStackFileError as refused:
        # A key over 1024 characters, a lone surrogate: Go's YAML refuses the
        # file, so no stack can hold this config, and no fix applies to it.
        assert "invalid YAML file" in str(refused)
        return
    assert decoded(held) == decoded(config)  # the CLI hands the program what the corpus says
    with pytest.raises(SettingsError):
        parse_settings(config, STACK)
    filled = placeholders(tmp_path / "kc")
    seen = [decoded(held)]
    current = held
    for _ in range(ROUNDS):
        try:
            parse_settings(current, STACK)
            return
        except SettingsError as refused:
            for fix in dict.fromkeys(problem.fix for problem in refused.problems):
                apply(project, fix, filled)
        current = project.config()
        assert decoded(current) not in seen, f"the fixes go round in circles: {json.dumps(current)}"
        seen.append(decoded(current))
    try:
        parse_settings(current, STACK)
    except SettingsError as again:
        pytest.fail(f"not converged in {ROUNDS} rounds:\n{json.dumps(current)}\nstill refused:\n{again}")


def apply(project: Project, fix: str, filled: dict[str, str]) -> None:
    """Paste one printed fix into bash, with the user's values where it names a placeholder."""
    assert fix.startswith(
        (f"pulumi config set --stack {STACK} ", f"pulumi config rm --stack {STACK} ", "kubectl --kubeconfig ")
    ), fix
    for placeholder, value in filled.items():
        fix = fix.replace(f" {placeholder}", f" {value}")
    applied = project.run(fix)
    assert applied.returncode == 0, f"{fix}\n{applied.stderr}"
