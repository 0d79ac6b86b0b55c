"""Command line; see the package docstring (``python -m components.content --help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from components.content import __doc__ as usage
from components.content.builder import DEFAULT_CACHE, digest
from components.content.errors import ContentError
from components.content.push import push

PUSH_HELP = """\
Build DIR and push it to HOST[:PORT]/REPOSITORY; print HOST[:PORT]/REPOSITORY@sha256:<64 hex>,
the digest `digest DIR` prints.

HTTPS, the certificate verified, for every host that is not loopback (never plain HTTP
there); plain HTTP to a loopback host (127.0.0.0/8, localhost, [::1]). Certificates are
checked against requests' CA bundle (certifi's), or the PEM file REQUESTS_CA_BUNDLE
names (e.g. /etc/ssl/certs/ca-certificates.crt for the system store, or a private CA).

Credentials, when the registry asks for them (Basic or Bearer), come from the docker
config as docker reads it: $DOCKER_CONFIG/config.json, else ~/.docker/config.json;
credHelpers/credsStore (docker-credential-<helper> get), else auths.<HOST[:PORT]>.auth.
Log in with `docker login HOST[:PORT]`.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m components.content",
        description=usage,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    digest_command = commands.add_parser("digest", help="print the index digest of DIR (no network)")
    digest_command.add_argument("dir", type=Path)
    digest_command.add_argument(
        "--cache", type=Path, default=DEFAULT_CACHE, help="cache folder (default: %(default)s)"
    )
    digest_command.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    push_command = commands.add_parser(
        "push",
        help="push DIR to HOST[:PORT]/REPOSITORY (HTTPS; plain HTTP to a loopback host)",
        description=PUSH_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    push_command.add_argument("dir", type=Path)
    push_command.add_argument("target", metavar="HOST[:PORT]/REPOSITORY")
    arguments = parser.parse_args(argv)
    try:
        if arguments.command == "digest":
            print(digest(arguments.dir, None if arguments.no_cache else arguments.cache))
        else:
            print(push(arguments.dir, arguments.target))
    except ContentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
