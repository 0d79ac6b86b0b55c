"""Whole-stack runs under doubles: the program evaluated under Pulumi's mocks
with every local.Command executed against the fake tools, across deployments
(tests/lifecycle.py), `make` targets and secrets end to end. Every test here is
marked `integration`: `make test-integration` runs them, `make test` does not."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)
