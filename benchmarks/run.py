"""Time arthur_capture against the other ways to read a capture file, each in its own process.

    python benchmarks/run.py --size-mb 100 [--repeat 3] [--generator mixed] [--json OUT.json]
    python benchmarks/run.py --smoke            # ~1 MB, for CI: checks counts, not speed

Generates a capture file with ``benchmarks/generate.py`` (``--generator ours``: numeric
features; ``mixed``: ``generate.py --mixed-text``, CSV bodies mixing words and numbers), or
takes ``--input FILE``, then runs every path as a fresh child process over that same file and
measures its whole wall time (interpreter start included) and its peak RSS (``os.wait4``: the
largest single process of the child's tree, so per process for ``--jobs``). The peers are
polars and DuckDB; ours are ``convert`` (default options), ``convert --jobs 1`` and
``--jobs <cores>`` (skipped, with a note, while ``convert --help`` has no ``--jobs``),
``convert --schema MODEL`` (``benchmarks/generated.model.json``, or
``generated-mixed.model.json`` for the mixed generator) and ``to_dataframe``. Prints the
machine, a Markdown table with ratios to ``orjson_only`` and to polars, and the cold start of
the command line; ``--json`` writes the same as JSON. Exits 1 when a path fails or produces a
different number of inferences than ``arthur-capture convert``.
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
HEAVY_MODULES = (
    "pandas",
    "pyarrow",
    "boto3",
    "botocore",
    "httpx",
    "requests",
    "polars",
    "duckdb",
)

#: (name, what it does); the order of the table.
PATHS: tuple[tuple[str, str], ...] = (
    ("orjson_only", "orjson.loads of every line, nothing else (the limit)"),
    ("orjson_split", "orjson + str.split/orjson/b64decode of payloads, tuples, no DataFrame"),
    ("naive_stdlib", "json + csv modules, a dict per inference, then pd.DataFrame"),
    ("pandas_idiomatic", "pd.read_json(lines=True), per-row apply, explode, DataFrame"),
    ("polars", "pl.read_ndjson + expressions (json_decode, split, explode, joins)"),
    ("duckdb", "DuckDB read_ndjson + SQL (string_split, json_extract, unnest, joins) -> pandas"),
    ("ours_convert", "arthur-capture convert FILE -o OUT, default options (Arthur JSON lines)"),
    ("ours_convert_jobs1", "arthur-capture convert --jobs 1 FILE -o OUT"),
    ("ours_convert_jobs_all", "arthur-capture convert --jobs <cores> FILE -o OUT"),
    ("ours_convert_schema", "arthur-capture convert --schema MODEL.json FILE -o OUT"),
    ("ours_dataframe", "arthur_capture.to_dataframe(FILE)"),
)
REFERENCE = "ours_convert"
BASELINE = "orjson_only"
PEER = "polars"
#: ``--generator`` -> (``generate.py`` options, the Arthur model every generated record fits).
GENERATORS: dict[str, tuple[tuple[str, ...], Path]] = {
    "ours": ((), HERE / "generated.model.json"),
    "mixed": (("--mixed-text",), HERE / "generated-mixed.model.json"),
}
#: Peers run only when their module imports in the children's interpreter.
PEER_MODULES = {"polars": "polars", "duckdb": "duckdb"}
JOBS_PATHS = ("ours_convert_jobs1", "ours_convert_jobs_all")


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
    ratio_to_polars: float | None = None
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
            for dist in (
                "arthur-capture",
                "orjson",
                "pydantic",
                "pandas",
                "pyarrow",
                "polars",
                "duckdb",
            )
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


def convert_options(schema: Path | None) -> dict[str, list[str]]:
    """The ``convert`` rows: name -> the options they add to ``convert FILE -o OUT``."""
    options = {
        "ours_convert": [],
        "ours_convert_jobs1": ["--jobs", "1"],
        "ours_convert_jobs_all": ["--jobs", str(os.cpu_count() or 1)],
    }
    if schema is not None:
        options["ours_convert_schema"] = ["--schema", str(schema)]
    return options


def measure_path(
    name: str, data: Path, work: Path, converts: dict[str, list[str]]
) -> tuple[Run, dict[str, int]]:
    """One run of one path over ``data``; the run and what it reported."""
    if name in converts:
        out = work / "converted.jsonl"
        argv = [*cli_command(), "convert", *converts[name], str(data), "-o", str(out)]
        run = run_child(argv)
        counts = {"records": _count_lines(out)} if run.returncode == 0 else {}
        out.unlink(missing_ok=True)
        return run, counts
    run = run_child([sys.executable, str(PATHS_SCRIPT), name, str(data)])
    return run, _parse_counts(run.stdout) if run.returncode == 0 else {}


def module_available(module: str) -> bool:
    """Whether ``module`` imports in the interpreter the children use."""
    probe = subprocess.run(  # noqa: S603
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        check=False,
        env=child_env(),
    )
    return probe.returncode == 0


def convert_has_jobs() -> bool:
    """Whether ``arthur-capture convert`` has a ``--jobs`` option (issue 12, item 2)."""
    probe = subprocess.run(  # noqa: S603
        [*cli_command(), "convert", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env=child_env(),
    )
    return "--jobs" in probe.stdout


def skip_reasons(names: list[str], schema: Path | None) -> dict[str, str]:
    """Why a path cannot run here (a missing peer, no ``--jobs`` yet, no model); name -> note."""
    reasons: dict[str, str] = {}
    for name, module in PEER_MODULES.items():
        if name in names and not module_available(module):
            reasons[name] = f"{module} is not importable (pip install {module})"
    if any(name in names for name in JOBS_PATHS) and not convert_has_jobs():
        for name in JOBS_PATHS:
            reasons[name] = "`arthur-capture convert --help` has no --jobs option yet"
    if "ours_convert_schema" in names and schema is None:
        reasons["ours_convert_schema"] = "no Arthur model for --input: pass --schema MODEL.json"
    return reasons


def measure_all(
    data: Path,
    work: Path,
    names: list[str],
    repeat: int,
    warmup: Path,
    schema: Path | None = None,
) -> list[PathResult]:
    """Every path ``repeat`` times, round-robin; the median wall and the largest peak RSS."""
    results = {name: PathResult(name, desc) for name, desc in PATHS if name in names}
    for name, reason in skip_reasons(names, schema).items():
        if name in results:
            results[name].skipped = reason
            print(f"note: skipping {name}: {reason}", file=sys.stderr)
    converts = convert_options(schema)
    active = [r for r in results.values() if r.skipped is None]
    for result in active:  # compile .pyc files and load the page cache, untimed
        measure_path(result.name, warmup, work, converts)
    rss: dict[str, list[float]] = {r.name: [] for r in active}
    for _ in range(repeat):
        for result in active:
            if result.error is not None:
                continue
            run, counts = measure_path(result.name, data, work, converts)
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
    peer = by_name.get(PEER)
    peer_wall = peer.wall_s if peer is not None and not peer.error else None
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
        if peer_wall:
            result.ratio_to_polars = result.wall_s / peer_wall
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
        (
            "| path | wall (s) | records/s | MB/s | peak RSS (MiB) | x orjson_only | x polars "
            "| output check |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if r.skipped:
            lines.append(f"| `{r.name}` | — | — | — | — | — | — | skipped: {r.skipped} |")
            continue
        lines.append(
            f"| `{r.name}` | {_fmt(r.wall_s, '.2f')} | {_fmt(r.records_per_s, ',.0f')} "
            f"| {_fmt(r.mb_per_s, '.1f')} | {_fmt(r.peak_rss_mib, '.0f')} "
            f"| {_fmt(r.ratio_to_orjson_only, '.1f')} | {_fmt(r.ratio_to_polars, '.2f')} "
            f"| {r.check} |"
        )
    return "\n".join(lines)


def generate(out: Path, size_mb: float, seed: int, generator: str = "ours") -> None:
    """Write a capture file with ``benchmarks/generate.py`` (``generator``: see GENERATORS)."""
    argv = [sys.executable, str(GENERATE_SCRIPT), str(out), *GENERATORS[generator][0]]
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
    parser.add_argument(
        "--generator",
        choices=sorted(GENERATORS),
        default="ours",
        help="ours: generate.py as it is; mixed: generate.py --mixed-text (default: ours)",
    )
    parser.add_argument("--input", type=Path, help="time this plain .jsonl file instead")
    parser.add_argument(
        "--schema",
        type=Path,
        help="the Arthur model of ours_convert_schema (default: the generator's model)",
    )
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
    schema: Path | None = args.schema
    if args.input is not None:
        data = args.input.resolve()
    else:
        data = work / f"capture-{args.generator}-{args.size_mb:g}mb-seed{args.seed}.jsonl"
        if not data.exists():
            print(f"generating {data} ({args.size_mb:g} MB) …", file=sys.stderr)
            generate(data, args.size_mb, args.seed, args.generator)
        schema = schema or GENERATORS[args.generator][1]
    with data.open("rb") as handle:
        first_line = handle.readline()
    one_line = work / "one-line.jsonl"
    one_line.write_bytes(first_line)
    size = data.stat().st_size
    lines = _count_lines(data)

    machine = describe_machine()
    results = measure_all(data, work, args.names, args.repeat, one_line, schema)
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
        f"{reference or 0:,} inferences ("
        + ("given file" if args.input else f"generator {args.generator}, seed {args.seed}")
        + f"); median of {args.repeat} run(s), "
        "each path in a fresh process (interpreter start included)\n"
    )
    print(markdown_table(results))
    print(
        "\nrecords/s = the file's inferences / wall time; peak RSS = the child's ru_maxrss."
        " polars and DuckDB run multi-threaded, the others on one core (convert --jobs N on N)."
        " x polars = wall / polars' wall in this run."
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
                "generator": None if args.input else args.generator,
                "schema": None if schema is None else str(schema),
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
