"""components.content push over HTTPS with credentials, against Debian's real
docker-registry (CNCF distribution 2.8) serving TLS with a throwaway CA, behind
htpasswd (Basic) or token (Bearer) authentication.

The registry listens on 127.0.0.1, but push speaks plain HTTP to a loopback host, so
the tests reach it by a name that is not loopback, ``registry.test`` (RFC 6761: never a
real host): a test-only resolver (``socket.getaddrinfo`` patched in this process) maps
``*.test`` to 127.0.0.1 and fails ``*.invalid`` like DNS does. push itself has no test
switch: the scheme, the certificate check (the server certificate is for DNS name
registry.test, verified against REQUESTS_CA_BUNDLE) and the docker config are the real
ones. The Bearer registry trusts a token server run here (JWTs signed RS256 by
``openssl dgst``, the signer's certificate in ``x5c``).

Skipped with a reason when docker-registry or openssl is missing, except under
CI=true, where that fails.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from components.content import ContentError, digest
from components.content.__main__ import main
from components.content.oci import INDEX_TYPE
from components.content.push import Credentials, docker_config_path, docker_credentials, push
from components.content.target import parse_target

NAME = "registry.test"
USER = "pusher-7f3a"
PASSWORD = "s3cret-Pa55-9d1e"  # noqa: S105 (a throwaway test password)
ISSUER = "imagevolume-test-issuer"
HELPER = "imagevolume-test"  # docker-credential-imagevolume-test, written per test
SECRETS = (USER, PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())


# -- the test-only resolver ---------------------------------------------------------------

_real_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, str) and host.endswith(".test"):
        return _real_getaddrinfo("127.0.0.1", port, *args, **kwargs)
    if isinstance(host, str) and host.endswith(".invalid"):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return _real_getaddrinfo(host, port, *args, **kwargs)


@contextmanager
def resolving() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", _getaddrinfo)
        yield


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """*.test resolves to 127.0.0.1; DOCKER_CONFIG is an empty folder; no CA bundle set."""
    folder = tmp_path / "docker-config"
    folder.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "ORAS_USER", "ORAS_PASS"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(socket, "getaddrinfo", _getaddrinfo)
    yield folder


def write_config(folder: Path, config: dict[str, Any]) -> Path:
    path = folder / "config.json"
    path.write_text(json.dumps(config))
    return path


def basic_auths(hostport: str, user: str = USER, password: str = PASSWORD) -> dict[str, Any]:
    return {"auths": {hostport: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}}}


def assert_no_secret(*texts: str, also: tuple[str, ...] = ()) -> None:
    for text in texts:
        for secret in (*SECRETS, *also):
            assert secret not in text, f"a credential leaked into: {text!r}"


# -- tools, certificates, registries ------------------------------------------------------


def _require(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not missing:
        return
    why = f"{', '.join(missing)} not installed (apt-get install {' '.join(missing)})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {why}")
    pytest.skip(why)


def run(*command: str, stdin: bytes | None = None, cwd: Path | None = None) -> bytes:
    result = subprocess.run(command, input=stdin, capture_output=True, check=False, timeout=120, cwd=cwd)
    assert result.returncode == 0, f"{command}: {result.stderr.decode(errors='replace')}"
    return result.stdout


def bcrypt(password: str) -> str:
    """A bcrypt hash for htpasswd: Python's crypt (libxcrypt; 3.11/3.12), else apache2-utils."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # noqa: PLC0415 (deprecated; gone in Python 3.13)
        salt = crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)  # noqa: S324 (bcrypt, what htpasswd needs)
        hashed = crypt.crypt(password, salt)
        if hashed and hashed.startswith("$2"):
            return hashed
    except ImportError:
        pass
    _require("htpasswd")
    return run("htpasswd", "-nbBC", "4", "u", password).decode().strip().partition(":")[2]


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA that signed the registry's certificate
    other_ca: Path  # a CA that did not
    cert: Path  # the registry's: DNS name registry.test
    key: Path
    signer_cert: Path  # the token server's (self-signed, RSA): the registry trusts it
    signer_key: Path


def _ca(folder: Path, name: str) -> tuple[Path, Path]:
    run(
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )  # fmt: skip
    return folder / f"{name}.crt", folder / f"{name}.key"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    _require("docker-registry", "openssl")
    folder = tmp_path_factory.mktemp("pki")
    ca, _ = _ca(folder, "test-ca")
    other_ca, _ = _ca(folder, "other-ca")
    (folder / "server.ext").write_text(
        f"subjectAltName=DNS:{NAME}\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    run(
        "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", f"/CN={NAME}", cwd=folder,
    )  # fmt: skip
    run(
        "openssl", "x509", "-req", "-in", "server.csr", "-CA", "test-ca.crt", "-CAkey", "test-ca.key",
        "-set_serial", "2", "-days", "2", "-extfile", "server.ext", "-out", "server.crt", cwd=folder,
    )  # fmt: skip
    run(
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "signer.key",
        "-out", "signer.crt", "-days", "2", "-subj", "/CN=token-signer", cwd=folder,
    )  # fmt: skip
    return Pki(
        ca,
        other_ca,
        folder / "server.crt",
        folder / "server.key",
        folder / "signer.crt",
        folder / "signer.key",
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_registry(base: Path, pki: Pki, auth: str, advertise: str = "https") -> Iterator[str]:
    """docker-registry on 127.0.0.1 with TLS and ``auth`` (YAML); yields registry.test:PORT.
    Its Location headers name ``advertise``://registry.test:PORT (http.host)."""
    port = _free_port()
    config = base / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {base / 'store'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  host: {advertise}://{NAME}:{port}\n"
        f"  tls:\n    certificate: {pki.cert}\n    key: {pki.key}\n"
        f"auth:\n{auth}"
    )
    log = (base / "registry.log").open("wb")
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        with resolving():
            while True:
                try:
                    answer = requests.get(f"https://{NAME}:{port}/v2/", verify=str(pki.ca), timeout=2)
                    assert answer.status_code == 401, answer.text
                    break
                except requests.exceptions.ConnectionError as error:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"docker-registry did not start: {(base / 'registry.log').read_text()}"
                        ) from error
                    time.sleep(0.1)
        yield f"{NAME}:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def htpasswd(base: Path) -> str:
    (base / "htpasswd").write_text(f"{USER}:{bcrypt(PASSWORD)}\n")
    return f"  htpasswd:\n    realm: imagevolume-test\n    path: {base / 'htpasswd'}\n"


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[str]:
    base = tmp_path_factory.mktemp("basic-registry")
    with serve_registry(base, pki, htpasswd(base)) as hostport:
        yield hostport


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenServer:
    """A Docker token server: Basic USER:PASSWORD in, a JWT granting the scope asked for out."""

    pki: Pki
    service: str = NAME
    url: str = ""
    scopes: list[str] = field(default_factory=list)  # what each token was asked for
    tokens: list[str] = field(default_factory=list)
    expired_first: bool = False  # the next token is already expired (then a valid one)
    read_only: tuple[str, ...] = ("readonly",)  # repositories granted "pull" only

    def issue(self, scope: str) -> str:
        now = int(time.time())
        expired = self.expired_first and not self.tokens
        access = []
        if scope:
            kind, name, actions = scope.split(":")
            granted = ["pull"] if name in self.read_only else actions.split(",")
            access = [{"type": kind, "name": name, "actions": granted}]
        der = ssl.PEM_cert_to_DER_cert(self.pki.signer_cert.read_text())
        header = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(der).decode()]}
        claims = {
            "iss": ISSUER, "sub": USER, "aud": self.service, "jti": uuid.uuid4().hex, "iat": now,
            "nbf": now - 7200 if expired else now - 10, "exp": now - 3600 if expired else now + 300,
            "access": access,
        }  # fmt: skip
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = run(
            "openssl", "dgst", "-sha256", "-sign", str(self.pki.signer_key), stdin=signing_input.encode()
        )
        token = f"{signing_input}.{_b64url(signature)}"
        self.scopes.append(scope)
        self.tokens.append(token)
        return token


@contextmanager
def serve_tokens(server: TokenServer) -> Iterator[TokenServer]:
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            if self.headers.get("Authorization") != expected or query.get("service") != [server.service]:
                self.send_response(401)
                self.end_headers()
                return
            token = server.issue(" ".join(query.get("scope", [])))
            body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}/token"
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[tuple[str, TokenServer]]:
    base = tmp_path_factory.mktemp("token-registry")
    with (
        serve_tokens(TokenServer(pki)) as tokens,
        serve_registry(base, pki, token_auth(tokens.url, pki)) as hostport,
    ):
        yield hostport, tokens


def token_auth(realm: str, pki: Pki) -> str:
    return (
        f"  token:\n    realm: {realm}\n    service: {NAME}\n    issuer: {ISSUER}\n"
        f"    rootcertbundle: {pki.signer_cert}\n"
    )


@pytest.fixture
def trusted(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca))
    return pki.ca


def make_tree(root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "bin/tool").write_bytes(b"#!/bin/sh\necho tool\n")
    (root / "bin/tool").chmod(0o750)
    (root / "data").mkdir()
    (root / "data/weights.bin").write_bytes(os.urandom(2 * 1024 * 1024 + 5))  # three 1 MiB chunks
    return root


def fetch_index(hostport: str, repository: str, reference: str, ca: Path, auth: Any) -> bytes:
    response = requests.get(
        f"https://{hostport}/v2/{repository}/manifests/{reference}",
        headers={"Accept": INDEX_TYPE, **auth}, verify=str(ca), timeout=30,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return response.content


def basic_header() -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}


def helper_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, known: str) -> Path:
    """docker-credential-imagevolume-test: USER/PASSWORD for ``known``; records what it was asked."""
    folder = tmp_path / "helper-bin"
    folder.mkdir()
    asked = tmp_path / "helper-asked"
    script = folder / f"docker-credential-{HELPER}"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"if sys.argv[1:] != ['get']: sys.exit(2)\n"
        "host = sys.stdin.read()\n"
        f"open({str(asked)!r}, 'a').write(host + '\\n')\n"
        f"if host != {known!r}:\n"
        "    print('credentials not found in native keychain'); sys.exit(1)\n"
        f"print(json.dumps({{'ServerURL': host, 'Username': {USER!r}, 'Secret': {PASSWORD!r}}}))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return asked


# -- pushes ---------------------------------------------------------------------------------


def test_basic_push_with_docker_config_credentials(
    basic_registry: str, trusted: Path, isolated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert parse_target(f"{basic_registry}/team/app").scheme == "https"
    write_config(isolated, basic_auths(basic_registry))
    root = make_tree(tmp_path / "folder")
    expected = digest(root, None)
    reference = push(root, f"{basic_registry}/team/app", chunk_size=1 << 20)
    assert reference == f"{basic_registry}/team/app@{expected}"
    raw = fetch_index(basic_registry, "team/app", expected, trusted, basic_header())
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == expected, "the registry holds our bytes"
    anonymous = requests.get(
        f"https://{basic_registry}/v2/team/app/manifests/{expected}", verify=str(trusted), timeout=30
    )
    assert anonymous.status_code == 401, "the registry really asks for credentials"
    assert push(root, f"{basic_registry}/team/app") == reference, "a second push changes nothing"
    assert main(["push", str(root), f"{basic_registry}/cli"]) == 0
    assert capsys.readouterr().out.strip() == f"{basic_registry}/cli@{expected}"


@pytest.mark.usefixtures("trusted")
@pytest.mark.parametrize("key", ["credHelpers", "credsStore"])
def test_basic_push_with_a_credential_helper(
    basic_registry: str, isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    asked = helper_on_path(tmp_path, monkeypatch, basic_registry)
    write_config(
        isolated, {"credHelpers": {basic_registry: HELPER}} if key == "credHelpers" else {key: HELPER}
    )
    root = make_tree(tmp_path / "folder")
    reference = push(root, f"{basic_registry}/helped")
    assert reference == f"{basic_registry}/helped@{digest(root, None)}"
    assert asked.read_text().splitlines() == [basic_registry]


@pytest.fixture
def outputs(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Callable[[], str]:
    """All this test printed so far (file descriptors 1 and 2, and every log record)."""

    def read() -> str:
        printed = capfd.readouterr()
        return "\n".join((printed.out, printed.err, caplog.text))

    return read


@pytest.mark.usefixtures("trusted")
@pytest.mark.parametrize("credentials", ["none", "wrong"])
def test_basic_push_not_authorized(
    basic_registry: str, isolated: Path, tmp_path: Path, credentials: str, outputs: Callable[[], str]
) -> None:
    wrong = PASSWORD[::-1]
    if credentials == "wrong":
        write_config(isolated, basic_auths(basic_registry, password=wrong))
    root = make_tree(tmp_path / "folder")
    with pytest.raises(ContentError) as caught:
        push(root, f"{basic_registry}/team/app")
    message = str(caught.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ContentError, match=r"^not authorized"):
        push(tmp_path / "empty", f"{basic_registry}/team/app")  # asked before the folder is read
    assert message.startswith(
        f"not authorized to push to {basic_registry}/team/app: log in with `docker login {basic_registry}`"
    )
    assert ("no credentials" in message) == (credentials == "none")
    assert str(isolated / "config.json") in message
    assert main(["push", str(root), f"{basic_registry}/team/app"]) == 1
    printed = outputs()
    assert f"error: {message}" in printed
    assert_no_secret(message, printed, also=(wrong, base64.b64encode(f"{USER}:{wrong}".encode()).decode()))


def test_bearer_push_with_docker_config_credentials(
    token_registry: tuple[str, TokenServer], trusted: Path, isolated: Path, tmp_path: Path
) -> None:
    hostport, tokens = token_registry
    tokens.scopes.clear()
    tokens.tokens.clear()
    write_config(isolated, basic_auths(hostport))
    root = make_tree(tmp_path / "folder")
    expected = digest(root, None)
    assert push(root, f"{hostport}/team/bearer", chunk_size=1 << 20) == f"{hostport}/team/bearer@{expected}"
    assert tokens.scopes == ["repository:team/bearer:pull,push"], "one token, for push, fetched up front"
    bearer = {"Authorization": f"Bearer {tokens.tokens[-1]}"}
    raw = fetch_index(hostport, "team/bearer", expected, trusted, bearer)
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == expected


@pytest.mark.usefixtures("trusted")
def test_bearer_push_renews_a_refused_token(
    token_registry: tuple[str, TokenServer], isolated: Path, tmp_path: Path
) -> None:
    hostport, tokens = token_registry
    tokens.scopes.clear()
    tokens.tokens.clear()
    tokens.expired_first = True
    try:
        write_config(isolated, basic_auths(hostport))
        root = make_tree(tmp_path / "folder")
        assert push(root, f"{hostport}/renewed") == f"{hostport}/renewed@{digest(root, None)}"
    finally:
        tokens.expired_first = False
    assert tokens.scopes == ["repository:renewed:pull,push"] * 2, "the expired token was replaced once"


@pytest.mark.usefixtures("trusted")
@pytest.mark.parametrize("credentials", ["none", "wrong"])
def test_bearer_push_not_authorized(
    token_registry: tuple[str, TokenServer],
    isolated: Path,
    tmp_path: Path,
    credentials: str,
    outputs: Callable[[], str],
) -> None:
    hostport, tokens = token_registry
    wrong = USER.upper()
    if credentials == "wrong":
        write_config(isolated, basic_auths(hostport, user=wrong))
    with pytest.raises(ContentError) as caught:
        push(make_tree(tmp_path / "folder"), f"{hostport}/team/app")
    message = str(caught.value)
    assert message.startswith(
        f"not authorized to push to {hostport}/team/app: log in with `docker login {hostport}`"
    )
    assert ("no credentials" in message) == (credentials == "none")
    also = (wrong, base64.b64encode(f"{wrong}:{PASSWORD}".encode()).decode(), *tokens.tokens)
    assert_no_secret(message, outputs(), also=also)


@pytest.mark.usefixtures("trusted")
def test_bearer_push_refused_midway(
    token_registry: tuple[str, TokenServer], isolated: Path, tmp_path: Path, outputs: Callable[[], str]
) -> None:
    """A token that may pull but not push: the registry refuses the upload, after a renewal."""
    hostport, tokens = token_registry
    tokens.scopes.clear()
    tokens.tokens.clear()
    write_config(isolated, basic_auths(hostport))
    with pytest.raises(ContentError) as caught:
        push(make_tree(tmp_path / "folder"), f"{hostport}/readonly")
    message = str(caught.value)
    assert message == (
        f"not authorized to push to {hostport}/readonly: log in with `docker login {hostport}` "
        f"(the registry refused the credentials from auths.{hostport} in {isolated / 'config.json'})"
    )
    assert tokens.scopes == ["repository:readonly:pull,push"] * 2, "renewed once, then refused"
    assert_no_secret(message, outputs(), also=tuple(tokens.tokens))


@pytest.mark.usefixtures("trusted")
def test_plain_http_upload_location_is_refused(
    pki: Pki, isolated: Path, tmp_path: Path, outputs: Callable[[], str]
) -> None:
    """A registry (behind TLS) that names http:// upload URLs: push sends nothing there."""
    base = tmp_path / "registry"
    base.mkdir()
    with serve_registry(base, pki, htpasswd(base), advertise="http") as hostport:
        write_config(isolated, basic_auths(hostport))
        root = make_tree(tmp_path / "folder")
        started = time.monotonic()
        with pytest.raises(ContentError) as caught:
            push(root, f"{hostport}/team/app")
        assert time.monotonic() - started < 60, "refused at once, not retried by oras (131 s of sleeps)"
    message = str(caught.value)
    assert message.startswith(f"refused to send PATCH http://{hostport}/v2/team/app/blobs/uploads/"), message
    assert f"{NAME} is not loopback, and only HTTPS is spoken to such a host" in message
    assert_no_secret(message, outputs())


@pytest.mark.usefixtures("trusted")
def test_plain_http_token_realm_is_refused(pki: Pki, isolated: Path, tmp_path: Path) -> None:
    """A Bearer registry whose token service is plain HTTP on a host that is not loopback:
    the credentials are not sent there."""
    base = tmp_path / "registry"
    base.mkdir()
    with serve_tokens(TokenServer(pki)) as tokens:
        realm = tokens.url.replace("127.0.0.1", "tokens.test")
        with serve_registry(base, pki, token_auth(realm, pki)) as hostport:
            write_config(isolated, basic_auths(hostport))
            with pytest.raises(
                ContentError, match=r"refused to send GET http://tokens\.test:\d+/token in plain HTTP"
            ):
                push(make_tree(tmp_path / "folder"), f"{hostport}/team/app")
    assert tokens.scopes == [], "the token service was not asked"


@pytest.mark.parametrize("bundle", ["unset", "other CA"])
def test_untrusted_certificate(
    basic_registry: str, pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bundle: str
) -> None:
    if bundle == "other CA":
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.other_ca))
    with pytest.raises(ContentError) as caught:
        push(make_tree(tmp_path / "folder"), f"{basic_registry}/team/app")
    message = str(caught.value)
    assert f"the TLS certificate of {basic_registry} is not trusted" in message
    assert "REQUESTS_CA_BUNDLE" in message and "update-ca-certificates" in message
    assert (str(pki.other_ca) in message) == (bundle == "other CA"), "names the bundle it checked against"


def test_certificate_for_another_name(basic_registry: str, trusted: Path, tmp_path: Path) -> None:
    other = basic_registry.replace(NAME, "other.test")
    with pytest.raises(ContentError, match=rf"certificate of {other} is not trusted \(Hostname mismatch"):
        push(make_tree(tmp_path / "folder"), f"{other}/team/app")


@contextmanager
def plain_http_registry() -> Iterator[tuple[int, list[str]]]:
    """Answers 200 to GET /v2/ over plain HTTP; yields its port and the paths it was asked for."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1]), asked
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def test_never_plain_http_to_a_remote_host(tmp_path: Path) -> None:
    with plain_http_registry() as (port, asked):
        with pytest.raises(ContentError, match=rf"TLS with {NAME}:{port} failed .*HTTPS only"):
            push(make_tree(tmp_path / "folder"), f"{NAME}:{port}/team/app")
        assert asked == [], "no plain HTTP request reached the server"
    for loopback in ("127.0.0.1:5000/r", "127.8.9.10/r", "localhost:5000/r", "[::1]:5000/r"):
        assert parse_target(loopback).scheme == "http"
    for remote in ("registry.example.com/team/r", "10.0.0.1:5000/r", "[2001:db8::1]:443/r", f"{NAME}/r"):
        assert parse_target(remote).scheme == "https"


@pytest.mark.parametrize(
    "target", ["bad_host/r", "-lead.example/r", "a..b/r", "trail-.example:5000/r", "[1.2.3.4]/r"]
)
def test_target_hosts_must_be_names_or_addresses(target: str) -> None:
    with pytest.raises(ContentError, match="is not HOST"):
        parse_target(target)


def test_unknown_host_and_refused_connection_name_the_host(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "folder")
    with pytest.raises(ContentError, match=r"cannot resolve the host name nowhere\.invalid"):
        push(root, "nowhere.invalid:5000/team/app")
    port = _free_port()
    with pytest.raises(ContentError, match=rf"no registry answers at {NAME}:{port}: connection refused"):
        push(root, f"{NAME}:{port}/team/app")


# -- the docker config, read as docker reads it ---------------------------------------------


def test_docker_config_comes_from_docker_config_else_home(
    isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    write_config(home / ".docker", basic_auths("r.example", user="home-user"))
    write_config(isolated, basic_auths("r.example", user="env-user"))
    monkeypatch.setenv("HOME", str(home))
    found = docker_credentials("r.example")
    assert found == Credentials("env-user", PASSWORD, f"auths.r.example in {isolated / 'config.json'}")
    monkeypatch.delenv("DOCKER_CONFIG")
    assert docker_config_path() == home / ".docker" / "config.json"
    found = docker_credentials("r.example")
    assert found is not None and found.username == "home-user"
    assert docker_credentials("r.example:5000") is None
    assert USER not in repr(found) and PASSWORD not in repr(found)


def test_docker_config_keys_helpers_and_refusals(
    isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    write_config(isolated, {"auths": {"https://r.example:5000/v1/": {"auth": encoded}}})
    assert docker_credentials("r.example:5000") == Credentials(
        USER, PASSWORD, f"auths.r.example:5000 in {isolated / 'config.json'}"
    )
    helper_on_path(tmp_path, monkeypatch, "helped.example")
    write_config(
        isolated,
        {"auths": {"helped.example": {"auth": base64.b64encode(b"file:pw").decode()}, "other.example": {}},
         "credHelpers": {"helped.example": HELPER, "other.example": HELPER}},
    )  # fmt: skip
    assert docker_credentials("helped.example") == Credentials(USER, PASSWORD, f"docker-credential-{HELPER}")
    assert docker_credentials("other.example") is None, "the helper has none, nor auths"
    write_config(isolated, {"credsStore": "missing-helper", "auths": {}})
    with pytest.raises(ContentError, match="docker-credential-missing-helper is not on PATH"):
        docker_credentials("r.example")
    write_config(isolated, {"auths": {"r.example": {"auth": "bm90LWEtcGFpcg=="}}})  # "not-a-pair"
    with pytest.raises(ContentError, match="not base64 of USER:PASSWORD") as caught:
        docker_credentials("r.example")
    assert "bm90LWEtcGFpcg" not in str(caught.value) and "not-a-pair" not in str(caught.value)
    write_config(isolated, {"auths": {"r.example": {"identitytoken": PASSWORD}}})
    with pytest.raises(ContentError, match="identity token") as caught:
        docker_credentials("r.example")
    assert_no_secret(str(caught.value))
    (isolated / "config.json").write_text("{not json")
    with pytest.raises(ContentError, match="not a JSON object"):
        docker_credentials("r.example")


def test_cli_help_tells_https_and_docker_config(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["push", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "HTTPS" in text and "loopback" in text and "REQUESTS_CA_BUNDLE" in text
    assert "$DOCKER_CONFIG/config.json" in text and "~/.docker/config.json" in text
    assert "docker login" in text
