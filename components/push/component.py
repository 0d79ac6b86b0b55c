"""FolderPush: a source volume's folder pushed to a registry as the image the
settings built, before the pod that mounts it."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_command import local

from components.content.builder import PROJECT
from components.settings.model import SourceFolder
from components.shell import beside

PUSH = beside(__file__, "push.sh")


def push_environment(source: SourceFolder, target: str) -> dict[str, str]:
    return {
        "IMAGEVOLUME_PYTHON": sys.executable,
        "IMAGEVOLUME_PROJECT": str(PROJECT),
        "IMAGEVOLUME_SOURCE": source.path,
        "IMAGEVOLUME_TARGET": target,
        "IMAGEVOLUME_DIGEST": source.content.digest,
    }


@dataclass(frozen=True)
class FolderPushArgs:
    source: SourceFolder
    # HOST[:PORT]/REPOSITORY as the host reaches the registry.
    target: str
    # The push runs again when one of these changes: a new store (the registry
    # container's id) has none of it.
    store: Sequence[pulumi.Input[str]] = ()
    after: Sequence[pulumi.Resource] = ()
    secret: bool = False


class FolderPush(pulumi.ComponentResource):
    """Pushes on create and whenever the digest or the store is new; a folder
    that changed since evaluation fails the push (the pod would name another digest)."""

    pushed: pulumi.Output[str]
    command: local.Command

    def __init__(self, name: str, args: FolderPushArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imagevolume:index:FolderPush", name, None, opts)
        environment = {
            **PUSH.environment(),
            **push_environment(args.source, args.target),
            "IMAGEVOLUME_MASKED": "yes" if args.secret else "no",
        }
        triggers: list[pulumi.Input[str]] = [args.source.content.digest, args.target, *args.store]
        self.command = local.Command(
            f"{name}-push",
            create=PUSH.command,
            environment=pulumi.Output.secret(environment) if args.secret else environment,
            triggers=pulumi.Output.secret(triggers) if args.secret else triggers,
            logging=local.Logging.STDERR,
            add_previous_output_in_env=False,
            # stdout is target@digest.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(args.after),
                additional_secret_outputs=["stdout"] if args.secret else None,
            ),
        )
        self.pushed = self.command.stdout
        self.register_outputs({"pushed": self.pushed})
