"""The real-part tiers: every test here runs a real tool (Docker Engine, kubectl,
...) and carries one of the markers `real_docker`, `real_engine`,
`real_cluster`. `make test-real` runs them serially (-p no:xdist: one daemon,
no worker removing another's objects); `make test` leaves them out.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from real import images
from real.docker_engine import DEFAULT_SOCKET, Dockerd, DockerEngine, answers
from real.prerequisites import require, require_tool

REAL_MARKERS = ("real_docker", "real_engine", "real_cluster")
HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent.parent
DEBIAN = "apt-get install docker.io docker-registry skopeo umoci busybox-static"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE) and not any(item.get_closest_marker(m) for m in REAL_MARKERS):
            raise pytest.UsageError(f"{item.nodeid}: a test under tests/real needs one of {REAL_MARKERS}")


def _answering_host() -> str | None:
    host = os.environ.get("DOCKER_HOST")
    if host:
        return host if answers(host) else None
    if DEFAULT_SOCKET.exists() and answers(f"unix://{DEFAULT_SOCKET}"):
        return f"unix://{DEFAULT_SOCKET}"
    return None


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerEngine]:
    """The daemon that answers, else a dockerd of the tier's own (root only)."""
    require_tool("docker", DEBIAN)
    host = _answering_host()
    own = None
    if host is None:
        require(os.geteuid() == 0, "no Docker daemon answers, and only root can start one (dockerd)")
        require_tool("dockerd", DEBIAN)
        own = Dockerd(tmp_path_factory.mktemp("dockerd", numbered=True))
        own.start()
        host = own.host
    engine = DockerEngine(host, own)
    try:
        yield engine
    finally:
        engine.remove_made()
        left = {kind: engine.labelled(kind) for kind in ("container", "network", "volume")}
        assert not any(left.values()), f"the real tier left objects labelled {engine.label}: {left}"
        if own is not None:
            own.stop()
            if os.environ.get("IMAGEVOLUME_KEEP_REAL") != "1":
                own.remove()


@pytest.fixture
def docker(docker_engine: DockerEngine, request: pytest.FixtureRequest) -> Iterator[DockerEngine]:
    """The engine, with what the test made removed after it, and on failure the
    daemon's log tail and each of the test's containers' logs printed."""
    before = len(docker_engine.made)
    yield docker_engine
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for made in docker_engine.made[before:]:
            if made.kind == "container":
                logs = docker_engine.run("logs", "--tail", "50", made.ref, check=False)
                sys.stderr.write(f"--- docker logs {made.ref[:12]}\n{logs.stdout}{logs.stderr}\n")
        if docker_engine.own is not None and docker_engine.own.log.exists():
            sys.stderr.write(f"--- {docker_engine.own.log}\n{docker_engine.own.log.read_text()[-4000:]}\n")
    theirs = docker_engine.made[before:]
    docker_engine.made = docker_engine.made[:before]
    leftover = DockerEngine(docker_engine.host, None, docker_engine.run_id, theirs)
    leftover.remove_made()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# Per test (a no-op when the image is there): make clean-real may remove them.
@pytest.fixture
def registry_image(docker_engine: DockerEngine) -> str:
    require_tool("docker-registry", DEBIAN)
    return images.build(docker_engine, images.REGISTRY)


@pytest.fixture
def busybox_image(docker_engine: DockerEngine) -> str:
    require_tool("busybox", DEBIAN)
    return images.build(docker_engine, images.BUSYBOX)
