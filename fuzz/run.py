"""Run the fuzz targets for a bounded time each, one at a time, and report what they found.

Usage::

    python fuzz/run.py --seconds 300                 # every target, 5 minutes each
    python fuzz/run.py --seconds 30 --target side    # one target (repeatable)

Each target runs in its own process (``python -m fuzz.worker``) under atheris with
``-max_total_time``, seeded from ``fixtures/`` (:mod:`fuzz.seeds`) plus the working corpus in
``fuzz/corpus/<target>/`` (not kept in git). The report gives, per target, the inputs executed
and the escapes: inputs that made the target raise, saved under ``fuzz/crashers/<target>/``
(turn each into a regression: ``tests/test_fuzz_regressions.py`` replays every file there).
The exit status is 1 when anything escaped, else 0. Needs atheris (the ``fuzz`` extra).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``fuzz`` and ``arthur_capture`` importable
    sys.path.insert(0, str(ROOT))

from fuzz.seeds import write_seeds  # noqa: E402 - needs the path above
from fuzz.targets import TARGETS  # noqa: E402 - needs the path above

_EXECUTED = re.compile(r"stat::number_of_executed_units:\s*(\d+)")
_DONE = re.compile(r"Done (\d+) runs in")
_ARTIFACT = re.compile(r"(?:crash|timeout|oom|leak|slow-unit)-[0-9a-f]+")


@dataclasses.dataclass(frozen=True, slots=True)
class TargetRun:
    """What one target's run found."""

    target: str
    seconds: int
    seeds: int
    executions: int
    """Inputs executed (libFuzzer's ``number_of_executed_units``)."""
    escapes: int
    """Inputs that made the target raise (one per distinct failure), plus libFuzzer crashes."""
    new_crashers: list[str]
    exit_code: int
    log: str


def run_target(
    name: str, seconds: int, *, crashers: Path, corpus: Path, work: Path, max_len: int
) -> TargetRun:
    """Fuzz one target for ``seconds``; its executions, escapes and exit code."""
    target_crashers = crashers / name
    target_corpus = corpus / name
    target_corpus.mkdir(parents=True, exist_ok=True)
    target_crashers.mkdir(parents=True, exist_ok=True)
    seed_dir = work / "seeds" / name
    seeded = write_seeds(name, seed_dir)
    before = {p.name for p in target_crashers.iterdir()}
    log = work / f"{name}.log"
    command = [
        sys.executable,
        "-m",
        "fuzz.worker",
        name,
        str(target_crashers),
        str(target_corpus),
        str(seed_dir),
        f"-max_total_time={seconds}",
        f"-max_len={max_len}",
        "-timeout=30",
        "-rss_limit_mb=2048",
        "-print_final_stats=1",
        f"-artifact_prefix={target_crashers}/",
    ]
    with log.open("wb") as out:
        completed = subprocess.run(  # noqa: S603 - our own interpreter and module
            command,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=seconds + 300,
            check=False,
        )
    text = log.read_text("utf-8", "replace")
    found = _EXECUTED.findall(text) or _DONE.findall(text)
    new = sorted(p.name for p in target_crashers.iterdir() if p.name not in before)
    escapes = text.count("\nESCAPE ") + (1 if text.startswith("ESCAPE ") else 0)
    artifacts = [n for n in new if _ARTIFACT.fullmatch(n)]
    return TargetRun(
        target=name,
        seconds=seconds,
        seeds=seeded,
        executions=int(found[-1]) if found else 0,
        escapes=escapes + len(artifacts),
        new_crashers=[str(target_crashers / n) for n in new],
        exit_code=completed.returncode,
        log=str(log),
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the targets one after another, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, required=True, help="time per target")
    parser.add_argument(
        "--target",
        action="append",
        choices=sorted(TARGETS),
        help="run only this target (repeatable; default: all)",
    )
    parser.add_argument(
        "--crashers", type=Path, default=ROOT / "fuzz" / "crashers", help="where escapes go"
    )
    parser.add_argument(
        "--corpus", type=Path, default=ROOT / "fuzz" / "corpus", help="working corpus"
    )
    parser.add_argument("--max-len", type=int, default=16384, help="longest input (bytes)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument("--logs", type=Path, help="keep the fuzzer logs in this folder")
    args = parser.parse_args(argv)
    if args.seconds < 1:
        parser.error("--seconds must be positive")
    names = args.target or list(TARGETS)
    results = []
    with tempfile.TemporaryDirectory(prefix="arthur-capture-fuzz-") as tmp:
        work = args.logs if args.logs is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        print(f"{'target':<18} {'seconds':>7} {'seeds':>6} {'executions':>11} {'escapes':>7}")
        for name in names:
            result = run_target(
                name,
                args.seconds,
                crashers=args.crashers,
                corpus=args.corpus,
                work=work,
                max_len=args.max_len,
            )
            results.append(result)
            print(
                f"{name:<18} {result.seconds:>7} {result.seeds:>6} "
                f"{result.executions:>11,} {result.escapes:>7}",
                flush=True,
            )
            for path in result.new_crashers:
                print(f"  new crasher: {path}")
            if result.exit_code != 0 and not result.escapes:
                print(f"  the fuzzer exited with {result.exit_code}; see {result.log}")
        if args.json is not None:
            report = [dataclasses.asdict(r) for r in results]
            args.json.write_text(json.dumps(report, indent=2) + "\n")
    failed = any(r.escapes or r.exit_code != 0 for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
