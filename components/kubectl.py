"""A local.Command that runs one of the pod's kubectl scripts (wiring shared
by the pod's ready wait and the volume checks)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_command import local

from components.shell import ShellScript


@dataclass(frozen=True)
class PodTarget:
    """Where `kubectl exec` finds the container."""

    namespace: str
    pod: str
    container: str

    def environment(self) -> dict[str, str]:
        return {
            "IMAGEVOLUME_NAMESPACE": self.namespace,
            "IMAGEVOLUME_POD": self.pod,
            "IMAGEVOLUME_CONTAINER": self.container,
        }


def kubectl_command(
    name: str,
    script: ShellScript,
    *,
    environment: Mapping[str, str],
    kubeconfig: pulumi.Input[str],
    pod_uid: pulumi.Input[str],
    parent: pulumi.Resource,
    after: pulumi.Resource | None = None,
    secret: bool = False,
) -> local.Command:
    """Run `script` with the kubeconfig on stdin (it reads it into a private temp
    file) and `environment`, after `after`; re-run it for a new pod. `secret`:
    the environment carries a value set with --secret."""
    values = {**script.environment(), **environment}
    return local.Command(
        name,
        create=script.command,
        environment=pulumi.Output.secret(values) if secret else values,
        stdin=kubeconfig,  # secret
        triggers=[pod_uid],
        # Never log stdout: pulumi-command reads logged output with a 64 KiB
        # line scanner and blocks forever on a longer line
        # (provider/pkg/provider/util/util.go LogOutput); stdout is the output.
        logging=local.Logging.STDERR,
        add_previous_output_in_env=False,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[after] if after else None),
    )


def printed(command: local.Command) -> pulumi.Output[str]:
    """What a kubectl command printed: not secret. (A secret stdin does not make
    stdout secret: secretness flows only to the output of the same name,
    go-provider ensureDefaultSecrets; unsecret says so for every engine.)"""
    return pulumi.Output.unsecret(command.stdout)
