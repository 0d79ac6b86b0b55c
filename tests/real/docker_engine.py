"""The real Docker Engine under test: the one that answers, or a dockerd of the
tier's own, and the objects the tests make on it.

One `DockerEngine` per test session. When a daemon answers (DOCKER_HOST, or the
default socket) the tier uses it and touches only what it made: names start
with `Engine.prefix`, and every container, network and volume carries the
label `LABEL=<run id>`; ids are recorded and removed at the end. When none
answers and the user is root, `Dockerd` starts one with a config file, data
root, exec root and socket under the session's temp dir (nothing under /etc),
its OCI runtime the wrapper beside this file (runc-wrapper), and stops it by
pid at the end. Its log is printed when a test fails (see conftest.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
WRAPPER = HERE / "runc-wrapper"
# On every object the real tiers make; `make clean-real` removes by it.
LABEL = "io.imagevolume.test"
PID_FILES = Path(os.environ.get("IMAGEVOLUME_REAL_STATE", "/tmp/imagevolume-real"))
DEFAULT_SOCKET = Path("/var/run/docker.sock")
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
START_SECONDS = 60.0
STOP_SECONDS = 60.0


def answers(host: str) -> bool:
    """Whether `docker version` gets an answer from the daemon at `host`."""
    try:
        result = subprocess.run(
            ["docker", "--host", host, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and bool(result.stdout.strip())


@dataclass
class Dockerd:
    """A dockerd of the tier's own, under `base`."""

    base: Path
    process: subprocess.Popen[bytes] | None = None
    # Whether dockerd's default bridge is this daemon's to remove at the end.
    made_bridge: bool = field(default_factory=lambda: not Path("/sys/class/net/docker0").exists())

    @property
    def socket(self) -> Path:
        return self.base / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def log(self) -> Path:
        return self.base / "dockerd.log"

    @property
    def pid_file(self) -> Path:
        return self.base / "dockerd.pid"

    def config(self) -> dict[str, object]:
        return {
            "runtimes": {"imagevolume-runc": {"path": str(WRAPPER)}},
            "default-runtime": "imagevolume-runc",
            "log-level": "warn",
        }

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        config = self.base / "daemon.json"
        config.write_text(json.dumps(self.config(), indent=2))
        before = self.base / "iptables.before"
        if self.made_bridge and not before.exists():
            # dockerd adds chains and sets FORWARD's policy and ip_forward: put back at the end.
            saved = subprocess.run(["iptables-save"], capture_output=True, check=False)
            if saved.returncode == 0:
                before.write_bytes(saved.stdout)
                (self.base / "ip_forward.before").write_text(IP_FORWARD.read_text())
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                "dockerd",
                "--config-file",
                str(config),
                "--data-root",
                str(self.base / "data"),
                "--exec-root",
                str(self.base / "exec"),
                "--host",
                self.host,
                "--pidfile",
                str(self.pid_file),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        PID_FILES.mkdir(parents=True, exist_ok=True)
        (PID_FILES / f"dockerd-{self.process.pid}.pid").write_text(f"{self.process.pid}\n{self.base}\n")
        deadline = time.monotonic() + START_SECONDS
        while not answers(self.host):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not answer on {self.host}:\n{self.log.read_text()[-4000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        (PID_FILES / f"dockerd-{process.pid}.pid").unlink(missing_ok=True)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        """After stop: the bridge it made, and its folders."""
        if self.made_bridge and Path("/sys/class/net/docker0").exists():
            subprocess.run(["ip", "link", "delete", "docker0"], check=False, capture_output=True)
        before = self.base / "iptables.before"
        if before.exists():
            subprocess.run(["iptables-restore"], input=before.read_bytes(), check=False, capture_output=True)
            IP_FORWARD.write_text((self.base / "ip_forward.before").read_text())
        subprocess.run(["rm", "-rf", str(self.base)], check=False)


@dataclass
class Made:
    kind: str  # container, network, volume, image
    ref: str  # id (or name for images)


@dataclass
class DockerEngine:
    """The daemon the tier runs against, and what the tests made on it."""

    host: str
    own: Dockerd | None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    made: list[Made] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return f"ivt{self.run_id}-"

    def name(self, what: str) -> str:
        return self.prefix + what

    @property
    def label(self) -> str:
        return f"{LABEL}={self.run_id}"

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """An environment whose docker talks to this daemon."""
        environment = dict(os.environ if base is None else base)
        environment.pop("DOCKER_CONTEXT", None)
        environment["DOCKER_HOST"] = self.host
        return environment

    def run(
        self,
        *args: str,
        check: bool = True,
        input: bytes | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["docker", *args],
            env=self.environment(),
            capture_output=True,
            input=input.decode() if input is not None else None,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def run_bytes(self, *args: str) -> bytes:
        return self.run_bytes_in(*args, data=None)

    def run_bytes_in(self, *args: str, data: bytes | None) -> bytes:
        """`docker ARGS` with `data` on stdin; its stdout."""
        result = subprocess.run(
            ["docker", *args],
            env=self.environment(),
            input=data,
            capture_output=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"docker {' '.join(args)} exited {result.returncode}:\n{result.stderr.decode()}"
            )
        return result.stdout

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def track(self, kind: str, ref: str) -> str:
        self.made.append(Made(kind, ref))
        return ref

    def container(self, *run_args: str) -> str:
        """`docker run -d` with the tier's label; its id, removed at the end."""
        return self.track("container", self.out("run", "-d", "--label", self.label, *run_args))

    def exists(self, kind: str, ref: str) -> bool:
        return self.run(kind, "inspect", ref, check=False).returncode == 0

    def remove_made(self, kinds: Sequence[str] = ("container", "network", "volume", "image")) -> None:
        for kind in kinds:
            for made in reversed(self.made):
                if made.kind != kind:
                    continue
                if kind == "container":
                    self.run("rm", "-f", "-v", made.ref, check=False)
                elif kind == "image":
                    self.run("image", "rm", "-f", made.ref, check=False)
                else:
                    self.run(kind, "rm", made.ref, check=False)
        self.made = [made for made in self.made if made.kind not in kinds]

    def labelled(self, kind: str) -> list[str]:
        """Ids of this run's objects of `kind` (container, network, volume) still there."""
        if kind == "container":
            args = ["ps", "-a", "-q", "--filter", f"label={self.label}"]
        else:
            args = [kind, "ls", "-q", "--filter", f"label={self.label}"]
        return self.out(*args).split()
