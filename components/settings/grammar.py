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
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"
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
