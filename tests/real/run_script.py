"""Run one of the project's .sh files as pulumi-command runs it: /bin/sh -c with
the script's text, its settings in the environment."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from real.docker_engine import DockerEngine

from components.shell import ShellScript

PROJECT = Path(__file__).resolve().parent.parent.parent


def run_script(
    relative: str,
    engine: DockerEngine,
    environment: Mapping[str, str],
    *,
    prefix: Sequence[str] = (),
    timeout: float = 300,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`relative` (e.g. components/registry/run.sh) with `environment` added to
    one whose docker talks to `engine`; `prefix` runs it as another user;
    `stdin` is what the script reads (the kubeconfig, for the pod's scripts)."""
    text = ShellScript(PROJECT / relative).text()
    return subprocess.run(
        [*prefix, "/bin/sh", "-c", text, Path(relative).name],
        env={**engine.environment(), **environment},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
