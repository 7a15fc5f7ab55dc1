"""Project tasks that set themselves up: ``python3 dev.py preview`` and ``python3 dev.py test``.

``python3 dev.py fast`` runs the fast lane: every test not marked ``slow`` (no Spark, no
fuzzing, no large-input or subprocess-heavy tests), without the linters.

Each task creates ``.venv`` (if missing) and installs the project with its dev extras
whenever ``pyproject.toml`` changed, so both work on a fresh machine with Python 3.11+.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".arthur-capture-installed"
DEMO = ROOT / "fixtures" / "demo" / "demo.jsonl"


def _run(*cmd: str | Path) -> None:
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, check=False)
    if result.returncode:
        sys.exit(result.returncode)


def ensure_env() -> None:
    """Create the virtual environment and install the project, when needed."""
    if sys.version_info < (3, 11):
        sys.exit(f"arthur-capture needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return
    if not PYTHON.exists():
        print("dev.py: creating .venv", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    print("dev.py: installing arthur-capture[dev] into .venv", file=sys.stderr)
    _run(
        PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade", "pip"
    )
    _run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[dev]")
    STAMP.write_text(digest)


def main(argv: list[str]) -> None:
    """Run a task: ``preview``, ``test``, ``fast``, ``lint``, ``lambda-zip`` (deploy/build.py)."""
    task, *rest = argv or ["help"]
    if task == "preview":
        ensure_env()
        _run(BIN / "arthur-capture", "preview", *(rest or [str(DEMO.relative_to(ROOT))]))
    elif task == "lint":
        ensure_env()
        _run(BIN / "ruff", "check", ".")
        _run(BIN / "ruff", "format", "--check", ".")
        _run(BIN / "mypy")
    elif task == "fast":
        ensure_env()
        _run(PYTHON, "-m", "pytest", "-m", "not slow", *rest)
    elif task == "lambda-zip":
        ensure_env()
        _run(PYTHON, "deploy/build.py", *rest)
    elif task == "test":
        ensure_env()
        _run(BIN / "ruff", "check", ".")
        _run(BIN / "ruff", "format", "--check", ".")
        _run(BIN / "mypy")
        _run(PYTHON, "-m", "pytest", *rest)
    else:
        print(__doc__)
        print(
            "tasks: preview [FILE...] | test [PYTEST ARGS...] | fast [PYTEST ARGS...] | lint"
            " | lambda-zip [--engine]"
        )
        sys.exit(0 if task == "help" else 2)


if __name__ == "__main__":
    main(sys.argv[1:])
