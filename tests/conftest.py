from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root: components/
sys.path.insert(0, str(Path(__file__).resolve().parent))  # harness

from harness import FakeCli

# A program run under mocks that fails leaves its dependents' futures failed;
# asyncio logs each as "never retrieved" when it is collected, as late as
# interpreter exit. The tests see the failure itself.
logging.getLogger("asyncio").setLevel(logging.CRITICAL)

# Property tests check grammar, not speed: a loaded CI machine must not fail them.
settings.register_profile("project", deadline=None)
settings.load_profile("project")


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[FakeCli]:
    fake = FakeCli(tmp_path)
    yield fake
    fake.stop_processes()  # the registry containers' docker-registry processes


@pytest.fixture(autouse=True)
def engine_from_a_clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The program reads kind's provider and the Docker endpoint from its
    environment (settings/model.py Engine): tests start from none set."""
    for variable in ("KIND_EXPERIMENTAL_PROVIDER", "DOCKER_HOST", "DOCKER_CONTEXT"):
        monkeypatch.delenv(variable, raising=False)
