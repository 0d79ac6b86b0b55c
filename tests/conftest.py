from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root: components/
sys.path.insert(0, str(Path(__file__).resolve().parent))  # harness

from harness import FakeCli

# Property tests check grammar, not speed: a loaded CI machine must not fail them.
settings.register_profile("project", deadline=None)
settings.load_profile("project")


@pytest.fixture
def cli(tmp_path: Path) -> FakeCli:
    return FakeCli(tmp_path)
