"""Run one fuzz target under atheris (libFuzzer): the process ``fuzz/run.py`` starts.

``python -m fuzz.worker TARGET CRASHERS_DIR [LIBFUZZER ARGS...]``

Every input that makes the target raise is a finding: the first input of each distinct
failure (exception type and the innermost frame in ``arthur_capture`` or ``fuzz``) is saved
to ``CRASHERS_DIR`` and its traceback printed after an ``ESCAPE`` line; fuzzing goes on, so
one run finds more than one bug. Only ``arthur_capture`` is instrumented for coverage.
"""

from __future__ import annotations

import hashlib
import re
import sys
import traceback
from pathlib import Path

import atheris  # type: ignore[import-not-found,import-untyped,unused-ignore]

with atheris.instrument_imports(include=["arthur_capture"]):
    import arthur_capture  # noqa: F401 - imported here so that it is instrumented

from fuzz.targets import TARGETS, InvariantError, run_one


def _signature(exc: BaseException) -> str:
    """The exception's type and the innermost frame of our own code it passed through."""
    where = "?"
    for frame in traceback.extract_tb(exc.__traceback__):
        if "arthur_capture" in frame.filename or "/fuzz/" in frame.filename:
            where = f"{Path(frame.filename).name}:{frame.lineno}"
    if isinstance(exc, InvariantError):  # one raise site for every invariant: tell them apart
        return f"{type(exc).__name__} at {where}: {re.sub(r'[0-9]+', 'N', str(exc))[:80]}"
    return f"{type(exc).__name__} at {where}"


def main(argv: list[str]) -> None:
    """Fuzz ``argv[1]``, saving crashers under ``argv[2]``; the rest goes to libFuzzer."""
    name, crashers = argv[1], Path(argv[2])
    if name not in TARGETS:
        sys.exit(f"unknown target {name!r}; known: {', '.join(TARGETS)}")
    crashers.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()

    def test_one_input(data: bytes) -> None:
        exc = run_one(name, data)
        if exc is None:
            return
        signature = _signature(exc)
        if signature in seen:
            return
        seen.add(signature)
        digest = hashlib.sha1(data, usedforsecurity=False).hexdigest()[:16]
        (crashers / f"escape-{digest}").write_bytes(data)
        print(f"ESCAPE {name} {signature} -> {crashers / f'escape-{digest}'}", file=sys.stderr)
        traceback.print_exception(exc, file=sys.stderr)
        sys.stderr.flush()

    atheris.Setup([argv[0], *argv[3:]], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
