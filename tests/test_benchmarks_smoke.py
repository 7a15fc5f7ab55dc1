"""The benchmark runner works end to end on a small file: counts, not speed.

Runs ``benchmarks/run.py --smoke`` (a ~1 MB generated file, one run per path) in a subprocess
and checks that every path produced as many inferences as ``arthur-capture convert``. Timings
are never asserted: they depend on the machine.
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
    "ours_convert",
    "ours_dataframe",
]
RESULT_FIELDS = {
    "name",
    "wall_s",
    "walls_s",
    "records",
    "records_per_s",
    "peak_rss_mib",
    "ratio_to_orjson_only",
    "check",
}


@pytest.fixture(scope="module")
def smoke(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    if not RUNNER.exists():  # an sdist carries tests but not benchmarks/
        pytest.skip("benchmarks/run.py is not in this tree")
    work = tmp_path_factory.mktemp("bench")
    out = work / "results.json"
    argv = [sys.executable, str(RUNNER), "--smoke", "--repeat", "1"]
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
    results = {r["name"]: r for r in report["results"]}
    assert list(results) == ALL_PATHS
    expected = results["ours_convert"]["records"]
    assert expected > 0
    assert expected == report["file"]["inferences"]
    assert results["orjson_only"]["lines"] == report["file"]["lines"] > 0
    polars_installed = importlib.util.find_spec("polars") is not None
    for name, result in results.items():
        assert set(result) >= RESULT_FIELDS, name
        if name == "polars" and not polars_installed:
            assert result["skipped"], result
            continue
        assert result["skipped"] is None, result
        assert result["error"] is None, result
        assert result["wall_s"] is not None, result
        assert result["peak_rss_mib"] is not None, result
        assert result["records_per_s"] is not None, result
        assert result["ratio_to_orjson_only"] is not None, result
        if name != "orjson_only":
            assert result["records"] == expected, (name, result)
    dataframes = ["naive_stdlib", "pandas_idiomatic", "ours_dataframe"]
    if polars_installed:
        dataframes.append("polars")
    assert len({results[name]["columns"] for name in dataframes}) == 1


def test_report_describes_machine_and_cold_start(
    smoke: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, out = smoke
    report = json.loads(out.read_text(encoding="utf-8"))
    machine = report["machine"]
    assert {"cpu", "cores", "python", "versions"} <= set(machine)
    assert {"orjson", "pandas", "polars"} <= set(machine["versions"])
    cold = report["cold_start"]
    assert {"python_pass_ms", "convert_one_line_ms", "convert_overhead_ms", "runs"} <= set(cold)
    imports = report["import_check"]
    assert imports["ok"] is True, imports
    assert imports["loaded"] == []
    assert {"pandas", "pyarrow", "boto3", "httpx", "requests"} <= set(imports["checked"])
