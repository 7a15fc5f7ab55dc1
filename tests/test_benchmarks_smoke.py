"""The benchmark runner works end to end on a small file: counts, not speed.

Runs ``benchmarks/run.py --smoke`` (a ~1 MB generated file, one run per path) in a subprocess,
once per generator (``ours``, and ``mixed``: CSV bodies mixing words and numbers), and checks
that every path ran and produced as many inferences as ``arthur-capture convert``. A path may
be skipped only for a stated reason: a peer that is not installed (polars and DuckDB are in the
dev extra, so they run in CI) or the ``--jobs`` rows while ``convert`` has no ``--jobs``.
Timings are never asserted: they depend on the machine.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "benchmarks" / "run.py"
ALL_PATHS = [
    "orjson_only",
    "orjson_split",
    "naive_stdlib",
    "pandas_idiomatic",
    "polars",
    "duckdb",
    "ours_convert",
    "ours_convert_jobs1",
    "ours_convert_jobs_all",
    "ours_convert_schema",
    "ours_dataframe",
]
PEERS = {"polars": "polars", "duckdb": "duckdb"}
JOBS_PATHS = {"ours_convert_jobs1", "ours_convert_jobs_all"}
RESULT_FIELDS = {
    "name",
    "wall_s",
    "walls_s",
    "records",
    "records_per_s",
    "peak_rss_mib",
    "ratio_to_orjson_only",
    "ratio_to_polars",
    "check",
}


def _convert_has_jobs() -> bool:
    script = Path(sys.executable).parent / "arthur-capture"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "arthur_capture"]
    probe = subprocess.run(  # noqa: S603 - our own interpreter and command
        [*command, "convert", "--help"], capture_output=True, text=True, check=False
    )
    return "--jobs" in probe.stdout


@pytest.fixture(scope="module", params=["ours", "mixed"])
def smoke(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    if not RUNNER.exists():  # an sdist carries tests but not benchmarks/
        pytest.skip("benchmarks/run.py is not in this tree")
    work = tmp_path_factory.mktemp("bench")
    out = work / "results.json"
    argv = [sys.executable, str(RUNNER), "--smoke", "--repeat", "1", "--generator", request.param]
    proc = subprocess.run(  # noqa: S603 - our own interpreter and script
        [*argv, "--workdir", str(work), "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    return proc, out


def test_runner_finishes_and_reports(
    smoke: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    proc, out = smoke
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| path | wall (s) |" in proc.stdout
    assert "MISMATCH" not in proc.stdout
    assert out.exists()


def test_every_path_matches_ours(smoke: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = smoke
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["ok"] is True, report["problems"]
    assert report["smoke"] is True
    assert report["problems"] == []
    assert report["file"]["generator"] in {"ours", "mixed"}
    results = {r["name"]: r for r in report["results"]}
    assert list(results) == ALL_PATHS
    expected = results["ours_convert"]["records"]
    assert expected > 0
    assert expected == report["file"]["inferences"]
    assert results["orjson_only"]["lines"] == report["file"]["lines"] > 0
    missing = {name for name, module in PEERS.items() if importlib.util.find_spec(module) is None}
    if not _convert_has_jobs():
        missing |= JOBS_PATHS
    for name, result in results.items():
        assert set(result) >= RESULT_FIELDS, name
        if name in missing:  # skipped, with the reason in the table
            assert result["skipped"], result
            assert result["check"] == "skipped", result
            continue
        assert result["skipped"] is None, result
        assert result["error"] is None, result
        assert result["wall_s"] is not None, result
        assert result["peak_rss_mib"] is not None, result
        assert result["records_per_s"] is not None, result
        assert result["ratio_to_orjson_only"] is not None, result
        if "polars" not in missing:
            assert result["ratio_to_polars"] is not None, result
        if name != "orjson_only":
            assert result["records"] == expected, (name, result)
    dataframes = ["naive_stdlib", "pandas_idiomatic", "ours_dataframe"]
    dataframes += [name for name in PEERS if name not in missing]
    assert len({results[name]["columns"] for name in dataframes}) == 1


def test_report_describes_machine_and_cold_start(
    smoke: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, out = smoke
    report = json.loads(out.read_text(encoding="utf-8"))
    machine = report["machine"]
    assert {"cpu", "cores", "python", "versions"} <= set(machine)
    assert {"orjson", "pandas", "polars", "duckdb"} <= set(machine["versions"])
    cold = report["cold_start"]
    assert {"python_pass_ms", "convert_one_line_ms", "convert_overhead_ms", "runs"} <= set(cold)
    imports = report["import_check"]
    assert imports["ok"] is True, imports
    assert imports["loaded"] == []
    assert {"pandas", "pyarrow", "boto3", "httpx", "requests"} <= set(imports["checked"])
