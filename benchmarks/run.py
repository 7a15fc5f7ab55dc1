"""Time arthur_capture against the other ways to read a capture file, each in its own process.

    python benchmarks/run.py --size-mb 100 [--repeat 3] [--json OUT.json]
    python benchmarks/run.py --smoke            # ~1 MB, for CI: checks counts, not speed

Generates a capture file with ``benchmarks/generate.py`` (or takes ``--input FILE``), then runs
every path as a fresh child process and measures its whole wall time (interpreter start
included) and its peak RSS (``os.wait4``). Prints the machine, a Markdown table and the cold
start of the command line; ``--json`` writes the same as JSON. Exits 1 when a path fails or
produces a different number of inferences than ``arthur-capture convert``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PATHS_SCRIPT = HERE / "paths.py"
GENERATE_SCRIPT = HERE / "generate.py"
HEAVY_MODULES = ("pandas", "pyarrow", "boto3", "botocore", "httpx", "requests", "polars")

#: (name, what it does); the order of the table.
PATHS: tuple[tuple[str, str], ...] = (
    ("orjson_only", "orjson.loads of every line, nothing else (the limit)"),
    ("orjson_split", "orjson + str.split/orjson/b64decode of payloads, tuples, no DataFrame"),
    ("naive_stdlib", "json + csv modules, a dict per inference, then pd.DataFrame"),
    ("pandas_idiomatic", "pd.read_json(lines=True), per-row apply, explode, DataFrame"),
    ("polars", "pl.read_ndjson + expressions (json_decode, split, explode, joins)"),
    ("ours_convert", "arthur-capture convert FILE -o OUT (Arthur JSON lines)"),
    ("ours_dataframe", "arthur_capture.to_dataframe(FILE)"),
)
REFERENCE = "ours_convert"
BASELINE = "orjson_only"


@dataclass
class Run:
    """One child process."""

    wall_s: float
    peak_rss_mib: float
    returncode: int
    stdout: str
    stderr: str


@dataclass
class PathResult:
    """The measurements of one path."""

    name: str
    description: str
    skipped: str | None = None
    error: str | None = None
    walls_s: list[float] = field(default_factory=list)
    wall_s: float | None = None
    peak_rss_mib: float | None = None
    records: int | None = None
    lines: int | None = None
    columns: int | None = None
    records_per_s: float | None = None
    mb_per_s: float | None = None
    ratio_to_orjson_only: float | None = None
    check: str = ""


def child_env() -> dict[str, str]:
    """Our environment, but letting children cache bytecode as an installed package does.

    With ``PYTHONDONTWRITEBYTECODE`` set, an editable install recompiles ``arthur_capture`` in
    every process, which is not what users pay; the untimed warm-up run writes the caches.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_child(argv: list[str]) -> Run:
    """Run ``argv`` to completion; whole-process wall time and the child's peak RSS."""
    env = child_env()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)  # noqa: S603
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            wall_s=wall,
            peak_rss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
            returncode=proc.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


def cli_command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m arthur_capture``."""
    script = Path(sys.executable).parent / "arthur-capture"
    return [str(script)] if script.exists() else [sys.executable, "-m", "arthur_capture"]


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def describe_machine() -> dict[str, Any]:
    """CPU, cores, memory, OS and the versions that matter."""
    cpu = platform.processor() or platform.machine()
    mem_total = None
    try:
        info: dict[str, str] = {}
        with open("/proc/cpuinfo", encoding="utf-8") as handle:  # noqa: PTH123
            for line in handle:
                if not line.strip():
                    break  # the first processor is enough
                key, _, value = line.partition(":")
                info[key.strip()] = value.strip()
        if "model name" in info:
            cpu = info["model name"]
            if "cpu family" in info:
                cpu += f" (family {info['cpu family']}, model {info.get('model', '?')})"
        with open("/proc/meminfo", encoding="utf-8") as handle:  # noqa: PTH123
            for line in handle:
                if line.startswith("MemTotal:"):
                    mem_total = round(int(line.split()[1]) / 1024**2, 1)
                    break
    except OSError:
        pass
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(affinity) if affinity is not None else os.cpu_count(),
        "memory_gib": mem_total,
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "versions": {
            dist: _version(dist)
            for dist in ("arthur-capture", "orjson", "pydantic", "pandas", "pyarrow", "polars")
        },
    }


def _parse_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in text.split():
        key, eq, value = word.partition("=")
        if eq and value.isdigit():
            counts[key] = int(value)
    return counts


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def measure_path(name: str, data: Path, work: Path) -> tuple[Run, dict[str, int]]:
    """One run of one path over ``data``; the run and what it reported."""
    if name == "ours_convert":
        out = work / "converted.jsonl"
        run = run_child([*cli_command(), "convert", str(data), "-o", str(out)])
        counts = {"records": _count_lines(out)} if run.returncode == 0 else {}
        out.unlink(missing_ok=True)
        return run, counts
    run = run_child([sys.executable, str(PATHS_SCRIPT), name, str(data)])
    return run, _parse_counts(run.stdout) if run.returncode == 0 else {}


def polars_available() -> bool:
    """Whether polars imports in the interpreter the children use."""
    probe = subprocess.run(
        [sys.executable, "-c", "import polars"], capture_output=True, check=False, env=child_env()
    )
    return probe.returncode == 0


def measure_all(
    data: Path, work: Path, names: list[str], repeat: int, warmup: Path
) -> list[PathResult]:
    """Every path ``repeat`` times, round-robin; the median wall and the largest peak RSS."""
    results = {name: PathResult(name, desc) for name, desc in PATHS if name in names}
    if "polars" in results and not polars_available():
        results["polars"].skipped = "polars is not importable (pip install polars)"
        print("note: skipping polars: it is not importable here", file=sys.stderr)
    active = [r for r in results.values() if r.skipped is None]
    for result in active:  # compile .pyc files and load the page cache, untimed
        measure_path(result.name, warmup, work)
    rss: dict[str, list[float]] = {r.name: [] for r in active}
    for _ in range(repeat):
        for result in active:
            if result.error is not None:
                continue
            run, counts = measure_path(result.name, data, work)
            if run.returncode != 0:
                tail = run.stderr.strip().splitlines()[-3:]
                result.error = f"exit {run.returncode}: " + " | ".join(tail)
                continue
            result.walls_s.append(run.wall_s)
            rss[result.name].append(run.peak_rss_mib)
            result.records = counts.get("records")
            result.lines = counts.get("lines")
            result.columns = counts.get("columns")
    for result in active:
        if result.walls_s:
            result.wall_s = statistics.median(result.walls_s)
            result.peak_rss_mib = max(rss[result.name])
    return list(results.values())


def check_and_rate(results: list[PathResult], size_bytes: int, lines: int) -> list[str]:
    """Fill in rates, ratios and checks; returns the problems found."""
    by_name = {r.name: r for r in results}
    reference = by_name.get(REFERENCE)
    expected = reference.records if reference is not None else None
    frame = by_name.get("ours_dataframe")
    expected_columns = frame.columns if frame is not None else None
    baseline = by_name.get(BASELINE)
    base_wall = baseline.wall_s if baseline is not None else None
    problems: list[str] = []
    for result in results:
        if result.skipped:
            result.check = "skipped"
            continue
        if result.error or result.wall_s is None:
            result.check = "FAILED"
            problems.append(f"{result.name} failed: {result.error}")
            continue
        if expected:
            result.records_per_s = expected / result.wall_s
        result.mb_per_s = size_bytes / 1e6 / result.wall_s
        if base_wall:
            result.ratio_to_orjson_only = result.wall_s / base_wall
        if result.name == BASELINE:
            ok = result.lines == lines
            result.check = f"{result.lines} lines" + ("" if ok else f" MISMATCH (file has {lines})")
            if not ok:
                problems.append(f"{result.name} read {result.lines} lines, the file has {lines}")
            continue
        notes = []
        if result.records != expected:
            notes.append(f"MISMATCH: {result.records} records, ours {expected}")
            problems.append(f"{result.name} produced {result.records} records, ours {expected}")
        if result.columns and expected_columns and result.columns != expected_columns:
            notes.append(f"MISMATCH: {result.columns} columns, ours {expected_columns}")
            problems.append(
                f"{result.name} produced {result.columns} columns, ours {expected_columns}"
            )
        result.check = "; ".join(notes) or ("ok (reference)" if result.name == REFERENCE else "ok")
    return problems


def cold_start(one_line: Path, work: Path, runs: int) -> dict[str, Any]:
    """``arthur-capture convert ONE_LINE`` against ``python -c pass``, interleaved, medians."""
    out = work / "cold.jsonl"
    commands = {
        "python_pass": [sys.executable, "-c", "pass"],
        "import_arthur_capture": [sys.executable, "-c", "import arthur_capture"],
        "convert_one_line": [*cli_command(), "convert", str(one_line), "-o", str(out)],
    }
    walls: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():  # warm-up: bytecode caches and the page cache
        run_child(argv)
    for _ in range(runs):
        for name, argv in commands.items():
            run = run_child(argv)
            if run.returncode != 0:
                raise RuntimeError(f"{name} failed: {run.stderr.strip()}")
            walls[name].append(run.wall_s)
    medians = {name: statistics.median(values) * 1000 for name, values in walls.items()}
    return {
        "runs": runs,
        "python_pass_ms": medians["python_pass"],
        "import_arthur_capture_ms": medians["import_arthur_capture"],
        "convert_one_line_ms": medians["convert_one_line"],
        "import_overhead_ms": medians["import_arthur_capture"] - medians["python_pass"],
        "convert_overhead_ms": medians["convert_one_line"] - medians["python_pass"],
    }


def import_check() -> dict[str, Any]:
    """Which heavy modules ``import arthur_capture`` drags in (it should be none)."""
    code = (
        "import sys, arthur_capture\n"
        f"print(' '.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
    )
    probe = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = probe.stdout.split()
    return {"checked": list(HEAVY_MODULES), "loaded": loaded, "ok": not loaded}


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def markdown_table(results: list[PathResult]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| path | wall (s) | records/s | MB/s | peak RSS (MiB) | x orjson_only | output check |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if r.skipped:
            lines.append(f"| `{r.name}` | — | — | — | — | — | skipped: {r.skipped} |")
            continue
        lines.append(
            f"| `{r.name}` | {_fmt(r.wall_s, '.2f')} | {_fmt(r.records_per_s, ',.0f')} "
            f"| {_fmt(r.mb_per_s, '.1f')} | {_fmt(r.peak_rss_mib, '.0f')} "
            f"| {_fmt(r.ratio_to_orjson_only, '.1f')} | {r.check} |"
        )
    return "\n".join(lines)


def generate(out: Path, size_mb: float, seed: int) -> None:
    """Write a capture file with ``benchmarks/generate.py``."""
    argv = [sys.executable, str(GENERATE_SCRIPT), str(out)]
    subprocess.run(  # noqa: S603
        [*argv, "--size-mb", str(size_mb), "--seed", str(seed)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=100.0, help="generated file size")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="~1 MB, 3 cold-start runs (CI)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per path; the median counts")
    parser.add_argument("--cold-runs", type=int, default=10, help="cold-start runs per command")
    parser.add_argument("--input", type=Path, help="time this plain .jsonl file instead")
    parser.add_argument("--workdir", type=Path, help="keep generated files here (default: temp)")
    parser.add_argument("--only", help="comma-separated path names (default: all)")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.size_mb = 1.0
        args.cold_runs = min(args.cold_runs, 3)
    if args.repeat < 1 or args.cold_runs < 1:
        parser.error("--repeat and --cold-runs must be positive")
    known = [name for name, _ in PATHS]
    args.names = known if not args.only else [n.strip() for n in args.only.split(",")]
    if unknown := set(args.names) - set(known):
        parser.error(f"unknown paths {sorted(unknown)}; known: {', '.join(known)}")
    if REFERENCE not in args.names:
        args.names.append(REFERENCE)  # every count is checked against it
    return args


def benchmark(args: argparse.Namespace, work: Path) -> int:
    """Generate (or take) the file, measure everything, report; the exit status."""
    if args.input is not None:
        data = args.input.resolve()
    else:
        data = work / f"capture-{args.size_mb:g}mb-seed{args.seed}.jsonl"
        if not data.exists():
            print(f"generating {data} ({args.size_mb:g} MB) …", file=sys.stderr)
            generate(data, args.size_mb, args.seed)
    with data.open("rb") as handle:
        first_line = handle.readline()
    one_line = work / "one-line.jsonl"
    one_line.write_bytes(first_line)
    size = data.stat().st_size
    lines = _count_lines(data)

    machine = describe_machine()
    results = measure_all(data, work, args.names, args.repeat, one_line)
    problems = check_and_rate(results, size, lines)
    cold = cold_start(one_line, work, args.cold_runs)
    imports = import_check()
    if not imports["ok"]:
        problems.append(f"import arthur_capture loaded {', '.join(imports['loaded'])}")
    reference = next((r.records for r in results if r.name == REFERENCE), None)

    versions = machine["versions"]
    print(
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB; "
        f"{machine['os']}\n"
        f"Python {machine['python']}; "
        + ", ".join(f"{k} {v}" for k, v in versions.items() if v is not None)
    )
    print(
        f"File: {data.name}: {size / 1e6:.1f} MB, {lines:,} lines (calls), "
        f"{reference or 0:,} inferences (seed {args.seed}); median of {args.repeat} run(s), "
        "each path in a fresh process (interpreter start included)\n"
    )
    print(markdown_table(results))
    print(
        "\nrecords/s = the file's inferences / wall time; peak RSS = the child's ru_maxrss."
        " polars runs multi-threaded, the others on one core."
    )
    print(
        f"\nCold start (median of {cold['runs']}): `python -c pass` {cold['python_pass_ms']:.0f}"
        f" ms, `import arthur_capture` {cold['import_arthur_capture_ms']:.0f} ms "
        f"(+{cold['import_overhead_ms']:.0f}), `arthur-capture convert` of one line "
        f"{cold['convert_one_line_ms']:.0f} ms (+{cold['convert_overhead_ms']:.0f} ms over bare"
        " Python)."
    )
    loaded = ", ".join(imports["loaded"]) or "none"
    print(
        f"`import arthur_capture` loads of {', '.join(HEAVY_MODULES)}: {loaded}"
        + (" (ok)" if imports["ok"] else " (PROBLEM)")
    )
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)

    if args.json is not None:
        report = {
            "machine": machine,
            "file": {
                "name": data.name,
                "generated": args.input is None,
                "size_bytes": size,
                "size_mb_requested": None if args.input else args.size_mb,
                "seed": None if args.input else args.seed,
                "lines": lines,
                "inferences": reference,
            },
            "repeat": args.repeat,
            "smoke": args.smoke,
            "results": [asdict(r) for r in results],
            "cold_start": cold,
            "import_check": imports,
            "problems": problems,
            "ok": not problems,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    args = _parse_args(argv)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        return benchmark(args, args.workdir.resolve())
    with tempfile.TemporaryDirectory(prefix="arthur-capture-bench-") as tmp:
        return benchmark(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
