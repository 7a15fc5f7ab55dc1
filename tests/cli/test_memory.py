"""The command line's peak memory on huge calls and floods of rejects (issue 9, items 4 and 5).

Each test runs ``python -m arthur_capture`` in a subprocess started by a small launcher that
reads the child's own peak RSS (``os.wait4``): Linux counts the RSS a process had before
``exec`` in ``ru_maxrss``, so a direct child of the (large) pytest process would report
pytest's size. The inputs are generated into ``tmp_path``; nothing here is timed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
import pytest

from tests.helpers import capture_line, run_cli_measured

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow


def _run(tmp_path: Path, *args: str) -> tuple[int, float, Path, str]:
    """Run the CLI; its exit status, peak RSS in MiB, stdout file and stderr text."""
    return run_cli_measured(tmp_path, *args)


def _line(request: str, response: str, content_type: str, encoding: str) -> bytes:
    return capture_line(
        request,
        response,
        content_type=content_type,
        encoding=encoding,
        event_id="big-call",
        when="2024-03-05T15:20:41Z",
    )


def _csv_call(path: Path, rows: int, row: str) -> Path:
    body = "".join(row.format(i % 10) for i in range(rows))
    path.write_bytes(_line(body, body, "text/csv", "CSV"))
    return path


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        while piece := handle.read(1 << 20):
            count += piece.count(b"\n")
    return count


def test_two_million_row_csv_call_converts_whole_in_bounded_memory(tmp_path: Path) -> None:
    """The issue's case: a 12 MB line of 2,000,000 one-value rows a side (was 8.3 GB)."""
    capture = _csv_call(tmp_path / "big.jsonl", 2_000_000, "{}\n")
    assert 11_000_000 < capture.stat().st_size < 13_000_000
    output = tmp_path / "out.jsonl"
    status, peak, _, err = _run(tmp_path, "convert", str(capture), "-o", str(output))
    assert status == 0, err
    assert "1 line: 1 event, 0 blank, 0 rejected; 2000000 records, 0 inferences rejected" in err
    assert _count_lines(output) == 2_000_000
    with output.open("rb") as handle:
        first = orjson.loads(handle.readline())
    assert first["partner_inference_id"] == "big-call_0"
    assert first["inference_data"] == {"input_0": 0, "output_0": 0}
    # 130 MiB for the call itself; the run's partner-ID ledger adds about 80 bytes an ID.
    assert peak < 384, f"peak RSS {peak:.0f} MiB converting a 2,000,000-inference call"


def test_two_million_float_rows_stay_well_under_512_mib(tmp_path: Path) -> None:
    """``1.0\\n2.0\\n…`` both sides (a 20 MB line): floats cost more than small integers."""
    capture = _csv_call(tmp_path / "floats.jsonl", 2_000_000, "{}.0\n")
    output = tmp_path / "out.jsonl"
    status, peak, _, err = _run(tmp_path, "convert", str(capture), "-o", str(output))
    assert status == 0, err
    assert _count_lines(output) == 2_000_000
    assert peak < 512, f"peak RSS {peak:.0f} MiB converting 2,000,000 float rows"


def test_a_million_inference_json_call_converts_in_bounded_memory(tmp_path: Path) -> None:
    """A JSON payload of 1,000,000 inferences (was 4.5 GB)."""
    count = 1_000_000
    request = orjson.dumps([[float(i % 10)] for i in range(count)]).decode()
    response = orjson.dumps([i % 7 / 7 for i in range(count)]).decode()
    capture = tmp_path / "json.jsonl"
    capture.write_bytes(_line(request, response, "application/json", "JSON"))
    output = tmp_path / "out.jsonl"
    status, peak, _, err = _run(tmp_path, "convert", str(capture), "-o", str(output))
    assert status == 0, err
    assert _count_lines(output) == count
    assert peak < 512, f"peak RSS {peak:.0f} MiB converting a 1,000,000-inference JSON call"


def test_a_60_mb_call_is_rejected_by_the_default_limit_without_parsing(tmp_path: Path) -> None:
    """6,000,000 rows a side (a 60 MB line, under the 64 MiB line limit; was a SIGSEGV)."""
    capture = _csv_call(tmp_path / "huge.jsonl", 6_000_000, "{}.0\n")
    assert 55_000_000 < capture.stat().st_size < 64 * 1024 * 1024
    rejects = tmp_path / "rejects.jsonl"
    status, peak, out, err = _run(
        tmp_path, "convert", str(capture), "-o", str(tmp_path / "out.jsonl"), "--rejects",
        str(rejects)
    )  # fmt: skip
    assert status == 1, err
    assert "; by reason: too_many_inferences=1" in err
    (reject,) = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert reject["reason"] == "too_many_inferences"
    assert reject["message"] == (
        "the request holds 6000000 inferences, more than the limit of 2000000 per call "
        "(max_inferences_per_call)"
    )
    assert out.read_bytes() == b""
    assert peak < 400, f"peak RSS {peak:.0f} MiB rejecting a 60 MB call"


def test_preview_keeps_only_the_rejects_it_shows(tmp_path: Path) -> None:
    """300 MB of invalid lines: preview shows five rejects and counts the rest (was 936 MiB
    on 900 MB: every reject's bytes were kept)."""
    capture = tmp_path / "junk.jsonl"
    line = b"{" + b"x" * 4094 + b"\n"  # not JSON
    lines = 300 * 256  # 300 MiB
    with capture.open("wb") as handle:
        block = line * 256
        for _ in range(lines // 256):
            handle.write(block)
    status, peak, out, err = _run(tmp_path, "preview", str(capture))
    assert status == 1, err
    shown = out.read_text(encoding="utf-8").splitlines()
    assert shown[0] == "(no records)"
    assert shown[2] == (
        f"{lines} lines: 0 events, 0 blank, {lines} rejected; 0 records, 0 inferences rejected; "
        f"by reason: invalid_json={lines}"
    )
    assert [s.split(" invalid_json:")[0] for s in shown[3:8]] == [
        f"  rejected {capture}:{n}" for n in range(1, 6)
    ]
    assert shown[8:] == [f"  … {lines - 5} more rejects"]
    assert peak < 120, f"peak RSS {peak:.0f} MiB previewing 300 MB of invalid lines"
