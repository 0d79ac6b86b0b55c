"""pytest plugin of make mutate (scripts/mutate.py): writes the id of the test
that runs now to $MUTATE_CURRENT, which the traced scripts copy into their
trace; the fake tools scrub the environment, so the scripts cannot read it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_runtest_setup(item: pytest.Item) -> None:
    Path(os.environ["MUTATE_CURRENT"]).write_text(item.nodeid)
