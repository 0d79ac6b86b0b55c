"""A local.Command that runs a kubectl script against the pod (pure wiring,
shared by the pod's ready wait and the volume checks)."""

from __future__ import annotations

import pulumi
from pulumi_command import local


def kubectl_command(
    name: str,
    script: str,
    kubeconfig: pulumi.Input[str],
    pod_uid: pulumi.Input[str],
    parent: pulumi.Resource,
) -> pulumi.Output[str]:
    """Run `script` with the kubeconfig on stdin (it reads it into a private temp
    file); re-run it for a new pod. Returns its stdout, not secret."""
    command = local.Command(
        name,
        create=script,
        stdin=kubeconfig,  # secret
        triggers=[pod_uid],
        add_previous_output_in_env=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    # stdout is secret because stdin is; what the script prints is not.
    return pulumi.Output.unsecret(command.stdout)
