"""The ``arthur-capture`` command line, in-process (``cli.main``) and as a real subprocess."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from arthur_capture.cli import main
from tests.conftest import FIXTURES, ROOT

EXPECTED_SUFFIX = ".expected.json"
REJECT_KEYS = {"reason", "source", "line", "offset", "event_id", "index", "message", "raw"}
DEMO = FIXTURES / "demo" / "demo.jsonl"
INVALID_JSON = FIXTURES / "invalid" / "invalid_json.jsonl"
EXE = Path(sys.executable).parent / "arthur-capture"
DEMO_SUMMARY = "10 lines: 10 events, 0 blank, 0 rejected; 14 records, 0 inferences rejected"
"""The demo's counts, as every command words them (``_common.summary_line``)."""


def expected_files() -> list[Path]:
    """Every ``*.expected.json`` under fixtures/, sorted."""
    return sorted(FIXTURES.rglob(f"*{EXPECTED_SUFFIX}"))


def fixture_source(expected: Path) -> Path:
    """The capture file an expectation describes: ``NAME.jsonl`` or ``NAME.jsonl.gz``."""
    stem = expected.name.removesuffix(EXPECTED_SUFFIX)
    found = [expected.with_name(stem + ext) for ext in (".jsonl", ".jsonl.gz")]
    existing = [path for path in found if path.is_file()]
    assert len(existing) == 1, f"{expected}: expected exactly one of {found}"
    return existing[0]


def spec_of(source: Path) -> dict[str, Any]:
    """The expectation of a fixture, by its capture file."""
    stem = source.name.split(".jsonl")[0]
    data: dict[str, Any] = json.loads(
        source.with_name(stem + EXPECTED_SUFFIX).read_text(encoding="utf-8")
    )
    return data


def cli_options(options: dict[str, Any]) -> list[str]:
    """The command-line flags that match an expectation's reader ``options``."""
    flags: list[str] = []
    for key, value in options.items():
        if key == "sniff":
            flags += ["--sniff"] if value else []
        elif key == "csv_header":
            flags += ["--csv-header"] if value else []
        elif key == "max_line_bytes":
            flags += ["--max-line-bytes", str(value)]
        elif key == "max_inferences_per_call":
            flags += ["--max-inferences", str(value)]
        elif key == "reject_non_finite":
            flags += ["--reject-non-finite"] if value else []
        elif key == "reject_duplicates":
            flags += ["--reject-duplicates"] if value else []
        elif key == "content_types":
            for old, new in value.items():
                flags += ["--content-type", f"{old}={new}"]
        else:
            pytest.fail(f"no command-line flag for fixture option {key!r}")
    return flags


def stream_bytes(source: Path) -> bytes:
    """The bytes the reader splits into lines: gzip undone, a cut stream as far as it goes."""
    data = source.read_bytes()
    if not data.startswith(b"\x1f\x8b"):
        return data
    out = bytearray()
    with gzip.open(source, "rb") as handle:
        try:
            while chunk := handle.read1(4096):
                out += chunk
        except (EOFError, OSError):
            pass
    return bytes(out)


def typed(value: Any) -> str:
    """A rendering that tells ``1`` from ``1.0`` and keeps key order."""
    return json.dumps(value, ensure_ascii=False)


def read_jsonl(path: Path) -> list[Any]:
    """The JSON values of a JSON Lines file (every line must end in a newline)."""
    data = path.read_bytes()
    assert not data or data.endswith(b"\n")
    return [json.loads(line) for line in data.splitlines()]


def assert_one_sentence(stderr: str) -> None:
    """A usage or I/O error: one line on stderr, the program's name first, no traceback."""
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("arthur-capture: ")
    assert len(lines[0]) > len("arthur-capture: ")


def check_reject_line(reject: dict[str, Any], source: Path, max_line_bytes: int | None) -> None:
    """A dead-letter line has exactly the documented keys, and ``raw`` is the line's bytes."""
    assert set(reject) == REJECT_KEYS
    assert reject["source"] == str(source)
    assert isinstance(reject["message"], str)
    assert reject["message"]
    raw = base64.b64decode(reject["raw"], validate=True)
    if reject["reason"] == "invalid_compression":
        return  # no line to show: the gzip stream itself is corrupt
    data = stream_bytes(source)
    line = data[reject["offset"] :].split(b"\n", 1)[0]
    line = line.removesuffix(b"\r")
    if reject["reason"] == "line_too_large":
        assert max_line_bytes is not None
        assert len(raw) == max_line_bytes + 1
        assert line.startswith(raw)
    else:
        assert raw == line
    assert data.count(b"\n", 0, reject["offset"]) == reject["line"] - 1


CASES = [
    pytest.param(
        fixture_source(path), id=f"{path.parent.name}/{path.name.removesuffix(EXPECTED_SUFFIX)}"
    )
    for path in expected_files()
]


# --------------------------------------------------------------------------------------------
# convert: every fixture


@pytest.mark.parametrize("source", CASES)
def test_convert_every_fixture(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = spec_of(source)
    options = spec.get("options", {})
    out, dead, summary = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl", tmp_path / "sum.json"
    argv = ["convert", str(source), *cli_options(options)]
    argv += ["-o", str(out), "--rejects", str(dead), "--summary", str(summary)]

    status = main(argv)

    captured = capsys.readouterr()
    assert status == (1 if spec["rejects"] else 0)
    assert captured.out == ""
    assert "Traceback" not in captured.err
    assert f"{spec['summary']['lines']} lines: " in captured.err
    records = read_jsonl(out)
    assert records == spec["records"]
    assert typed(records) == typed(spec["records"])
    rejects = read_jsonl(dead)
    coordinates = [{k: r[k] for k in ("reason", "line", "event_id", "index")} for r in rejects]
    assert coordinates == spec["rejects"]
    for reject in rejects:
        check_reject_line(reject, source, options.get("max_line_bytes"))
    ledger = json.loads(summary.read_bytes())
    assert ledger == spec["summary"]
    assert ledger["balanced"] is True
    assert ledger["lines"] == ledger["blank_lines"] + ledger["events"] + ledger["rejected_lines"]


def test_convert_writes_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["convert", str(DEMO)])
    captured = capsys.readouterr()
    assert status == 0
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert records == spec_of(DEMO)["records"]
    assert captured.err.strip() == DEMO_SUMMARY


def test_convert_dash_means_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(DEMO), "-o", "-"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["partner_inference_id"] for line in lines] == [
        r["partner_inference_id"] for r in spec_of(DEMO)["records"]
    ]


def test_convert_to_a_file_writes_nothing_to_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo.arthur.jsonl"
    assert main(["convert", str(DEMO), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(out.read_bytes().splitlines()) == 14
    assert read_jsonl(out) == spec_of(DEMO)["records"]


def test_convert_several_files_adds_up_the_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "sum.json"
    status = main(["convert", str(DEMO), str(INVALID_JSON), "--summary", str(summary)])
    captured = capsys.readouterr()
    assert status == 1
    demo, bad = spec_of(DEMO), spec_of(INVALID_JSON)
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert records == demo["records"] + bad["records"]
    ledger = json.loads(summary.read_bytes())
    assert ledger["sources"] == 2
    assert ledger["lines"] == demo["summary"]["lines"] + bad["summary"]["lines"]
    assert ledger["records"] == demo["summary"]["records"] + bad["summary"]["records"]
    assert ledger["rejects_by_reason"] == {"invalid_json": 5}
    assert ledger["balanced"] is True


def test_rejects_still_write_good_records_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, dead = tmp_path / "out.jsonl", tmp_path / "dead.jsonl"
    status = main(["convert", str(INVALID_JSON), "-o", str(out), "--rejects", str(dead)])
    err = capsys.readouterr().err
    assert status == 1
    assert len(read_jsonl(out)) == 2
    assert len(read_jsonl(dead)) == 5
    assert err.rstrip().endswith("; by reason: invalid_json=5")


def test_rejected_lines_replay_from_the_dead_letter_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Decoding ``raw`` gives back the rejected lines; reading them again rejects them again."""
    source = FIXTURES / "invalid" / "invalid_payload.jsonl"
    dead = tmp_path / "dead.jsonl"
    assert main(["convert", str(source), "--rejects", str(dead)]) == 1
    replay = tmp_path / "replay.jsonl"
    replay.write_bytes(
        b"".join(base64.b64decode(r["raw"]) + b"\n" for r in read_jsonl(dead)),
    )
    replay_dead = tmp_path / "replay-dead.jsonl"
    capsys.readouterr()
    assert main(["convert", str(replay), "--rejects", str(replay_dead)]) == 1
    assert capsys.readouterr().out == ""
    first = [(r["reason"], r["event_id"]) for r in read_jsonl(dead)]
    again = [(r["reason"], r["event_id"]) for r in read_jsonl(replay_dead)]
    assert again == first
    assert [r["line"] for r in read_jsonl(replay_dead)] == list(range(1, len(first) + 1))


# --------------------------------------------------------------------------------------------
# --strict


def test_strict_stops_at_the_first_reject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, dead, summary = tmp_path / "out.jsonl", tmp_path / "dead.jsonl", tmp_path / "sum.json"
    argv = ["convert", str(INVALID_JSON), "--strict", "-o", str(out)]
    status = main([*argv, "--rejects", str(dead), "--summary", str(summary)])
    err = capsys.readouterr().err
    assert status == 1
    assert "Traceback" not in err
    assert "stopped (--strict)" in err
    assert f"{INVALID_JSON}:2: invalid_json" in err
    assert read_jsonl(out) == spec_of(INVALID_JSON)["records"][:1]
    (reject,) = read_jsonl(dead)
    assert (reject["reason"], reject["line"]) == ("invalid_json", 2)
    check_reject_line(reject, INVALID_JSON, None)
    ledger = json.loads(summary.read_bytes())
    assert (ledger["lines"], ledger["events"], ledger["rejected_lines"]) == (2, 1, 1)
    assert ledger["balanced"] is True


def test_strict_without_rejects_converts_everything(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(DEMO), "--strict"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 14


def test_strict_preview_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", str(INVALID_JSON), "--strict"]) == 1
    err = capsys.readouterr().err
    assert "stopped (--strict)" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------------------------
# preview


def test_preview_shows_a_table_and_the_ledger(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["preview", str(DEMO)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = lines[0].split()
    assert header[:2] == ["partner_inference_id", "inference_timestamp"]
    assert "score" in header
    assert set(lines[1]) <= {"-", " "}
    records = spec_of(DEMO)["records"]
    for record in records[:10]:
        assert record["partner_inference_id"] in out
    for record in records[10:]:
        assert record["partner_inference_id"] not in out
    assert "crm-sync-20240311-0007_1" in out
    assert "2024-03-11T09:15:02+00:00" in out
    assert "… 4 more records" in out
    assert DEMO_SUMMARY in out


def test_preview_limit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", str(DEMO), "-n", "2"]) == 0
    out = capsys.readouterr().out
    ids = [r["partner_inference_id"] for r in spec_of(DEMO)["records"]]
    assert ids[0] in out
    assert ids[1] in out
    assert ids[2] not in out
    assert "… 12 more records" in out


def test_preview_lists_rejects_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", str(INVALID_JSON)]) == 1
    out = capsys.readouterr().out
    assert (
        "7 lines: 2 events, 0 blank, 5 rejected; 2 records, 0 inferences rejected; "
        "by reason: invalid_json=5"
    ) in out
    assert f"rejected {INVALID_JSON}:2 invalid_json:" in out
    assert f"rejected {INVALID_JSON}:6 invalid_json:" in out


def test_preview_of_nothing_but_rejects(capsys: pytest.CaptureFixture[str]) -> None:
    source = FIXTURES / "text_csv" / "header_row.jsonl"
    assert main(["preview", str(source)]) == 1
    out = capsys.readouterr().out
    assert "(no records)" in out
    assert "2 lines: 0 events, 0 blank, 2 rejected; 0 records, 0 inferences rejected" in out


# --------------------------------------------------------------------------------------------
# options that change decoding: --content-type, --sniff, --csv-header


@pytest.mark.parametrize(
    ("name", "flags", "reason_without"),
    [
        pytest.param(
            "mixed/html_labelled_json",
            ["--content-type", "text/html=application/json"],
            "unknown_content_type",
            id="content-type",
        ),
        pytest.param("mixed/sniffed_bodies", ["--sniff"], "unknown_content_type", id="sniff"),
        pytest.param("text_csv/header_row", ["--csv-header"], "count_mismatch", id="csv-header"),
    ],
)
def test_decoding_options(
    name: str, flags: list[str], reason_without: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = FIXTURES / f"{name}.jsonl"
    spec = spec_of(source)

    assert main(["convert", str(source)]) == 1
    without = capsys.readouterr()
    assert without.out == ""
    assert f"; by reason: {reason_without}={spec['summary']['lines']}" in without.err

    assert main(["convert", str(source), *flags]) == 0
    with_flags = capsys.readouterr()
    records = [json.loads(line) for line in with_flags.out.splitlines()]
    assert records == spec["records"]
    assert "by reason:" not in with_flags.err


def test_content_type_is_repeatable_and_case_blind(capsys: pytest.CaptureFixture[str]) -> None:
    source = FIXTURES / "mixed" / "html_labelled_json.jsonl"
    flags = ["--content-type", "image/png=text/csv", "--content-type", "Text/HTML=application/json"]
    assert main(["convert", str(source), *flags]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records == spec_of(source)["records"]


def test_max_line_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    source = FIXTURES / "invalid" / "line_too_large.jsonl"
    assert main(["convert", str(source)]) == 0  # the default limit is 64 MiB
    assert len(capsys.readouterr().out.splitlines()) == 62
    assert main(["convert", str(source), "--max-line-bytes", "1024"]) == 1
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2
    assert "line_too_large=1" in captured.err


# --------------------------------------------------------------------------------------------
# exit status 2: usage and I/O errors


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["convert", "no/such/capture.jsonl"], id="missing-file"),
        pytest.param(["preview", "no/such/capture.jsonl"], id="missing-file-preview"),
        pytest.param(["convert", str(DEMO), "--max-line-bytes", "0"], id="max-line-bytes-0"),
        pytest.param(["convert", str(DEMO), "--max-line-bytes", "many"], id="max-line-bytes-nan"),
        pytest.param(["convert", str(DEMO), "--content-type", "text/html"], id="content-type"),
        pytest.param(["convert", str(DEMO), "--no-such-option"], id="unknown-option"),
        pytest.param(["convert"], id="no-file"),
        pytest.param([], id="no-command"),
        pytest.param(["transmogrify", str(DEMO)], id="unknown-command"),
        pytest.param(["preview", str(DEMO), "--limit", "-1"], id="negative-limit"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_sentence(captured.err)


def test_missing_file_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", "no/such/capture.jsonl"]) == 2
    err = capsys.readouterr().err
    assert_one_sentence(err)
    assert "no/such/capture.jsonl" in err


@pytest.mark.parametrize("flag", ["-o", "--rejects", "--summary"])
def test_unwritable_output_exits_2(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no-such-dir" / "file.json"
    assert main(["convert", str(DEMO), flag, str(target)]) == 2
    err = capsys.readouterr().err
    assert_one_sentence(err)
    assert f"cannot write {target}" in err
    assert not target.exists()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc_info:
        main(["--version"])
    assert exc_info.value.code == 0
    assert capsys.readouterr().out.startswith("arthur-capture ")


# --------------------------------------------------------------------------------------------
# the installed command, as a real subprocess


def run_exe(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run the installed ``arthur-capture`` script."""
    assert EXE.is_file(), f"{EXE} is missing: install the project into the venv (pip install -e .)"
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # 80 wide when piped
    return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(EXE), *args], capture_output=True, cwd=ROOT, check=False, timeout=120, env=env
    )


def test_installed_command_converts_the_demo() -> None:
    done = run_exe("convert", "fixtures/demo/demo.jsonl")
    assert done.returncode == 0
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert records == spec_of(DEMO)["records"]
    assert done.stdout.endswith(b"\n")
    assert done.stderr.decode().strip() == DEMO_SUMMARY


def test_installed_command_previews_the_demo() -> None:
    done = run_exe("preview", "fixtures/demo/demo.jsonl")
    assert done.returncode == 0
    out = done.stdout.decode("utf-8")
    assert out.startswith("partner_inference_id")
    assert "0f8c2a5e-3b71-4d9a-8e64-b2c7d1f9a305" in out
    assert DEMO_SUMMARY in out
    assert done.stderr == b""


def test_installed_command_reports_a_missing_file_in_one_sentence() -> None:
    done = run_exe("convert", "fixtures/demo/no-such-file.jsonl")
    assert done.returncode == 2
    assert done.stdout == b""
    assert_one_sentence(done.stderr.decode("utf-8"))


def test_installed_command_exits_1_on_rejects_and_still_writes(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    done = run_exe("convert", "fixtures/invalid/gzip_truncated.jsonl.gz", "-o", str(out))
    assert done.returncode == 1
    assert read_jsonl(out) == spec_of(FIXTURES / "invalid" / "gzip_truncated.jsonl.gz")["records"]
    assert b"truncated_line=1" in done.stderr
    assert b"Traceback" not in done.stderr
