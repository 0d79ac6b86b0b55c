"""Push an image to a registry: blobs (the layer in chunks), both manifests, then the index.

The manifests and the index are PUT as the exact bytes that were hashed (``oras``'
``push()`` would rebuild them and add annotations), so the registry's digest is ours.
Blob uploads use ``oras``' registry client (``upload_blob``: HEAD to skip a blob the
registry has, then POST + PATCH chunks + PUT for the layer, POST + PUT for a config);
manifests go through its ``do_request``.

Scheme: plain HTTP to a loopback host (127.0.0.0/8, localhost, [::1]), HTTPS to any
other host, never plain HTTP there. Certificates are verified as ``requests`` verifies
them: against the PEM bundle that REQUESTS_CA_BUNDLE (else CURL_CA_BUNDLE) names, else
certifi's bundle (SSL_CERT_FILE is not read; to use the system store, set
REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt).

Authentication follows the registry's answer to ``GET /v2/``: 200, none (the docker
config is not read); a ``Basic`` challenge, oras' "basic" backend with the credentials
sent on every request (so no chunk is sent twice); a ``Bearer`` challenge, oras' "token"
backend with one token for ``repository:REPOSITORY:pull,push`` fetched up front with the
credentials (its ``request_token``), and fetched again once when the registry refuses
it (an expired token). oras' ``load_configs`` is not used: it reads only
~/.docker/config.json (not DOCKER_CONFIG), and ``upload_blob`` alone never calls it.
Credentials come from the docker config, read as docker reads it (``docker_credentials``);
a 401 or 403 is "not authorized to push to HOST/REPOSITORY: log in with `docker login
HOST`", naming where the credentials came from (never the credentials themselves).
The client's session refuses plain HTTP to a host that is not loopback, whatever sent
it there (an upload Location, a redirect, a token realm). oras' ``do_request`` retries
any other exception than an SSL or authentication error five times (131 s of sleeps):
a registry that stops answering mid-push fails after that.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import oras.auth  # type: ignore[import-untyped]
import oras.auth.utils  # type: ignore[import-untyped]
import oras.container  # type: ignore[import-untyped]
import oras.provider  # type: ignore[import-untyped]
import requests
import requests.adapters
import urllib3.exceptions

from components.content.builder import build
from components.content.errors import ContentError
from components.content.oci import LAYER_TYPE, Blob
from components.content.target import Target, is_loopback, parse_target

CHUNK_SIZE = 16 << 20
PING_TIMEOUT = 30  # seconds, for GET /v2/ (oras' own requests have no timeout)
# How long a loopback registry may take to listen. `docker run -d` returns when
# the container's process starts; its published port (docker-proxy) accepts
# connections and resets them until the registry listens (seen on dockerd 20.10,
# tests/real/test_push_pull.py), and after a daemon restart the container is
# still starting: the stack's own registry, pushed to right after run.sh.
STARTING_SECONDS = 20.0
HELPER_TIMEOUT = 60  # seconds, for `docker-credential-<helper> get` (it may ask for a passphrase)
_BACKENDS = {"basic": "basic", "bearer": "token"}  # challenge scheme -> oras auth backend


@dataclass(frozen=True)
class Credentials:
    """A user name and password (or access token); neither is ever shown (no repr)."""

    username: str = field(repr=False)
    password: str = field(repr=False)
    source: str  # where they came from, for messages: a config file or a credential helper


def docker_config_path() -> Path:
    """``$DOCKER_CONFIG/config.json`` when DOCKER_CONFIG is set, else ``~/.docker/config.json``."""
    folder = os.environ.get("DOCKER_CONFIG")
    return Path(folder) / "config.json" if folder else Path.home() / ".docker" / "config.json"


def _config_hostname(key: str) -> str:
    """docker's ConvertToHostname: an ``auths`` key without scheme and path."""
    for scheme in ("http://", "https://"):
        if key.startswith(scheme):
            key = key[len(scheme) :]
            break
    return key.partition("/")[0]


def docker_credentials(hostport: str) -> Credentials | None:
    """The credentials docker would use for ``hostport``, or None when it has none.

    As docker reads them: ``credHelpers[hostport]``, else ``credsStore``, asked with
    ``docker-credential-<helper> get`` (``hostport`` on stdin, ``{"Username",
    "Secret"}`` on stdout); when no helper is named, or it has none, ``auths[hostport]``
    (a key may carry a scheme and a path, as docker allows): ``auth``, base64 of
    ``USER:PASSWORD``. A config that cannot be read or a helper that fails is a
    ContentError naming the file or the helper, never a credential.
    """
    path = docker_config_path()
    config = _read_config(path)
    if config is None:
        return None
    helpers = config.get("credHelpers") or {}
    helper = (helpers.get(hostport) if isinstance(helpers, dict) else None) or config.get("credsStore")
    if isinstance(helper, str) and helper:
        found = _from_helper(helper, hostport, path)
        if found is not None:
            return found
    auths = config.get("auths") or {}
    if not isinstance(auths, dict):
        raise ContentError(f"{path}: 'auths' is not a JSON object")
    entry = auths.get(hostport)
    if entry is None:
        entry = next((value for key, value in auths.items() if _config_hostname(key) == hostport), None)
    return _from_auths(entry, f"auths.{hostport} in {path}", hostport) if isinstance(entry, dict) else None


def _read_config(path: Path) -> dict[str, Any] | None:
    """The docker config's JSON object, or None when there is no such file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ContentError(f"{path}: cannot read this docker config ({error.__class__.__name__})") from None
    try:
        config = json.loads(text)
    except ValueError:
        config = None
    if not isinstance(config, dict):
        raise ContentError(f"{path}: this docker config is not a JSON object")
    return config


def _from_auths(entry: dict[str, Any], where: str, hostport: str) -> Credentials | None:
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        username, colon, password = decoded.partition(":")
        if not colon or not username:
            raise ContentError(
                f"{where}: 'auth' is not base64 of USER:PASSWORD; log in again with `docker login {hostport}`"
            )
        return Credentials(username, password, where)
    plain_username, plain_password = entry.get("username"), entry.get("password")
    if isinstance(plain_username, str) and isinstance(plain_password, str) and plain_username:
        return Credentials(plain_username, plain_password, where)
    if entry.get("identitytoken"):
        raise ContentError(
            f"{where} holds an identity token (OAuth), which this push cannot use: "
            f"log in with a user name and a password or access token: `docker login -u USER {hostport}`"
        )
    return None


def _from_helper(helper: str, hostport: str, config: Path) -> Credentials | None:
    binary = f"docker-credential-{helper}"
    try:
        result = subprocess.run(
            [binary, "get"],
            input=hostport,
            capture_output=True,
            text=True,
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise ContentError(
            f"{config} names the credential helper {helper!r} for {hostport}, but {binary} is not on PATH: "
            f"install it, or log in again with `docker login {hostport}`"
        ) from None
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ContentError(f"{binary} get (for {hostport}) failed: {error.__class__.__name__}") from None
    if result.returncode != 0:
        if "credentials not found" in (result.stdout + result.stderr).lower():
            return None
        why = result.stderr.strip().splitlines()[-1:] or [f"exit status {result.returncode}"]
        raise ContentError(f"{binary} get (for {hostport}) failed: {why[0][:200]}")
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("Secret"), str):
        raise ContentError(
            f"{binary} get (for {hostport}) did not print a JSON object with Username and Secret"
        )
    username, secret = answer.get("Username"), answer["Secret"]
    if not secret:
        return None
    if username == "<token>" or not isinstance(username, str) or not username:
        raise ContentError(
            f"{binary} holds an identity token (OAuth) for {hostport}, which this push cannot use: "
            f"log in with a user name and a password or access token: `docker login -u USER {hostport}`"
        )
    return Credentials(username, secret, binary)


class _RefusedError(Exception):
    """The registry answered 401 or 403 to a request that carried what we have."""


class _PlainHTTPRefusedError(ContentError, oras.auth.AuthenticationException):  # type: ignore[misc]
    """Raised inside oras' ``do_request``, whose ``retry`` decorator would retry any other
    exception five times (sleeping 131 s in all) but re-raises AuthenticationException."""


class _LoopbackOnlyHTTP(requests.adapters.HTTPAdapter):
    """Mounted for ``http://`` on every session push uses: a request in plain HTTP to a
    host that is not loopback (a registry's upload Location, a redirect, a token realm)
    is refused before anything is sent."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        if not is_loopback(parts.hostname or ""):
            raise _PlainHTTPRefusedError(
                f"refused to send {request.method} http://{parts.netloc}{parts.path} in plain HTTP: "
                f"{parts.hostname} is not loopback, and only HTTPS is spoken to such a host (the registry "
                "or its token service sent this address; its configuration should name https)"
            )
        return super().send(request, *args, **kwargs)


def _guard(session: requests.Session) -> requests.Session:
    session.mount("http://", _LoopbackOnlyHTTP())
    return session


class _Client(oras.provider.Registry):  # type: ignore[misc]
    """oras' registry client whose ``do_request`` raises _RefusedError on a 401 or 403 that
    its auth backend could not answer, after one ``renew()`` (a new Bearer token)."""

    def __init__(self, target: Target, backend: str) -> None:
        super().__init__(hostname=target.hostport, insecure=target.scheme == "http", auth_backend=backend)
        _guard(self.session)  # shared with the auth backend: token requests go through it too
        self.renew: Callable[[], None] | None = None

    def do_request(  # noqa: PLR0917 (oras' signature: its callers pass these by position)
        self,
        url: str,
        method: str = "GET",
        data: Any = None,
        headers: dict[str, str] | None = None,
        json: Any = None,
        stream: bool = False,
    ) -> Any:
        arguments = {"data": data, "headers": headers, "json": json, "stream": stream}
        response = self._request_once(url, method, **arguments)
        if response.status_code in (401, 403) and self.renew is not None:
            self.renew()
            response = self._request_once(url, method, **arguments)
        if response.status_code in (401, 403):
            raise _RefusedError(f"{method} {url}: {response.status_code}")
        return response

    def _request_once(
        self, url: str, method: str, *, data: Any, headers: dict[str, str] | None, json: Any, stream: bool
    ) -> Any:
        try:
            return super().do_request(url, method, data, dict(headers or {}), json, stream)
        except ValueError as error:  # oras: "Cannot respond to request for authentication."
            if "authentication" in str(error):
                raise _RefusedError(f"{method} {url}") from None
            raise


def _not_authorized(target: Target, credentials: Credentials | None) -> ContentError:
    if credentials is None:
        why = f"there are no credentials for {target.hostport} in {docker_config_path()}"
    else:
        why = f"the registry refused the credentials from {credentials.source}"
    return ContentError(
        f"not authorized to push to {target}: log in with `docker login {target.hostport}` ({why})"
    )


def _first_contact(url: str, target: Target) -> requests.Response:
    """``GET /v2/``; for a loopback registry, refused and reset connections are
    tried again for STARTING_SECONDS (a registry elsewhere fails at once)."""
    deadline = time.monotonic() + (STARTING_SECONDS if is_loopback(target.host) else 0.0)
    while True:
        try:
            return requests.get(url, timeout=PING_TIMEOUT, allow_redirects=False)
        except requests.exceptions.SSLError:
            raise
        except requests.exceptions.ConnectionError as error:
            if time.monotonic() >= deadline:
                if is_loopback(target.host):
                    raise _StillNotListeningError(error, STARTING_SECONDS) from error
                raise
            time.sleep(0.25)


class _StillNotListeningError(requests.exceptions.ConnectionError):
    """A loopback registry that did not listen within ``waited`` seconds."""

    def __init__(self, error: requests.exceptions.ConnectionError, waited: float) -> None:
        super().__init__(*error.args, request=error.request, response=error.response)
        self.waited = waited


def _connect(target: Target) -> tuple[_Client, Credentials | None]:
    """Ask ``GET /v2/`` which authentication the registry wants; a client set up for it."""
    url = f"{target.scheme}://{target.hostport}/v2/"
    response = _first_contact(url, target)
    if response.status_code == 200:
        return _Client(target, "token"), None
    if response.status_code != 401:
        raise ContentError(
            f"{url}: the registry answered {response.status_code} {response.reason} (not 200 or 401): "
            "is this an OCI registry?"
        )
    challenge = response.headers.get("WWW-Authenticate", "")
    scheme = challenge.partition(" ")[0].lower()
    backend = _BACKENDS.get(scheme)
    if backend is None:
        raise ContentError(
            f"{url}: the registry asks for {scheme or 'unnamed'} authentication; "
            "only Basic and Bearer are supported"
        )
    credentials = docker_credentials(target.hostport)
    client = _Client(target, backend)
    if credentials is not None:
        client.auth.set_basic_auth(credentials.username, credentials.password)
    if backend == "basic":
        if credentials is None:
            raise _not_authorized(target, None)
        client.session.auth = (credentials.username, credentials.password)
        if client.session.get(url, timeout=PING_TIMEOUT, verify=True).status_code != 200:
            raise _not_authorized(target, credentials)
        return client, credentials
    wanted = oras.auth.utils.parse_auth_header(challenge)
    wanted.scope = f"repository:{target.repository}:pull,push"

    def renew() -> None:
        token = client.auth.request_token(wanted)
        if not token:
            raise _not_authorized(target, credentials)
        client.auth.set_token_auth(token)

    renew()
    client.renew = renew
    return client, credentials


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what it wraps: causes, contexts, urllib3's ``reason``s and arguments."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args)
        stack.extend(item for item in inner if isinstance(item, BaseException))


def _where(error: requests.exceptions.RequestException, target: Target) -> str:
    request = getattr(error, "request", None)
    url = getattr(request, "url", None)
    return (urlsplit(url).netloc if isinstance(url, str) else "") or target.hostport


def _bundle() -> str:
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if os.environ.get(variable):
            return f"{variable}={os.environ[variable]}"
    return "certifi's bundle, requests' default"


def _tls_message(error: requests.exceptions.SSLError, target: Target) -> str:
    where = _where(error, target)
    causes = list(_causes(error))
    verify = next((cause for cause in causes if isinstance(cause, ssl.SSLCertVerificationError)), None)
    if verify is not None or "CERTIFICATE_VERIFY_FAILED" in str(error):
        reason = getattr(verify, "verify_message", None) or "certificate verify failed"
        return (
            f"the TLS certificate of {where} is not trusted ({reason}; checked against {_bundle()}). "
            f"If {where} is the right registry, trust its CA: put it (PEM) in a bundle and set "
            "REQUESTS_CA_BUNDLE to that file, or add it to the system store (update-ca-certificates) "
            "and set REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt"
        )
    reason = next((str(cause) for cause in causes if isinstance(cause, ssl.SSLError)), str(error))
    return (
        f"TLS with {where} failed ({reason}): pushes to a host that is not loopback use HTTPS only; "
        f"does {where} serve HTTPS?"
    )


def _connection_message(error: requests.exceptions.ConnectionError, target: Target) -> str:
    where = _where(error, target)
    causes = list(_causes(error))
    if any(isinstance(cause, (urllib3.exceptions.NameResolutionError, socket.gaierror)) for cause in causes):
        host = urlsplit(f"//{where}").hostname or where
        return f"cannot resolve the host name {host}: check the registry's name ({where}) and DNS"
    waited = f" (tried for {error.waited:g} s)" if isinstance(error, _StillNotListeningError) else ""
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        return f"no registry answers at {where}: connection refused{waited}"
    deepest = next((cause for cause in reversed(causes) if isinstance(cause, OSError)), error)
    return f"no registry answers at {where}: {deepest}{waited}"


@contextlib.contextmanager
def _network(target: Target) -> Iterator[None]:
    """requests' and urllib3's errors as ContentErrors that name the host and what to do."""
    try:
        yield
    except requests.exceptions.SSLError as error:
        raise ContentError(_tls_message(error, target)) from error
    except requests.exceptions.Timeout as error:
        raise ContentError(
            f"{_where(error, target)} did not answer in time ({error.__class__.__name__})"
        ) from error
    except requests.exceptions.ConnectionError as error:
        raise ContentError(_connection_message(error, target)) from error
    except requests.exceptions.RequestException as error:
        raise ContentError(f"push to {target}: {error}") from error
    except OSError as error:
        if "CA certificate bundle" in str(error):  # requests: REQUESTS_CA_BUNDLE names no file
            raise ContentError(f"push to {target}: {error} ({_bundle()})") from error
        raise


def _check(response: Any, what: str, expected: tuple[int, ...]) -> None:
    status = int(response.status_code)
    if status not in expected:
        raise ContentError(f"{what}: the registry answered {status}: {str(response.text)[:500]}")


def _put_manifest(registry: _Client, container: Any, blob: Blob, what: str) -> None:
    url = f"{registry.prefix}://{container.manifest_url(blob.digest)}"
    response = registry.do_request(url, "PUT", data=blob.data, headers={"Content-Type": blob.media_type})
    _check(response, f"PUT {url} ({what})", (201,))
    echoed = response.headers.get("Docker-Content-Digest")
    if echoed is not None and echoed != blob.digest:
        raise ContentError(f"PUT {url} ({what}): the registry stored {echoed}, not {blob.digest}")


def push(root: Path, target_text: str, chunk_size: int = CHUNK_SIZE) -> str:
    """Build ``root`` and push it; returns ``HOST[:PORT]/REPOSITORY@sha256:...``."""
    target = parse_target(target_text)
    with _network(target):
        registry, credentials = _connect(target)
    with tempfile.TemporaryDirectory(prefix="content-push-") as scratch:
        layer_path = Path(scratch) / "layer.tar"
        with open(layer_path, "wb") as layer_out:
            image = build(root, layer_out)
        container = oras.container.Container("placeholder", registry=target.hostport)
        namespace, _, repository = target.repository.rpartition("/")
        container.namespace, container.repository = namespace or None, repository
        try:
            with _network(target):
                response = registry.upload_blob(
                    str(layer_path),
                    container,
                    {"mediaType": LAYER_TYPE, "digest": image.layer.digest, "size": image.layer.size},
                    do_chunked=True,
                    chunk_size=chunk_size,
                )
                _check(response, f"upload of the layer {image.layer.digest}", (200, 201))
                for number, config in enumerate(image.configs):
                    config_path = Path(scratch) / f"config-{number}.json"
                    config_path.write_bytes(config.data)
                    response = registry.upload_blob(str(config_path), container, config.descriptor())
                    _check(response, f"upload of the config {config.digest}", (200, 201))
                for manifest in image.manifests:
                    _put_manifest(registry, container, manifest, "image manifest")
                _put_manifest(registry, container, image.index, "image index")
        except _RefusedError:
            raise _not_authorized(target, credentials) from None
        except (OSError, ValueError) as error:
            raise ContentError(f"push to {target}: {error}") from error
    return f"{target}@{image.digest}"
