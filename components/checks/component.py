"""VolumeCheck: the walkthrough's checks, run with `kubectl exec` in the pod."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.kubectl import kubectl_command
from components.settings.model import Check
from components.scripts import PodTarget, kubectl_exec_script, read_only_probe_script


@dataclass(frozen=True)
class VolumeCheckArgs:
    target: PodTarget
    kubeconfig: pulumi.Input[str]
    # The pod's uid: a new pod (a replaced one) re-runs every check.
    pod_uid: pulumi.Input[str]
    checks: Sequence[Check]
    mount_paths: Sequence[str]


class VolumeCheck(pulumi.ComponentResource):
    """Outputs `verification` (command line -> what it printed) and `read_only`
    (mount path -> the refused write and the mount options)."""

    verification: pulumi.Output[dict[str, str]]
    read_only: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: VolumeCheckArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imagevolume:index:VolumeCheck", name, None, opts)

        def run(child: str, script: str) -> pulumi.Output[str]:
            return kubectl_command(f"{name}-{child}", script, args.kubeconfig, args.pod_uid, self)

        outputs = [
            run(f"check-{index}", kubectl_exec_script(args.target, check.argv))
            for index, check in enumerate(args.checks)
        ]
        lines = [check.command_line for check in args.checks]
        self.verification = pulumi.Output.all(*outputs).apply(
            lambda printed: dict(zip(lines, printed, strict=True))
        )
        probes = [
            run(f"read-only-{index}", read_only_probe_script(args.target, path))
            for index, path in enumerate(args.mount_paths)
        ]
        paths = list(args.mount_paths)
        self.read_only = pulumi.Output.all(*probes).apply(
            lambda printed: dict(zip(paths, printed, strict=True))
        )
        self.register_outputs({"verification": self.verification, "readOnly": self.read_only})
