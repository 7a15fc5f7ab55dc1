"""A short fuzzing run of every target, as CI runs it (docs/reliability.md).

``fuzz/run.py`` runs each target under atheris for a few seconds, in its own process, with
fresh corpus and crasher folders; nothing may escape. atheris 3.0.0 ships wheels for CPython
3.11 on x86_64 only: it is in the ``dev`` extra for that platform, so CI (``python3 dev.py
test``) always runs this test there. Elsewhere the test skips, saying why.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from fuzz.targets import TARGETS
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path


SECONDS_PER_TARGET = 5
"""Eight targets at 5 s each (plus start-up): the whole smoke run stays under a minute."""

SUPPORTED = platform.machine() == "x86_64" and sys.version_info[:2] == (3, 11)
"""Where atheris 3.0.0 installs (the ``dev`` extra's marker)."""


def _need_atheris() -> None:
    if importlib.util.find_spec("atheris") is not None:
        return
    if SUPPORTED and os.environ.get("CI"):
        pytest.fail("atheris is missing: the dev extra installs it on CPython 3.11 / x86_64")
    pytest.skip(
        "atheris is not installed: atheris 3.0.0 has wheels for CPython 3.11 on x86_64 only "
        f"(this is CPython {platform.python_version()} on {platform.machine()}); "
        "install the 'fuzz' extra there to run the fuzz smoke test"
    )


def test_every_fuzz_target_runs_briefly_and_nothing_escapes(tmp_path: Path) -> None:
    _need_atheris()
    report = tmp_path / "report.json"
    crashers = tmp_path / "crashers"
    completed = subprocess.run(  # noqa: S603 - our own interpreter and runner
        [
            sys.executable,
            str(ROOT / "fuzz" / "run.py"),
            "--seconds",
            str(SECONDS_PER_TARGET),
            "--crashers",
            str(crashers),
            "--corpus",
            str(tmp_path / "corpus"),
            "--logs",
            str(tmp_path / "logs"),
            "--json",
            str(report),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=len(TARGETS) * (SECONDS_PER_TARGET + 120),
        check=False,
    )
    assert report.is_file(), completed.stdout + completed.stderr
    results = {entry["target"]: entry for entry in json.loads(report.read_text())}
    assert sorted(results) == sorted(TARGETS)
    for name, entry in results.items():
        log = (tmp_path / "logs" / f"{name}.log").read_text("utf-8", "replace")
        assert entry["escapes"] == 0, f"{name} found {entry['new_crashers']}:\n{log[-4000:]}"
        assert entry["exit_code"] == 0, f"{name}:\n{log[-4000:]}"
        assert entry["executions"] > entry["seeds"], f"{name} barely ran:\n{log[-4000:]}"
    assert not [p for p in crashers.rglob("*") if p.is_file()]
    assert completed.returncode == 0, completed.stdout + completed.stderr
