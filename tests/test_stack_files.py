"""The shipped stack files, as committed, hold settings only.

Pulumi writes `encryptionsalt:` (and, for other secrets providers,
`secretsprovider:`/`encryptedkey:`) into a stack's config file when the stack
is created, and `secure:` values with `pulumi config set --secret` (pulumi
pkg/cmd/pulumi/stack/secrets.go, io.go SaveProjectStack). In a user's working
copy they are the user's, as in any Pulumi project (docs/stack-config.md);
committed to this repository they would make every other user's first run fail
with `incorrect passphrase`. These tests read what git holds (the index), not
the working copy, so a user's own salt and secrets never fail them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from harness import ROOT


def tracked_stack_files(root: Path) -> dict[str, str]:
    """The git-tracked Pulumi.<stack>.yaml files of a checkout, as the index holds them."""
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--", "Pulumi.*.yaml"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        name: subprocess.run(
            ["git", "-C", str(root), "show", f":{name}"], capture_output=True, text=True, check=True
        ).stdout
        for name in listed.stdout.split("\0")
        if name
    }


def stack_file_problems(name: str, text: str) -> list[str]:
    """What is wrong with a shipped stack file: anything besides its config: block."""
    problems = [
        f"{name}:{number}: {line.split(':', 1)[0]} is the committer's own and must not be committed"
        for number, line in enumerate(text.splitlines(), start=1)
        if line.startswith(("encryptionsalt:", "encryptedkey:", "secretsprovider:"))
    ]
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
        problems.append(f"{name}: has no config: block")
    else:
        if set(document) != {"config"}:
            problems.append(f"{name}: keys besides config: {sorted(set(document) - {'config'})}")
        problems += [
            f"{name}: {key} is a secure: value, readable with one passphrase only"
            for key, value in document["config"].items()
            if has_secure(value)
        ]
    return problems


def has_secure(value: object) -> bool:
    """Whether a config value holds a `pulumi config set --secret` ciphertext."""
    if isinstance(value, dict):
        return "secure" in value or any(has_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(has_secure(v) for v in value)
    return False


def in_git(root: Path) -> bool:
    if shutil.which("git") is None:
        return False
    inside = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--is-inside-work-tree"], capture_output=True, check=False
    )
    return inside.returncode == 0


needs_git = pytest.mark.skipif(
    not in_git(ROOT), reason="the checkout is not a git work tree (or git is missing)"
)


@needs_git
def test_shipped_stack_files_carry_no_salt_and_only_config() -> None:
    files = tracked_stack_files(ROOT)
    assert files, "no tracked Pulumi.<stack>.yaml"
    problems = [problem for name, text in files.items() for problem in stack_file_problems(name, text)]
    assert problems == [], (
        "unstage these lines (git restore --staged, or git add -p): the salt and secure: values are "
        "yours, for your own deployment (docs/stack-config.md):\n" + "\n".join(problems)
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="git is missing")
def test_a_salted_or_extra_key_stack_file_is_caught(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "Pulumi.yaml").write_text("name: imagevolume\n")
    (tmp_path / "Pulumi.good.yaml").write_text("# settings\nconfig:\n  imagevolume:workers: 1\n")
    (tmp_path / "Pulumi.salted.yaml").write_text(
        "encryptionsalt: v1:c2FsdA==:v1:aaaa:bbbb\nconfig:\n  imagevolume:workers: 1\n"
    )
    (tmp_path / "Pulumi.untracked.yaml").write_text("encryptionsalt: v1:x:v1:y:z\nconfig: {}\n")
    (tmp_path / "Pulumi.env.yaml").write_text("environment: [dev]\nconfig:\n  imagevolume:workers: 1\n")
    (tmp_path / "Pulumi.secret.yaml").write_text(
        "config:\n  imagevolume:workers: 1\n  imagevolume:context:\n    secure: v1:abc:def\n"
    )
    subprocess.run(
        [
            "git",
            "-C",
            str(tmp_path),
            "add",
            *("Pulumi.good.yaml", "Pulumi.salted.yaml", "Pulumi.env.yaml", "Pulumi.secret.yaml"),
        ],
        check=True,
    )
    (tmp_path / "Pulumi.good.yaml").write_text("encryptionsalt: v1:mine:v1:a:b\nconfig: {}\n")  # not staged
    files = tracked_stack_files(tmp_path)
    assert sorted(files) == [
        "Pulumi.env.yaml",
        "Pulumi.good.yaml",
        "Pulumi.salted.yaml",
        "Pulumi.secret.yaml",
    ]
    assert {name: stack_file_problems(name, text) for name, text in files.items()} == {
        "Pulumi.good.yaml": [],
        "Pulumi.salted.yaml": [
            "Pulumi.salted.yaml:1: encryptionsalt is the committer's own and must not be committed",
            "Pulumi.salted.yaml: keys besides config: ['encryptionsalt']",
        ],
        "Pulumi.env.yaml": ["Pulumi.env.yaml: keys besides config: ['environment']"],
        "Pulumi.secret.yaml": [
            "Pulumi.secret.yaml: imagevolume:context is a secure: value, readable with one passphrase only"
        ],
    }
