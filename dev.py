"""Project tasks that set themselves up, on a fresh machine with Python 3.11+.

Tasks (``python3 dev.py TASK [ARGS...]``):

- ``preview [FILE...]``: the first records of the demo capture (or of FILEs) as a table.
- ``run COMMAND [ARGS...]``: any ``arthur-capture`` command, e.g.
  ``python3 dev.py run convert fixtures/demo/demo.jsonl`` (the same as
  ``.venv/bin/arthur-capture convert fixtures/demo/demo.jsonl``).
- ``test [PYTEST ARGS...]``: the linters (ruff, ruff format, mypy), then every test.
- ``fast [PYTEST ARGS...]``: every test not marked ``slow`` (no Spark, no fuzzing, no
  large-input or subprocess-heavy tests), without the linters.
- ``lint``: ruff, ruff format and mypy only.
- ``lambda-zip [--engine]``: the AWS Lambda bundle (deploy/build.py).
- ``help``: this text.

Each task creates ``.venv`` when it is missing. ``preview`` and ``run`` install only the
package and its base dependencies (pydantic, orjson, rich); ``test``, ``fast``, ``lint`` and
``lambda-zip`` install the ``dev`` extras on top. Both installs are redone when
``pyproject.toml`` changes, and a base install never removes what the ``dev`` one added.
Relative paths given to ``preview`` and ``run`` are read from the current folder.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT: Final = Path(__file__).resolve().parent
VENV: Final = ROOT / ".venv"
BIN: Final = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON: Final = BIN / ("python.exe" if os.name == "nt" else "python")
CLI: Final = BIN / ("arthur-capture.exe" if os.name == "nt" else "arthur-capture")
STAMPS: Final = {
    "base": VENV / ".arthur-capture-base",
    "dev": VENV / ".arthur-capture-installed",  # the name it had before the base level
}
"""What is installed (``base``: ``pip install -e .``; ``dev``: ``-e .[dev]``), keyed on the
digest of ``pyproject.toml`` it was installed from."""
DEMO: Final = Path("fixtures", "demo", "demo.jsonl")
"""The demo capture, relative to ``ROOT``."""
PIP: Final = ("-m", "pip", "install", "--quiet", "--disable-pip-version-check")


def _run(*cmd: str | Path, cwd: Path | None = ROOT) -> None:
    """Run a command; exit with its status when it fails (128 + N when signal N stopped it)."""
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, check=False)
    if result.returncode:
        code = result.returncode
        sys.exit(128 - code if code < 0 else code)


def _digest() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def _installed(level: str, digest: str) -> bool:
    stamp = STAMPS[level]
    return PYTHON.exists() and stamp.exists() and stamp.read_text() == digest


def ensure_env(level: str = "dev") -> None:
    """Create ``.venv`` and install the project at ``level`` (``base`` or ``dev``), if needed.

    ``dev`` includes ``base``: after ``dev`` is installed, ``base`` asks for nothing.
    """
    if sys.version_info < (3, 11):
        sys.exit(f"arthur-capture needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    digest = _digest()
    if _installed(level, digest) or _installed("dev", digest):
        return
    if not PYTHON.exists():
        print("dev.py: creating .venv", file=sys.stderr)
        for stamp in STAMPS.values():  # a venv made anew holds nothing yet
            stamp.unlink(missing_ok=True)
        venv.create(VENV, with_pip=True)
    if level == "dev":
        print("dev.py: installing arthur-capture[dev] into .venv", file=sys.stderr)
        _run(PYTHON, *PIP, "--upgrade", "pip")
        _run(PYTHON, *PIP, "-e", ".[dev]")
    else:
        print(
            "dev.py: installing arthur-capture (pydantic, orjson, rich) into .venv",
            file=sys.stderr,
        )
        _run(PYTHON, *PIP, "-e", ".")
    STAMPS["base"].write_text(digest)  # both levels install the base dependencies
    if level == "dev":
        STAMPS["dev"].write_text(digest)


def _preview(files: list[str]) -> None:
    ensure_env("base")
    if files:  # the user's files, relative to where the user is
        _run(CLI, "preview", *files, cwd=None)
    else:
        _run(CLI, "preview", DEMO)


def _cli(args: list[str]) -> None:
    ensure_env("base")
    _run(CLI, *args, cwd=None)


def _lint(args: list[str]) -> None:  # noqa: ARG001
    ensure_env("dev")
    _run(BIN / "ruff", "check", ".")
    _run(BIN / "ruff", "format", "--check", ".")
    _run(BIN / "mypy")


def _test(args: list[str]) -> None:
    _lint([])
    _run(PYTHON, "-m", "pytest", *args)


def _fast(args: list[str]) -> None:
    ensure_env("dev")
    _run(PYTHON, "-m", "pytest", "-m", "not slow", *args)


def _lambda_zip(args: list[str]) -> None:
    ensure_env("dev")
    _run(PYTHON, "deploy/build.py", *args)


def _help(args: list[str]) -> None:  # noqa: ARG001
    print(__doc__)


TASKS: Final[dict[str, Callable[[list[str]], None]]] = {
    "preview": _preview,
    "run": _cli,
    "test": _test,
    "fast": _fast,
    "lint": _lint,
    "lambda-zip": _lambda_zip,
    "help": _help,
}
"""Every task, by name: the module's docstring lists exactly these."""


def main(argv: list[str]) -> None:
    """Run the task ``argv[0]`` with the rest of ``argv`` (see the module's docstring)."""
    task, *rest = argv or ["help"]
    if task in {"-h", "--help"}:
        task = "help"
    if task not in TASKS:
        print(__doc__)
        print(f"dev.py: no task {task!r}", file=sys.stderr)
        sys.exit(2)
    TASKS[task](rest)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:
        sys.exit(130)
