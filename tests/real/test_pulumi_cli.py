"""Tier 2a: the Pulumi-native workflow on the real pulumi CLI (Go-built by
scripts/real-tools.sh at the pinned version), from a fresh clone: the
commands a Pulumi user types, and the make targets beside them.

The Python language host cannot be built here (issue 16: the Go proxy
refuses its module), so nothing here runs the program: preview and up stop
where the CLI loads the host, and the test says so when it gets there. Every
other step is the real CLI on a real local backend: stack init, config set
(plain and --secret), stack ls/output, refresh and destroy of a stack with no
resources, and what each does to the tracked stack files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import ROOT
from real.docker_engine import DockerEngine
from real.prerequisites import require

from components.versions import PULUMI

pytestmark = pytest.mark.real_engine

CACHE_BIN = Path(os.environ.get("IMAGEVOLUME_CACHE") or Path.home() / ".cache" / "imagevolume") / "bin"
LANGUAGE_HOST_MISSING = "no language plugin 'pulumi-language-python' found"


@dataclass
class Checkout:
    """A fresh clone of this working tree, a user's home with no Pulumi login,
    and the real pulumi on PATH."""

    path: Path
    env: dict[str, str]

    def run(self, *argv: str, **env: str | None) -> subprocess.CompletedProcess[str]:
        merged = {**self.env, **env}
        return subprocess.run(
            list(argv),
            cwd=self.path,
            env={key: value for key, value in merged.items() if value is not None},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def ok(self, *argv: str, **env: str | None) -> str:
        result = self.run(*argv, **env)
        assert result.returncode == 0, f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def login(self) -> None:
        """`pulumi login` to a file backend of the test's own. (`--local` is
        file://~, which the CLI resolves with the OS user's home, not $HOME:
        it would write into the real ~/.pulumi.)"""
        backend = self.path.parent / "backend"
        backend.mkdir()
        self.ok("pulumi", "login", f"file://{backend}")
        assert f"Backend URL: file://{backend}" in self.ok("pulumi", "whoami", "--verbose")

    def diff(self) -> dict[str, list[str]]:
        """Each changed tracked file's added and removed lines (git diff), and untracked files."""
        changed: dict[str, list[str]] = {}
        for name in self.ok("git", "diff", "--name-only").split():
            lines = self.ok("git", "diff", "-U0", "--", name).splitlines()
            changed[name] = [line for line in lines if line[:1] in "+-" and line[:3] not in ("+++", "---")]
        for name in self.ok("git", "ls-files", "--others", "--exclude-standard").split():
            changed[name] = ["(untracked)"]
        return changed


def real_pulumi(home: Path) -> Path:
    """The Go-built pulumi at the pinned version; kind beside it (make up and
    destroy run it, and make takes both from PATH at their pinned versions)."""
    binary = CACHE_BIN / "pulumi"
    for program in ("pulumi", "kind"):
        require(
            (CACHE_BIN / program).is_file(),
            f"the real {program} at {CACHE_BIN / program} "
            f"(make real-tools PROGRAMS={program}, or make test-real)",
        )
    shown = subprocess.run(
        [binary, "version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "PULUMI_HOME": str(home / ".pulumi")},
    )
    assert shown.stdout.strip() == f"v{PULUMI.version}", shown.stdout + shown.stderr
    return binary


@pytest.fixture
def checkout(tmp_path: Path, docker_engine: DockerEngine) -> Iterator[Checkout]:
    home = tmp_path / "home"
    home.mkdir()
    pulumi = real_pulumi(home)
    source = tmp_path / "source"
    # This working tree as a commit: what a fresh clone of it would hold.
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, tracked):
        origin = ROOT / name
        if origin.is_file() or origin.is_symlink():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, source / name, follow_symlinks=False)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(source)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "fresh"], check=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(source), str(clone)], check=True)
    (clone / ".venv").symlink_to(ROOT / ".venv")  # make's venv targets find it made
    env = {
        **user_env(pulumi, home),
        "PULUMI_CONFIG_PASSPHRASE": "a-users-own-passphrase",
        # Nothing may be downloaded: a mirror that answers nothing.
        "IMAGEVOLUME_TOOLS_MIRROR": f"http://127.0.0.1:{closed_port()}",
        "DOCKER_HOST": docker_engine.host,  # make up and destroy check the daemon first
    }
    yield Checkout(clone, env)


def user_env(pulumi: Path, home: Path) -> dict[str, str]:
    """A user's environment with a home of the test's own: the real pulumi,
    then the venv's kubectl, first on PATH; no update check."""
    return {
        "PATH": os.pathsep.join(
            [str(pulumi.parent), str(ROOT / ".venv" / "bin"), "/usr/local/bin:/usr/bin:/bin"]
        ),
        "HOME": str(home),
        "PULUMI_HOME": str(home / ".pulumi"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "LANG": "C.UTF-8",
    }


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_with_no_login_make_says_how_to_pick_a_backend(checkout: Checkout) -> None:
    result = checkout.run("make", "-s", "preview")
    assert result.returncode != 0
    assert (
        "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions"
        in result.stderr
    )
    assert "log in to one, e.g. pulumi login --local (state in ~/.pulumi)" in result.stderr
    assert checkout.diff() == {}


def test_plain_pulumi_and_make_keep_the_users_secret_and_write_nothing_else(checkout: Checkout) -> None:
    checkout.login()

    # stack init adds the salt line and nothing else (the shipped files quote
    # their plain values as the CLI writes them).
    checkout.ok("pulumi", "stack", "init", "dev")
    (salt,) = checkout.diff()["Pulumi.dev.yaml"]
    assert salt.startswith("+encryptionsalt: v1:")

    checkout.ok("pulumi", "config", "set", "--stack", "dev", "imagevolume:podReadyTimeout", "7m")
    checkout.ok(
        "pulumi",
        "config",
        "set",
        "--stack",
        "dev",
        "--secret",
        "imagevolume:podImage",
        "registry.example/app:1",
    )
    stack_file = (checkout.path / "Pulumi.dev.yaml").read_text()
    assert "registry.example" not in stack_file
    assert "  imagevolume:podImage:\n    secure: v1:" in stack_file

    # A second stack, its own file and salt.
    checkout.ok("pulumi", "stack", "init", "containerd")
    checkout.ok("pulumi", "config", "set", "--stack", "containerd", "imagevolume:workers", "2")

    # Every make target that can run without the language host, and the two
    # that stop at it: the secret survives each, and no file changes.
    for target in ("outputs", "refresh", "destroy", "preview", "up"):
        result = checkout.run("make", "-s", target, "YES=1")
        if target in ("preview", "up"):
            assert LANGUAGE_HOST_MISSING in result.stdout + result.stderr, result.stdout + result.stderr
        else:
            assert result.returncode == 0, f"make {target}:\n{result.stdout}\n{result.stderr}"
        assert f"tools: pulumi {PULUMI.version}: {CACHE_BIN / 'pulumi'} (on PATH at the pinned version" in (
            result.stderr
        )
        assert (checkout.path / "Pulumi.dev.yaml").read_text() == stack_file, target
        shown = checkout.ok("pulumi", "config", "get", "--stack", "dev", "imagevolume:podImage")
        assert shown.strip() == "registry.example/app:1"
    assert checkout.run("make", "-s", "destroy", "STACK=containerd", "YES=1").returncode == 0

    # git shows what the user set, and nothing else: no state, no copies.
    changed = checkout.diff()
    assert sorted(changed) == ["Pulumi.containerd.yaml", "Pulumi.dev.yaml"]
    masked = sorted(
        re.sub(r"(secure|encryptionsalt): v1:\S+", r"\1: v1:...", line) for line in changed["Pulumi.dev.yaml"]
    )
    assert masked == sorted(
        [
            "-  imagevolume:podImage: registry.k8s.io/e2e-test-images/echoserver:2.3",
            "+  imagevolume:podImage:",
            "+    secure: v1:...",
            "+  imagevolume:podReadyTimeout: 7m",
            "+encryptionsalt: v1:...",
        ]
    )
    assert [
        line for line in changed["Pulumi.containerd.yaml"] if not line.startswith("+encryptionsalt:")
    ] == [
        '-  imagevolume:workers: "1"',
        '+  imagevolume:workers: "2"',
    ]
    assert not (checkout.path / ".pulumi").exists()
    listed = checkout.ok("pulumi", "stack", "ls")
    assert {line.split()[0].rstrip("*") for line in listed.splitlines()[1:]} == {"dev", "containerd"}


def test_a_mistyped_stack_makes_nothing(checkout: Checkout) -> None:
    checkout.login()
    result = checkout.run("make", "-s", "up", "STACK=contianerd", "YES=1")
    assert result.returncode != 0
    assert "there is no stack contianerd and no Pulumi.contianerd.yaml" in result.stderr
    assert checkout.ok("pulumi", "stack", "ls").splitlines()[1:] == []
    assert checkout.diff() == {}


def test_with_no_pulumi_the_error_names_the_mirror_variable(checkout: Checkout) -> None:
    result = checkout.run("make", "-s", "preview", PATH="/usr/local/bin:/usr/bin:/bin")
    assert result.returncode != 0
    assert "set IMAGEVOLUME_TOOLS_MIRROR=<base URL>" in result.stderr
    assert f"install pulumi {PULUMI.version} yourself and put it on PATH" in result.stderr
    assert not (checkout.path / ".tools" / "bin" / "pulumi").exists()


def test_state_from_the_old_in_checkout_backend_moves_with_the_printed_commands(checkout: Checkout) -> None:
    """A stack an earlier version of make kept in .pulumi/ (its own file
    backend, a generated passphrase, the salt in .pulumi/config/): make stops
    and prints the commands, and running them as printed moves the stack,
    while the user's own PULUMI_CONFIG_PASSPHRASE stays exported."""
    old = checkout.path / ".pulumi"
    config = old / "config"
    config.mkdir(parents=True)
    (old / "passphrase").write_text("old-generated-passphrase")
    shutil.copy(checkout.path / "Pulumi.yaml", config)
    old_env: dict[str, str | None] = {
        "PULUMI_BACKEND_URL": f"file://{old}",
        "PULUMI_CONFIG_PASSPHRASE": None,
        "PULUMI_CONFIG_PASSPHRASE_FILE": str(old / "passphrase"),
    }
    checkout.ok("pulumi", "--cwd", str(config), "stack", "init", "dev", **old_env)
    # A secret output in its state, as an up would leave the kubeconfig: the
    # deployment's secret form with a plaintext, which import encrypts
    # (pulumi sdk/go/common/apitype: the secret signature key and value).
    pulumi_old = ["pulumi", "--cwd", str(config), "stack"]
    exported = json.loads(checkout.ok(*pulumi_old, "export", "--stack", "dev", **old_env))
    exported["deployment"]["resources"] = [
        {
            "urn": "urn:pulumi:dev::imagevolume::pulumi:pulumi:Stack::imagevolume-dev",
            "custom": False,
            "type": "pulumi:pulumi:Stack",
            "outputs": {
                "kubeconfig": {
                    "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                    "plaintext": json.dumps("apiVersion: v1  # the old stack's"),
                }
            },
        }
    ]
    (config / "crafted.json").write_text(json.dumps(exported))
    checkout.ok(*pulumi_old, "import", "--stack", "dev", "--file", "crafted.json", **old_env)

    checkout.login()
    result = checkout.run("make", "-s", "up", "YES=1")
    assert result.returncode != 0
    assert "stack dev has state in this checkout's .pulumi/" in result.stderr
    (command,) = [line.strip() for line in result.stderr.splitlines() if line.startswith("  ")]
    assert command == "python3 scripts/move_state.py dev"
    completed = checkout.run("bash", "-c", command)  # with the user's own PULUMI_CONFIG_PASSPHRASE exported
    assert completed.returncode == 0, f"{command}\n{completed.stdout}\n{completed.stderr}"
    changed = checkout.diff()
    assert list(changed) == ["Pulumi.dev.yaml"] and len(changed["Pulumi.dev.yaml"]) == 1
    assert changed["Pulumi.dev.yaml"][0].startswith("+encryptionsalt: v1:")  # the new stack's salt alone
    listed = checkout.ok("pulumi", "stack", "ls")
    assert [line.split()[0].rstrip("*") for line in listed.splitlines()[1:]] == ["dev"]
    stacks = checkout.path / ".pulumi" / ".pulumi" / "stacks" / "imagevolume"
    assert (stacks / "dev.json.moved").is_file() and not (stacks / "dev.json").exists()
    moved = checkout.ok("pulumi", "stack", "output", "--stack", "dev", "kubeconfig", "--show-secrets")
    assert moved.strip() == "apiVersion: v1  # the old stack's"
    assert json.loads(checkout.ok("make", "-s", "outputs")) == {"kubeconfig": "[secret]"}
