"""Where a push goes: ``HOST[:PORT]/REPOSITORY``, and which scheme it speaks.

Apart from push.py (and its HTTP clients), so that reading settings can check
a registry the way the push will take it without loading them.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from components.content.errors import ContentError

_REPOSITORY = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*")
_HOSTNAME = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)


@dataclass(frozen=True)
class Target:
    hostport: str  # as in a URL: "127.0.0.1:5000", "[::1]:5000", "registry.example.com"
    repository: str

    def __str__(self) -> str:
        return f"{self.hostport}/{self.repository}"

    @property
    def host(self) -> str:
        if self.hostport.startswith("["):
            return self.hostport[1:].partition("]")[0]
        return self.hostport.partition(":")[0]

    @property
    def scheme(self) -> str:
        """``http`` for a loopback host, else ``https``: nothing else is ever spoken."""
        return "http" if is_loopback(self.host) else "https"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_target(text: str) -> Target:
    """``HOST[:PORT]/REPOSITORY``, or ContentError saying why not."""
    hostport, slash, repository = text.partition("/")
    if not slash or not hostport or not repository:
        raise ContentError(
            f"{text!r}: expected HOST[:PORT]/REPOSITORY, e.g. registry.example.com/team/content"
        )
    if not _REPOSITORY.fullmatch(repository):
        raise ContentError(
            f"{text!r}: {repository!r} is not a repository name (lowercase letters, digits, "
            "separators '.', '_', '__', '-' and '/'; no tag or digest: the digest is printed)"
        )
    if hostport.startswith("["):
        host, bracket, rest = hostport[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
        valid = bool(bracket) and (rest == "" or port is not None) and _is_ipv6(host)
    else:
        host, colon, port_text = hostport.partition(":")
        port = port_text if colon else None
        valid = ":" not in port_text and _HOSTNAME.fullmatch(host) is not None
    if not valid or (port is not None and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ContentError(f"{text!r}: {hostport!r} is not HOST[:PORT]")
    return Target(hostport=hostport, repository=repository)


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True
