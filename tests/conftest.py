from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root: components/
sys.path.insert(0, str(Path(__file__).resolve().parent))  # harness

from harness import FakeCli


@pytest.fixture
def cli(tmp_path: Path) -> FakeCli:
    return FakeCli(tmp_path)
