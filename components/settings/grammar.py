"""Pure parsers for the small grammars stack config values must follow.

Each returns a parsed value or None; deciding what to tell the user is the
settings module's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Kubernetes IsDNS1123Label / IsDNS1123Subdomain (apimachinery validation.go).
_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL_RE = re.compile(_DNS1123_LABEL)
DNS1123_SUBDOMAIN_RE = re.compile(rf"{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*")
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253


def is_dns1123_label(value: str) -> bool:
    return len(value) <= DNS1123_LABEL_MAX and bool(DNS1123_LABEL_RE.fullmatch(value))


def is_dns1123_subdomain(value: str) -> bool:
    return len(value) <= DNS1123_SUBDOMAIN_MAX and bool(DNS1123_SUBDOMAIN_RE.fullmatch(value))


# The OCI / Docker reference grammar, as in distribution/reference's regexp.go
# (what containerd, CRI-O and kubelet apply to an image reference).
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
# The digests the OCI image spec registers (descriptor.md "Registered
# algorithms"), each with its exact length in lowercase hex, nothing else.
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha512": 128}
_DIGEST = "|".join(f"{algorithm}:[0-9a-f]{{{length}}}" for algorithm, length in DIGEST_HEX_LENGTHS.items())
_DIGEST = f"(?:{_DIGEST})"
_REFERENCE_RE = re.compile(
    rf"(?P<name>(?:(?P<domain>{_DOMAIN})/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?",
    re.ASCII,  # Go's \w is ASCII-only; Python's would accept any letter
)
_NAME_TOTAL_MAX = 255  # distribution/reference: NameTotalLengthMax


@dataclass(frozen=True)
class ImageReference:
    name: str  # registry and repository, e.g. "quay.io/crio/artifact"
    tag: str | None
    digest: str | None


def _is_registry_host(component: str) -> bool:
    # distribution/reference splitDockerDomain: a host has a dot or a port, or
    # is "localhost"; any other first component is part of a Docker Hub path.
    return "." in component or ":" in component or component == "localhost"


def digest_refusal(value: str) -> tuple[str, str | None] | None:
    """Why the digest of reference `value` (after its last "@") is refused, and
    the reference with the digest in lowercase when that is all that is wrong;
    None when there is no digest or it is one of the registered ones."""
    if "@" not in value:
        return None
    head, digest = value.rsplit("@", 1)
    algorithm, _, hex_digits = digest.partition(":")
    if re.fullmatch(_DIGEST, digest):
        return None
    allowed = " or ".join(f"{a}: and {n} lowercase hex digits" for a, n in DIGEST_HEX_LENGTHS.items())
    why = f"its digest must be {allowed} (the OCI registered algorithms)"
    length = DIGEST_HEX_LENGTHS.get(algorithm.lower())
    if length is not None and re.fullmatch(f"[0-9a-fA-F]{{{length}}}", hex_digits):
        return (
            f"{why}; this one has uppercase letters",
            f"{head}@{algorithm.lower()}:{hex_digits.lower()}",
        )
    return why, None


def parse_image_reference(value: str) -> ImageReference | None:
    match = _REFERENCE_RE.fullmatch(value)
    if match is None or len(match["name"]) > _NAME_TOTAL_MAX:
        return None
    domain = match["domain"]
    # A first component without "." or ":" that is not "localhost" is a Docker
    # Hub path component (splitDockerDomain), and those are lowercase.
    if domain and not _is_registry_host(domain) and domain != domain.lower():
        return None
    return ImageReference(name=match["name"], tag=match["tag"], digest=match["digest"])


@dataclass(frozen=True)
class KubernetesVersion:
    major: int
    minor: int
    patch: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    def at_least(self, major: int, minor: int) -> bool:
        return (self.major, self.minor) >= (major, minor)


_VERSION_RE = re.compile(r"v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?")


def parse_kubernetes_version(value: str) -> KubernetesVersion | None:
    """ "1.31", "1.31.0" or "v1.31.0"; pre-release suffixes are not accepted."""
    match = _VERSION_RE.fullmatch(value)
    if match is None:
        return None
    return KubernetesVersion(int(match[1]), int(match[2]), int(match[3] or 0))


_DURATION_PART_RE = re.compile(r"([0-9]+)(h|m|s)")
_DURATION_RE = re.compile(r"(?:[0-9]+(?:h|m|s))+")
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}


def parse_duration_seconds(value: str) -> int | None:
    """A Go-style duration of whole h/m/s parts ("5m", "90s", "1m30s")."""
    if not _DURATION_RE.fullmatch(value):
        return None
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART_RE.findall(value))


# Control characters: C0 (U+0000-U+001F), DEL (U+007F) and C1 (U+0080-U+009F).
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f]")


def utf8_size(value: str) -> int:
    """Bytes in UTF-8; a lone surrogate (possible from a JSON escape) counts 3."""
    return len(value.encode("utf-8", "surrogatepass"))


def control_characters(value: str) -> list[str]:
    """The control characters in `value`, in order (repeats included)."""
    return _CONTROL_RE.findall(value)


def edit_distance(a: str, b: str) -> int:
    """The fewest edits (insert, delete, replace a character, swap two
    neighbours) that turn a into b: the Damerau-Levenshtein distance
    (Lowrance and Wagner's algorithm, where later edits may touch a swap)."""
    far = len(a) + len(b)
    last_row: dict[str, int] = {}  # character -> the last row of a it was in
    # d[i + 1][j + 1]: distance of a[:i] and b[:j]; row and column 0 are "far".
    d = [[far] * (len(b) + 2)] + [[far] + [0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i + 1][1] = i
    for j in range(len(b) + 1):
        d[1][j + 1] = j
    for i in range(1, len(a) + 1):
        last_col = 0  # the last column of b that matched a[i - 1]
        for j in range(1, len(b) + 1):
            k, m = last_row.get(b[j - 1], 0), last_col
            cost = 0 if a[i - 1] == b[j - 1] else 1
            if cost == 0:
                last_col = j
            d[i + 1][j + 1] = min(
                d[i][j] + cost,
                d[i + 1][j] + 1,
                d[i][j + 1] + 1,
                d[k][m] + (i - k - 1) + 1 + (j - m - 1),
            )
        last_row[a[i - 1]] = i
    return d[len(a) + 1][len(b) + 1]


# The feature gates the project knows; a name near one of them is a typo that
# kubeadm would refuse only after the old cluster was deleted to be replaced.
KNOWN_GATES = ("ImageVolume",)
GATE_TYPO_EDITS = 2


def known_gate_typo(name: str) -> str | None:
    """The known gate `name` is probably a misspelling of (one or two edits, or
    another case), or None when it is one exactly or near none."""
    for gate in KNOWN_GATES:
        if name != gate and (name.lower() == gate.lower() or edit_distance(name, gate) <= GATE_TYPO_EDITS):
            return gate
    return None


PATH_MAX_BYTES = 4096  # Linux PATH_MAX
NAME_MAX_BYTES = 255  # Linux NAME_MAX: one component


@dataclass(frozen=True)
class PathRefusal:
    reason: str  # why, in words for the user
    suggestion: str | None = None  # a canonical form that is itself accepted


def canonical_path(value: str) -> str:
    """`value` as an absolute path without empty, "." or ".." components and
    without a trailing "/" (".." taken lexically, as a runtime joins it)."""
    parts: list[str] = []
    for part in value.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/" + "/".join(parts)


_SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
_KUBELET_MOUNTS = {
    "/etc/hosts": "the pod's hosts file",
    "/etc/hostname": "the pod's hostname",
    "/etc/resolv.conf": "the pod's DNS settings",
    "/dev/termination-log": "the container's termination message",
    _SERVICE_ACCOUNT: "the service account token",
}
# kubelet's service account mount, where /var/run is a link to /run (most images).
_SERVICE_ACCOUNT_RUN = "/run/secrets/kubernetes.io/serviceaccount"
_SERVICE_ACCOUNT_RUN_WHY = (
    f"kubelet mounts the service account token at {_SERVICE_ACCOUNT}, which is "
    f"{_SERVICE_ACCOUNT_RUN} where /var/run is a link to /run (most images)"
)
# Trees (the path and everything below it) where a read-only volume would
# hide or break the container: (path, why at it, why below it).
_RESERVED_TREES: tuple[tuple[str, str, str], ...] = (
    *(
        (path, f"kubelet mounts {path} there ({what})", f"it is below {path}, where kubelet mounts {what}")
        for path, what in _KUBELET_MOUNTS.items()
    ),
    (
        _SERVICE_ACCOUNT_RUN,
        _SERVICE_ACCOUNT_RUN_WHY,
        f"it is below {_SERVICE_ACCOUNT_RUN}: {_SERVICE_ACCOUNT_RUN_WHY}",
    ),
    *(
        (path, f"it is {what}", f"it is below {what}")
        for path, what in (
            ("/proc", "the kernel's /proc (process information)"),
            ("/sys", "the kernel's /sys (devices, cgroups)"),
            ("/dev", "/dev, the container's devices"),
        )
    ),
)
_SYSTEM_DIRECTORIES = (
    "/etc",
    "/bin",
    "/sbin",
    "/usr",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libx32",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/run",
    "/var/run",
)
# Parents of the service account mount: kubelet's mount point would have to
# be made inside the read-only volume.
_KUBELET_MOUNT_PARENTS = (
    "/var",
    "/var/run/secrets",
    "/var/run/secrets/kubernetes.io",
    "/run/secrets",
    "/run/secrets/kubernetes.io",
)
# Paths refused themselves (what is below them is fine): path -> why.
_RESERVED_EXACT: dict[str, str] = {
    "/": "it is the container's root",
    **{path: f"it is the system directory {path} (a volume there hides it)" for path in _SYSTEM_DIRECTORIES},
    **{
        path: f"kubelet mounts {_SERVICE_ACCOUNT} below it (the service account token), "
        "which a read-only volume cannot hold"
        for path in _KUBELET_MOUNT_PARENTS
    },
}


def _reserved(path: str) -> str | None:
    """Why canonical `path` is refused, or None."""
    for tree, at, below in _RESERVED_TREES:
        if path == tree:
            return at
        if path.startswith(tree + "/"):
            return below
    return _RESERVED_EXACT.get(path)


def _size_refusal(value: str) -> str | None:
    size = utf8_size(value)
    if size > PATH_MAX_BYTES:
        return f"is {size} bytes (UTF-8); a path is at most {PATH_MAX_BYTES}"
    longest = max(utf8_size(part) for part in value.split("/"))
    if longest > NAME_MAX_BYTES:
        return f"has a component of {longest} bytes (UTF-8); each component is at most {NAME_MAX_BYTES} bytes"
    return None


def _non_canonical(value: str) -> str:
    """What keeps `value` from being canonical, in words."""
    parts = value.split("/")
    found = []
    if not value.startswith("/"):
        found.append("it is relative")
    if "" in parts[1:-1] or value.startswith("//"):
        found.append("it has an empty component (//)")
    if "." in parts:
        found.append("it has a . component")
    if ".." in parts:
        found.append("it has a .. component")
    if len(value) > 1 and value.endswith("/"):
        found.append("ends with /" if found else "it ends with /")
    return " and ".join(found)


def mount_path_refusal(value: str) -> PathRefusal | None:
    """Why `value` cannot be a container mount path, or None when it can.

    Accepted: canonical absolute paths (no empty, "." or ".." components, no
    trailing "/"), at most 4096 bytes and 255 bytes a component, outside the
    kernel's, the system's and kubelet's places (subfolders such as /etc/myapp
    are fine).
    """
    if control_characters(value):
        return PathRefusal("contains control characters")
    if value == "":
        return PathRefusal("is empty; a mount path is an absolute path such as /volume")
    too_long = _size_refusal(value)
    if too_long is not None:
        return PathRefusal(too_long)
    canonical = canonical_path(value)
    why = _reserved(canonical)
    if why is not None:
        written = f" ({value} is {canonical})" if canonical != value else ""
        return PathRefusal(f"is refused{written}: {why}")
    if canonical != value:
        suggestion = canonical if _size_refusal(canonical) is None else None
        return PathRefusal(
            f"is not canonical ({_non_canonical(value)}); the canonical form is {canonical}", suggestion
        )
    return None
