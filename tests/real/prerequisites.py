"""A missing real part never skips silently: under CI=true it fails the test,
elsewhere it skips with a reason that names it."""

from __future__ import annotations

import os
import shutil

import pytest


def require(ok: bool, what: str) -> None:
    """Fail (CI=true) or skip naming `what` unless `ok`."""
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and a real part is missing: {what}", pytrace=False)
    pytest.skip(f"missing: {what}")


def require_tool(name: str, install: str) -> str:
    """The path of `name` on PATH, or fail/skip naming how to install it."""
    path = shutil.which(name)
    require(path is not None, f"{name} is not on PATH ({install})")
    assert path is not None
    return path
