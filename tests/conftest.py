"""Shared test helpers: paths, the ../shared corpora, Hypothesis profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["tests.s3_server"]

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared; skips the test when it is absent, fails in CI (CI=true)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must have ../shared beside the checkout")
        pytest.skip(f"{path} is not here: these tests read ../shared, which sits beside CI's clone")
    return path


_FOLDER_MARKERS = {"spark": pytest.mark.spark}
_FILE_MARKERS = {
    "test_fuzz_smoke.py": (pytest.mark.fuzz, pytest.mark.slow),
    "test_fuzz_regressions.py": (pytest.mark.fuzz,),
    "test_benchmarks_smoke.py": (pytest.mark.slow,),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by where they live: ``tests/spark/`` is ``spark``; fuzz files are ``fuzz``."""
    for item in items:
        path = item.path
        folder = path.parent.name
        marks = (_FOLDER_MARKERS[folder],) if folder in _FOLDER_MARKERS else ()
        for mark in (*marks, *_FILE_MARKERS.get(path.name, ())):
            item.add_marker(mark)
        if item.get_closest_marker("spark") is not None:
            item.add_marker(pytest.mark.slow)
