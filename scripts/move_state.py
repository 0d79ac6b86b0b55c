"""Move a stack's state from the backend earlier versions of make kept in the
checkout (.pulumi/, with a generated .pulumi/passphrase) into the backend
your own `pulumi` is logged in to (docs/stack-config.md):

    python3 scripts/move_state.py STACK

1. `pulumi stack export --show-secrets` in the old backend, with its passphrase
   (an exported PULUMI_CONFIG_PASSPHRASE would win over the file: it is left out);
2. `pulumi stack init STACK` in your backend, unless it is there;
3. the export's secrets provider replaced by the new stack's own (`pulumi stack
   import` keeps a deployment's secrets provider for the passphrase kind, pulumi
   pkg/cmd/pulumi/stack/stack_import.go, and encrypting with the old salt and
   your passphrase fails with `incorrect passphrase`);
4. `pulumi stack import`. The plaintext export lives in a private temporary
   folder and is removed whatever happens. The old state file is kept,
   renamed <stack>.json.moved, so that make no longer offers to move it and
   the old backend no longer lists the stack.

Standard library only, with the system python3, like scripts/tools.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OLD_BACKEND = ROOT / ".pulumi"


class MoveError(Exception):
    pass


def pulumi(args: list[str], env: Mapping[str, str]) -> str:
    result = subprocess.run(
        ["pulumi", *args], cwd=ROOT, env=dict(env), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise MoveError(f"pulumi {' '.join(args)} failed:\n{result.stderr.strip()}")
    return result.stdout


def old_env(environ: Mapping[str, str]) -> dict[str, str]:
    env = {**environ, "PULUMI_BACKEND_URL": f"file://{OLD_BACKEND}"}
    passphrase = OLD_BACKEND / "passphrase"
    if passphrase.is_file():
        env.pop("PULUMI_CONFIG_PASSPHRASE", None)
        env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(passphrase)
    return env


def stack_exists(stack: str, env: Mapping[str, str]) -> bool:
    try:
        pulumi(["stack", "output", "--stack", stack, "--json", "--non-interactive"], env)
    except MoveError as error:
        if "no stack named" in str(error):
            return False
        raise
    return True


def old_state_files(stack: str) -> list[Path]:
    """The old backend's state file of the stack (.json, .json.gz or .json.zst: pulumi
    pkg/backend/diy/store.go)."""
    folder = OLD_BACKEND / ".pulumi" / "stacks" / "imagevolume"
    name = stack.rsplit("/", 1)[-1]
    return [
        path
        for path in (folder / f"{name}{ext}" for ext in (".json", ".json.gz", ".json.zst"))
        if path.is_file()
    ]


def move(stack: str, environ: Mapping[str, str]) -> None:
    if not old_state_files(stack):
        raise MoveError(f"stack {stack} has no state in {OLD_BACKEND}: nothing to move")
    with tempfile.TemporaryDirectory(prefix="move-state-") as private:  # mode 0700
        exported = Path(private) / "old.json"
        try:
            pulumi(
                ["stack", "export", "--stack", stack, "--show-secrets", "--file", str(exported)],
                old_env(environ),
            )
        except MoveError as error:
            if "passphrase" not in str(error):
                raise
            raise MoveError(
                f"{error}\nthe old state needs the passphrase it was made with: write it into "
                f"{OLD_BACKEND / 'passphrase'} (mode 0600) and run this again; your own "
                "PULUMI_CONFIG_PASSPHRASE is left for the new stack"
            ) from None
        if not stack_exists(stack, environ):
            pulumi(["stack", "init", stack, "--non-interactive"], environ)
        deployment = json.loads(exported.read_text())
        new = json.loads(pulumi(["stack", "export", "--stack", stack], environ))
        if new["deployment"].get("resources"):
            raise MoveError(f"stack {stack} in your backend already has resources: left both as they are")
        deployment["deployment"]["secrets_providers"] = new["deployment"].get("secrets_providers")
        moved = Path(private) / "moved.json"
        moved.write_text(json.dumps(deployment))
        pulumi(["stack", "import", "--stack", stack, "--file", str(moved)], environ)
    for path in old_state_files(stack):
        path.rename(path.with_name(path.name + ".moved"))
    print(
        f"moved stack {stack} from {OLD_BACKEND} into your backend; the old state file is kept as *.moved",
        file=sys.stderr,
    )


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python3 scripts/move_state.py STACK", file=sys.stderr)
        return 2
    try:
        move(argv[0], os.environ)
    except MoveError as error:
        print(f"move_state: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
