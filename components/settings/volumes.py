"""The pod's image volumes (volumes): each one's fields, its reference or source folder."""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.content import ContentError, describe
from components.settings.grammar import is_dns1123_label, mount_path_refusal, parse_image_reference
from components.settings.model import WALKTHROUGH_ARTIFACT, ImageVolume, SourceFolder
from components.settings.problems import NAMESPACE, rm_command, set_command
from components.settings.reader import (
    INVALID,
    Explain,
    Reader,
    did_you_mean,
    explain_reference,
    is_image_reference,
    one_of,
)
from components.settings.registry import REGISTRY_EXAMPLE

WALKTHROUGH_V1 = f"{WALKTHROUGH_ARTIFACT}:v1"
WALKTHROUGH_V2 = f"{WALKTHROUGH_ARTIFACT}:v2"
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
VOLUMES_MAX = 20
VOLUME_KEYS = ("name", "reference", "source", "pullPolicy", "mountPath", "subPath")
SOURCE_EXAMPLE = "examples/content"


def default_volume(runtime: str | None) -> dict[str, str]:
    """The walkthrough's volume: :v1 as upstream on CRI-O, :v2 wherever containerd
    may run (runtime containerd, or None: an existing cluster)."""
    return {
        "name": "volume",
        "reference": WALKTHROUGH_V1 if runtime == "crio" else WALKTHROUGH_V2,
        "pullPolicy": "IfNotPresent",
        "mountPath": "/volume",
    }


def default_pull_policy(reference: str) -> str:
    """Kubernetes' default for an image volume: Always for :latest or no tag."""
    parsed = parse_image_reference(reference)
    if parsed is None or parsed.digest is not None:
        return "IfNotPresent"
    return "Always" if parsed.tag in (None, "latest") else "IfNotPresent"


def _is_sub_path(value: str) -> bool:
    # Kubernetes' validateLocalDescendingPath: relative, no ".." element.
    return value != "" and "\0" not in value and not value.startswith("/") and ".." not in value.split("/")


def _is_mount_path(value: str) -> bool:
    return mount_path_refusal(value) is None


def _explain_mount_path(value: str) -> tuple[str, str | None] | None:
    refusal = mount_path_refusal(value)
    if refusal is None:
        return None
    if refusal.reason.startswith("is refused"):
        return (
            f"{refusal.reason}; mount an image volume at a folder of its own, such as /volume or /etc/myapp",
            None,
        )
    return refusal.reason, refusal.suggestion


_REFERENCE_ALLOWED = "must be an OCI image reference such as quay.io/crio/artifact:v1"

# field: (required, valid, what is allowed, an example value, details of a refusal)
_VOLUME_FIELDS: dict[str, tuple[bool, Callable[[str], bool], str, str, Explain | None]] = {
    "name": (
        True,
        is_dns1123_label,
        "must be a DNS-1123 label (lowercase letters, digits, '-', at most 63)",
        "volume",
        None,
    ),
    "reference": (
        False,  # required unless source is given
        is_image_reference,
        _REFERENCE_ALLOWED,
        "quay.io/crio/artifact:v1",
        explain_reference(_REFERENCE_ALLOWED),
    ),
    "source": (
        False,
        lambda value: value.strip() != "",
        "must be the path of a local folder (relative to the project folder, or absolute), built into "
        "an image and pushed to the stack's registry",
        SOURCE_EXAMPLE,
        None,
    ),
    "pullPolicy": (
        False,
        one_of(PULL_POLICIES),
        f"must be one of {', '.join(PULL_POLICIES)}",
        "IfNotPresent",
        None,
    ),
    "mountPath": (
        True,
        _is_mount_path,
        "must be a canonical absolute path (no //, . or .. components, no trailing /) outside /, "
        "/proc, /sys, /dev, the system directories and the paths kubelet mounts",
        "/volume",
        _explain_mount_path,
    ),
    "subPath": (
        False,
        _is_sub_path,
        "must be a relative path inside the image without '..' elements",
        "dir",
        None,
    ),
}


@dataclass(frozen=True)
class Sources:
    """Where source volumes are built and pushed: the registry host the pods pull
    from (None: there is none, and a source is refused), the project folder
    relative sources start from, and the digest cache."""

    registry: str | None
    project_dir: Path
    cache_dir: Path | None


def _overlaps(folder: str, protected: list[Path]) -> bool:
    """Whether `folder` is one of `protected`, inside one, or holds one (real paths)."""
    real = os.path.realpath(folder)
    for other in protected:
        mine = os.path.realpath(other)
        if os.path.commonpath([real, mine]) in (real, mine):
            return True
    return False


def _source(reader: Reader, at: str, given: str, name: str, sources: Sources) -> SourceFolder | None:
    path = f"{at}.source"
    if sources.registry is None:
        if "registry" in reader.raw:
            return None  # a registry was given, and refused: that problem is reported
        reader.problem(
            path,
            given,
            f"needs {NAMESPACE}:registry when clusterMode is existing: a registry the cluster pulls from, "
            "where the folder is pushed (only a kind cluster gets a registry of its own)",
            set_command("registry", REGISTRY_EXAMPLE),
        )
        return None
    folder = os.path.normpath(os.path.join(sources.project_dir, os.path.expanduser(given)))
    if _overlaps(
        folder, [sources.project_dir / ".pulumi", *([sources.cache_dir] if sources.cache_dir else [])]
    ):
        reader.problem(
            path,
            given,
            "must not be, hold or be inside the project's .pulumi folder: it holds the stack state, the "
            "passphrase and the digest cache, which the image would carry (and change on every run)",
            set_command(path, SOURCE_EXAMPLE),
        )
        return None
    try:
        content = describe(Path(folder), sources.cache_dir)
    except ContentError as error:
        why = "it cannot be built into an image" if reader.is_secret(path) else str(error)
        reader.problem(
            path,
            given,
            f"must be a folder that can be built into an image (relative to the project folder "
            f"{sources.project_dir}, or absolute): {why}",
            set_command(path, SOURCE_EXAMPLE),
        )
        return None
    return SourceFolder(given=given, path=folder, content=content, repository=f"{sources.registry}/{name}")


def _reference_or_source(reader: Reader, at: str, item: dict[str, Any]) -> bool:
    """Exactly one of reference and source; False (and a Problem) for both."""
    if item.get("reference") is not None and item.get("source") is not None:
        reader.problem(
            f"{at}.source",
            item["source"],
            "a volume has either a reference (an image in a registry) or a source (a local folder), not both",
            rm_command(f"{at}.reference"),
        )
        return False
    if item.get("reference") is None and item.get("source") is None:
        reader.problem(
            f"{at}.reference",
            None,
            f"is required unless source is given; {_REFERENCE_ALLOWED}, or give source: a local folder",
            set_command(f"{at}.reference", "quay.io/crio/artifact:v1"),
        )
    return True


def _sub_path_in_source(reader: Reader, at: str, sub_path: str, source: SourceFolder) -> None:
    """A source volume's subPath names a file of the folder or a folder holding one:
    anything else would mount nothing, and the content proof would have nothing to prove."""
    sub = posixpath.normpath(sub_path)
    if sub == "." or any(f.path == sub or f.path.startswith(sub + "/") for f in source.content.files):
        return
    reader.problem(
        f"{at}.subPath",
        sub_path,
        "names nothing in the folder: a subPath of a source volume is a file of the folder, or a folder "
        "in it that holds a regular file",
        rm_command(f"{at}.subPath"),
    )


def _volume_fields(reader: Reader, at: str, item: dict[str, Any]) -> dict[str, str | None]:
    """Each field's value, None where it is missing or refused (and a Problem)."""
    fields: dict[str, str | None] = {}
    for key, (required, valid, allowed, example, explain) in _VOLUME_FIELDS.items():
        value = item.get(key)
        fields[key] = None
        path = f"{at}.{key}"
        if value is None:
            if required:
                reader.problem(path, None, f"is required; {allowed}", set_command(path, example))
        elif not isinstance(value, str):
            reader.problem(path, value, allowed, set_command(path, example))
        elif not valid(value):
            detail = explain(value) if explain else None
            if detail is None:
                reader.problem(path, value, allowed, set_command(path, example))
            elif reader.is_secret(path):  # the details would show the value
                reader.problem(path, value, allowed, f"{set_command(path, 'VALUE')} --secret")
            else:
                why, suggestion = detail
                reader.problem(path, value, why, set_command(path, suggestion or example))
        else:
            fields[key] = value
    return fields


def _volume(reader: Reader, index: int, item: object, sources: Sources) -> ImageVolume | None:
    at = f"volumes[{index}]"
    if not isinstance(item, dict):
        reader.problem(
            at,
            item,
            "each volume must be an object {name, reference or source, pullPolicy, mountPath, subPath?}",
            set_command(f"{at}.name", "volume"),
        )
        return None
    for key in sorted(set(item) - set(VOLUME_KEYS)):
        guess = did_you_mean(key, VOLUME_KEYS)
        hint = f"; did you mean {guess}?" if guess else ""
        reader.problem(
            f"{at}.{key}",
            item[key],
            f"is not a volume field{hint} (fields: {', '.join(VOLUME_KEYS)})",
            rm_command(f"{at}.{key}"),
        )
    fields = _volume_fields(reader, at, item)
    if not _reference_or_source(reader, at, item):
        return None
    name, reference, mount_path = fields["name"], fields["reference"], fields["mountPath"]
    source = None
    if name is not None and fields["source"] is not None:
        source = _source(reader, at, fields["source"], name, sources)
        reference = source.reference if source else None
        if source is not None and fields["subPath"] is not None:
            _sub_path_in_source(reader, at, fields["subPath"], source)
    if name is None or reference is None or mount_path is None:
        return None
    return ImageVolume(
        name=name,
        reference=reference,
        pull_policy=fields["pullPolicy"] or default_pull_policy(reference),
        mount_path=mount_path,
        sub_path=fields["subPath"],
        source=source,
    )


def _unique(reader: Reader, field: str, values: list[tuple[int, str]]) -> None:
    """`values`: (index in the user's list, value), so a problem names the right entry."""
    seen: dict[str, int] = {}
    for index, value in values:
        if value in seen:
            reader.problem(
                f"volumes[{index}].{field}",
                value,
                f"must be unique; volumes[{seen[value]}] has it too",
                set_command(f"volumes[{index}].{field}", f"{value}-2"),
            )
        seen.setdefault(value, index)


def read_volumes(reader: Reader, runtime: str | None, sources: Sources) -> tuple[ImageVolume, ...]:
    if "volumes" not in reader.raw:
        default = _volume(reader, 0, default_volume(runtime), sources)
        assert default is not None
        return (default,)
    example = json.dumps([default_volume(runtime)])
    value = reader.json_value("volumes", "a list of volume objects", example)
    if not isinstance(value, list) or not 1 <= len(value) <= VOLUMES_MAX:
        if value is not INVALID:
            reader.problem(
                "volumes",
                reader.raw["volumes"],
                f"must be a list of 1 to {VOLUMES_MAX} volume objects "
                "{name, reference, pullPolicy, mountPath, subPath?}",
                set_command("volumes", example),
            )
        return ()
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            # `pulumi config set --path 'volumes[0].name'` refuses an item that
            # is no map ("expected a map"): the fix sets the list, this item
            # replaced by the default volume.
            replaced = [default_volume(runtime) if i == index else other for i, other in enumerate(value)]
            reader.problem(
                f"volumes[{index}]",
                item,
                "each volume must be an object {name, reference or source, pullPolicy, mountPath, subPath?}",
                reader.set_fix("volumes", json.dumps(replaced)),
            )
    parsed = [
        (i, v)
        for i, item in enumerate(value)
        if isinstance(item, dict) and (v := _volume(reader, i, item, sources)) is not None
    ]
    _unique(reader, "name", [(i, v.name) for i, v in parsed])
    _unique(reader, "mountPath", [(i, posixpath.normpath(v.mount_path)) for i, v in parsed])
    return tuple(v for _, v in parsed)
