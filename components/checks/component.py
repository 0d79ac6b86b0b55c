"""VolumeCheck: the walkthrough's checks and a read-only proof per volume,
each run with `kubectl exec` in the pod."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pulumi

from components.kubectl import PodTarget, kubectl_command, printed
from components.settings.model import Check, ImageVolume
from components.shell import ShellScript, beside

CHECK = beside(__file__, "check.sh")
READ_ONLY = beside(__file__, "read_only.sh")
CONTENT = beside(__file__, "content.sh")
# Between the kubeconfig and the expected sums on content.sh's stdin.
SUMS_MARK = "# imagevolume: expected sums"


@dataclass(frozen=True)
class VolumeCheckArgs:
    target: PodTarget
    kubeconfig: pulumi.Input[str]
    # The pod's uid: a new pod (a replaced one) re-runs every check.
    pod_uid: pulumi.Input[str]
    # The checks run after it: the wait for the pod to be Ready.
    ready: pulumi.Resource
    checks: Sequence[Check]
    mount_paths: Sequence[str]
    # The source volumes: every file's bytes are compared in the pod.
    sources: Sequence[ImageVolume] = ()
    pod_image: str = ""
    # Set with --secret: what carries them (environments, outputs) stays secret.
    secret_checks: bool = False
    secret_mounts: bool = False


def canonical_path(path: str) -> str:
    """A path as the kernel prints a mount point: normalised, and a leading
    `//` is `/` (posixpath.normpath keeps it, the kernel does not)."""
    normal = posixpath.normpath(path)
    return "/" + normal.lstrip("/")


def kernel_escaped(path: str) -> str:
    """A path as /proc/mounts writes it: space, tab, newline and backslash as
    octal escapes (linux fs/proc_namespace.c show_vfsmnt, mangle())."""
    return "".join({" ": "\\040", "\t": "\\011", "\n": "\\012", "\\": "\\134"}.get(c, c) for c in path)


def check_environment(argv: Sequence[str], secret: bool = False) -> dict[str, str]:
    """The argv as one variable per word, so no word is ever parsed by a shell;
    a secret one is not repeated in check.sh's messages."""
    words = {f"IMAGEVOLUME_ARG_{index}": word for index, word in enumerate(argv)}
    return {"IMAGEVOLUME_ARGC": str(len(argv)), "IMAGEVOLUME_ARGV_SECRET": "yes" if secret else "no", **words}


def secret_if(secret: bool, value: pulumi.Output[dict[str, str]]) -> pulumi.Output[dict[str, str]]:
    return pulumi.Output.secret(value) if secret else value


def expected_sums(volume: ImageVolume) -> str:
    """content.sh's list: "<sha256>  <path in the container>" per regular file the
    mount shows: with a subPath, those below it, or the one file it names
    (mounted at the mount path itself)."""
    assert volume.source is not None
    mount = canonical_path(volume.mount_path).rstrip("/")
    files = volume.source.content.files
    sub = posixpath.normpath(volume.sub_path) if volume.sub_path else "."
    named = [file for file in files if file.path == sub]
    if named:
        return f"{named[0].sha256}  {mount}\n"
    prefix = "" if sub == "." else sub + "/"
    return "".join(
        f"{file.sha256}  {mount}/{file.path[len(prefix) :]}\n"
        for file in files
        if file.path.startswith(prefix)
    )


def with_sums(sums: str) -> Callable[[str], str]:
    """content.sh's stdin: the kubeconfig, the mark, the expected sums."""
    return lambda kubeconfig: f"{kubeconfig.rstrip()}\n{SUMS_MARK}\n{sums}"


def read_only_environment(mount_path: str) -> dict[str, str]:
    canonical = canonical_path(mount_path)
    return {"IMAGEVOLUME_MOUNT_PATH": canonical, "IMAGEVOLUME_MOUNT_PATH_KERNEL": kernel_escaped(canonical)}


class VolumeCheck(pulumi.ComponentResource):
    """Outputs `verification` (command line -> what it printed), `read_only`
    (mount path -> the refused write and the mount options) and `content`
    (a source volume's mount path -> how many files matched the folder's)."""

    verification: pulumi.Output[dict[str, str]]
    read_only: pulumi.Output[dict[str, str]]
    content: pulumi.Output[dict[str, str]]  # mount path -> "<N> files, all match"

    def __init__(self, name: str, args: VolumeCheckArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imagevolume:index:VolumeCheck", name, None, opts)
        target = args.target.environment()

        def run(
            child: str, script: ShellScript, environment: dict[str, str], secret: bool
        ) -> pulumi.Output[str]:
            command = kubectl_command(
                f"{name}-{child}",
                script,
                environment={**target, **environment},
                kubeconfig=args.kubeconfig,
                pod_uid=args.pod_uid,
                parent=self,
                after=args.ready,
                secret=secret,
            )
            return printed(command)

        outputs = [
            run(
                f"check-{index}", CHECK, check_environment(check.argv, args.secret_checks), args.secret_checks
            )
            for index, check in enumerate(args.checks)
        ]
        lines = [check.command_line for check in args.checks]
        # Keyed by the command lines: a secret check makes the whole map secret.
        self.verification = secret_if(
            args.secret_checks,
            pulumi.Output.all(*outputs).apply(lambda printed: dict(zip(lines, printed, strict=True))),
        )
        probes = [
            run(f"read-only-{index}", READ_ONLY, read_only_environment(path), args.secret_mounts)
            for index, path in enumerate(args.mount_paths)
        ]
        paths = list(args.mount_paths)
        self.read_only = secret_if(
            args.secret_mounts,
            pulumi.Output.all(*probes).apply(lambda printed: dict(zip(paths, printed, strict=True))),
        )
        proofs = []
        for index, volume in enumerate(args.sources):
            assert volume.source is not None
            sums = expected_sums(volume)
            command = kubectl_command(
                f"{name}-content-{index}",
                CONTENT,
                environment={
                    **target,
                    "IMAGEVOLUME_MOUNT_PATH": canonical_path(volume.mount_path),
                    "IMAGEVOLUME_DIGEST": volume.source.content.digest,
                    "IMAGEVOLUME_POD_IMAGE": "[secret]" if args.secret_mounts else args.pod_image,
                    "IMAGEVOLUME_MASKED": "yes" if args.secret_mounts else "no",
                },
                kubeconfig=pulumi.Output.from_input(args.kubeconfig).apply(with_sums(sums)),
                pod_uid=args.pod_uid,
                parent=self,
                after=args.ready,
                secret=args.secret_mounts,
            )
            proofs.append(printed(command))
        content_paths = [volume.mount_path for volume in args.sources]
        self.content = secret_if(
            args.secret_mounts,
            pulumi.Output.all(*proofs).apply(lambda printed: dict(zip(content_paths, printed, strict=True))),
        )
        self.register_outputs(
            {"verification": self.verification, "readOnly": self.read_only, "content": self.content}
        )
