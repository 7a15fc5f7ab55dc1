"""The command line for a person at a terminal (issue 13, item 3).

- one wording of the counts for every command (``_common.summary_line``);
- ``preview`` drawn by rich to the width ($COLUMNS, else the terminal's, else 80), with
  ``--columns``;
- progress on stderr when it is a terminal (run in a pseudo-terminal), nothing otherwise;
- usage errors exit 2.
"""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from arthur_capture.cli import _console, _progress, main
from arthur_capture.cli._common import summary_line
from arthur_capture.reading import Ledger
from tests.conftest import FIXTURES, ROOT

if TYPE_CHECKING:
    from pathlib import Path

    from tests.s3_server import S3Bucket

DEMO = FIXTURES / "demo" / "demo.jsonl"
INVALID_JSON = FIXTURES / "invalid" / "invalid_json.jsonl"
CHURN = FIXTURES / "arthur" / "churn_binary.jsonl"
CHURN_MODEL = FIXTURES / "arthur" / "churn_binary.model.json"
DEMO_SUMMARY = "10 lines: 10 events, 0 blank, 0 rejected; 14 records, 0 inferences rejected"
CHURN_SUMMARY = (
    "10 lines: 8 events, 1 blank, 1 rejected; 6 records, 6 inferences rejected; by reason: "
    "id_too_long=2, invalid_json=1, invalid_value=2, missing_attribute=1, unknown_attribute=1"
)


# --------------------------------------------------------------------------------------------
# one wording of the counts


def test_summary_line_names_every_count() -> None:
    ledger = Ledger(lines=10, blank_lines=1, events=8, records=6, rejected_inferences=6)
    ledger.rejected_lines = 1
    ledger.rejects_by_reason.update({"invalid_value": 5, "invalid_json": 1})
    assert summary_line(ledger) == (
        "10 lines: 8 events, 1 blank, 1 rejected; 6 records, 6 inferences rejected; "
        "by reason: invalid_json=1, invalid_value=5"
    )


def test_summary_line_says_one_in_the_singular() -> None:
    ledger = Ledger(lines=1, events=1, records=1, rejected_inferences=1)
    assert (
        summary_line(ledger)
        == "1 line: 1 event, 0 blank, 0 rejected; 1 record, 1 inference rejected"
    )
    assert summary_line(Ledger()) == (
        "0 lines: 0 events, 0 blank, 0 rejected; 0 records, 0 inferences rejected"
    )


@pytest.mark.parametrize(
    ("argv", "stream"),
    [
        pytest.param(["preview"], "out", id="preview"),
        pytest.param(["convert", "-o", os.devnull], "err", id="convert"),
        pytest.param(["validate"], "out", id="validate"),
        pytest.param(
            ["export", "-o", "{tmp}", "--endpoint", "e", "--variant", "v"], "err", id="export"
        ),
    ],
)
def test_every_command_words_the_counts_alike(
    argv: list[str], stream: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pyarrow")
    args = [a.replace("{tmp}", str(tmp_path / "out")) for a in argv]
    assert main([*args, str(CHURN), "--schema", str(CHURN_MODEL)]) == 1
    captured = capsys.readouterr()
    lines = (captured.out if stream == "out" else captured.err).splitlines()
    assert CHURN_SUMMARY in lines
    assert "reject(s)" not in captured.out + captured.err


def test_validate_leads_with_the_counts_then_each_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate", str(CHURN), "--schema", str(CHURN_MODEL), "--examples", "0"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        CHURN_SUMMARY,
        "  id_too_long: 2",
        "  invalid_value: 2",
        "  invalid_json: 1",
        "  missing_attribute: 1",
        "  unknown_attribute: 1",
    ]


# --------------------------------------------------------------------------------------------
# preview: the width, --columns


def preview(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, **env: str
) -> tuple[int, list[str], str]:
    monkeypatch.delenv("COLUMNS", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    status = main(["preview", *argv])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def test_preview_fits_80_columns_when_piped(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, lines, err = preview([str(DEMO)], capsys, monkeypatch)
    assert (status, err) == (0, "")
    assert max(len(line) for line in lines) <= 80
    assert lines[0].split() == ["partner_inference_id", "inference_timestamp", "input_0", "score"]
    assert set(lines[1]) == {"-", " "}
    assert lines[2].split() == [
        "0f8c2a5e-3b71-4d9a-8e64-b2c7d1f9a305",
        "2024-03-11T09:15:02+00:00",
        "12",
        "0.6412",
    ]
    assert "(4 more value columns: input_1, input_2, input_3, …; choose with --columns)" in lines
    assert all(line == line.rstrip() for line in lines)


def test_preview_shows_as_many_columns_as_fit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, wide, _ = preview([str(DEMO)], capsys, monkeypatch, COLUMNS="200")
    assert wide[0].split()[2:] == ["input_0", "input_1", "input_2", "input_3", "input_4", "score"]
    assert not any("more value column" in line for line in wide)
    _, middle, _ = preview([str(DEMO)], capsys, monkeypatch, COLUMNS="100")
    assert middle[0].split()[2:] == ["input_0", "input_1", "input_2", "score"]
    assert max(len(line) for line in middle) <= 100
    _, narrow, _ = preview([str(DEMO)], capsys, monkeypatch, COLUMNS="40")
    assert max(len(line) for line in narrow[:12]) <= 40  # cut with …, never wrapped
    assert len(narrow[:12]) == 12
    assert "(6 more value columns; choose with --columns)" in narrow


def test_preview_columns_chooses_and_orders(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, lines, _ = preview(
        ["--columns", "score, input_3,score", str(DEMO)], capsys, monkeypatch, COLUMNS="120"
    )
    assert status == 0
    assert lines[0].split() == ["partner_inference_id", "inference_timestamp", "score", "input_3"]
    assert lines[2].split()[2:] == ["0.6412", "1"]
    assert "(4 more value columns: input_0, input_1, input_2, input_4; choose with --columns)" in (
        lines
    )


def test_preview_unknown_column_exits_2_naming_the_known(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, lines, err = preview(["--columns", "score,nope", str(DEMO)], capsys, monkeypatch)
    assert (status, lines) == (2, [])
    assert err == (
        "arthur-capture: --columns: no value column 'nope' in the records shown; known: "
        "input_0, input_1, input_2, input_3, input_4, score\n"
    )
    status, _, err = preview(["--columns", " , ", str(DEMO)], capsys, monkeypatch)
    assert status == 2
    assert "--columns needs at least one column name" in err


def test_preview_escapes_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    line = DEMO.read_bytes().splitlines()[0].replace(b'"12,', b'"\\u001b[31mred,', 1)
    source = tmp_path / "ansi.jsonl"
    source.write_bytes(line + b"\n")
    _, lines, _ = preview(["--columns", "input_0", str(source)], capsys, monkeypatch)
    assert "\x1b" not in "\n".join(lines)
    assert lines[2].split()[2] == "\\x1b[31mred"


def test_width_is_columns_else_the_terminal_else_80(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert _console.width_of(io.StringIO()) == 80
    assert _console.width_of(None) == 80
    monkeypatch.setenv("COLUMNS", "132")
    assert _console.width_of(io.StringIO()) == 132
    monkeypatch.setenv("COLUMNS", "wide")
    assert _console.width_of(io.StringIO()) == 80


def test_importing_the_package_does_not_load_rich() -> None:
    code = "import sys, arthur_capture, arthur_capture.cli; print('rich' in sys.modules)"
    done = subprocess.run(  # noqa: S603 - our interpreter, fixed code
        [sys.executable, "-c", code], capture_output=True, check=True, timeout=120
    )
    assert done.stdout.strip() == b"False"


# --------------------------------------------------------------------------------------------
# usage errors exit 2


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["validate", str(DEMO)], id="validate-without-schema"),
        pytest.param(["export", str(DEMO)], id="export-without-output"),
        pytest.param(["convert", "--format", "parquet", str(DEMO)], id="parquet-without-output"),
        pytest.param(["preview", "--columns", "", str(DEMO)], id="preview-empty-columns"),
    ],
)
def test_a_missing_option_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("arthur-capture: ")
    assert len(captured.err.splitlines()) == 1


def test_validate_without_schema_exits_2_as_a_process() -> None:
    done = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-m", "arthur_capture", "validate", str(DEMO)],
        capture_output=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr == b"arthur-capture: validate needs --schema MODEL.json\n"


# --------------------------------------------------------------------------------------------
# progress: on a terminal only

_BYTES = r"[0-9.]+/[0-9.]+ (?:bytes|kB|MB)"


def run_with_terminal_stderr(
    argv: list[str], tmp_path: Path, *, stdin: bytes | None = None, **env: str
) -> tuple[int, str, bytes]:
    """Run the command with stderr a pseudo-terminal and stdout a file: status, stderr, stdout."""
    master, slave = pty.openpty()
    out = tmp_path / "stdout"
    environment = {**os.environ, "COLUMNS": "120", "TERM": "xterm", **env}
    environment.pop("NO_COLOR", None)
    with out.open("wb") as stdout:
        process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            [sys.executable, "-m", "arthur_capture", *argv],
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=stdout,
            stderr=slave,
            cwd=ROOT,
            env=environment,
        )
        os.close(slave)
        if stdin is not None:
            assert process.stdin is not None
            process.stdin.write(stdin)
            process.stdin.close()
        received = bytearray()
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            received += chunk
        status = process.wait(timeout=120)
    os.close(master)
    return status, received.decode("utf-8", "replace"), out.read_bytes()


def plain(text: str) -> str:
    """The terminal's text without its control sequences."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", text)


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        pytest.param("convert", ["-o", "{tmp}/out.jsonl"], id="convert"),
        pytest.param("validate", ["--schema", str(CHURN_MODEL)], id="validate"),
        pytest.param(
            "export", ["-o", "{tmp}/engine", "--endpoint", "e", "--variant", "v"], id="export"
        ),
    ],
)
def test_progress_on_a_terminal_shows_the_total(
    command: str, extra: list[str], tmp_path: Path
) -> None:
    if command == "export":
        pytest.importorskip("pyarrow")
    source = DEMO if command != "validate" else CHURN
    size = source.stat().st_size
    argv = [command, str(source), *(a.replace("{tmp}", str(tmp_path)) for a in extra)]
    status, err, _ = run_with_terminal_stderr(argv, tmp_path)
    assert status in (0, 1)
    text = plain(err)
    shown = re.findall(rf"{command} .*?({_BYTES})", text)
    assert shown, err
    total = f"{size / 1000:.1f} kB" if size >= 1000 else f"{size} bytes"
    assert shown[-1].endswith("/" + total), shown  # the last drawing: all of it read
    assert "eta" in text
    assert "Traceback" not in text


def test_progress_of_a_split_convert_counts_every_range(tmp_path: Path) -> None:
    source = tmp_path / "big.jsonl"
    source.write_bytes(DEMO.read_bytes() * 40)
    argv = ["convert", str(source), "--jobs", "2", "-o", str(tmp_path / "out.jsonl")]
    status, err, _ = run_with_terminal_stderr(
        argv, tmp_path, ARTHUR_CAPTURE_TEST_SPLIT_BYTES="4096"
    )
    assert status == 0
    size = source.stat().st_size
    assert re.findall(_BYTES, plain(err))[-1] == f"{size / 1000:.1f}/{size / 1000:.1f} kB"


def test_progress_of_stdin_has_no_total(tmp_path: Path) -> None:
    status, err, out = run_with_terminal_stderr(
        ["convert", "-", "-o", str(tmp_path / "out.jsonl")], tmp_path, stdin=DEMO.read_bytes()
    )
    assert status == 0
    text = plain(err)
    assert "convert" in text
    assert not re.search(_BYTES, text)  # bytes read, of no known total
    assert re.search(r"[0-9.]+/\? kB", text)
    assert out == b""


def test_progress_keeps_the_readers_error_for_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    argv = ["convert", str(DEMO), str(missing), "-o", str(tmp_path / "out.jsonl")]
    status, err, _ = run_with_terminal_stderr(argv, tmp_path)
    assert status == 2
    assert f"arthur-capture: cannot open {missing}: No such file or directory" in plain(err)


def test_no_progress_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    done = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-m", "arthur_capture", "convert", str(DEMO), "-o", str(tmp_path / "o")],
        capture_output=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0
    assert done.stderr.decode() == DEMO_SUMMARY + "\n"


def test_no_progress_while_stdout_is_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    monkeypatch.setattr(sys, "stdout", Terminal())
    assert _progress.wanted()
    assert not _progress.wanted(writes_stdout=True)
    assert not _progress.wanted(disabled=True)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not _progress.wanted()


def test_progress_total_of_s3_objects_is_their_listed_size(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    pytest.importorskip("boto3")
    from arthur_capture.storage import expand_sources

    data = DEMO.read_bytes()
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="pre/a.jsonl", Body=data[:1000])
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="pre/b.jsonl", Body=data)
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="one.jsonl", Body=data[:500])
    files = [f"{s3_bucket.uri}/pre", f"{s3_bucket.uri}/one.jsonl", str(DEMO)]
    sources = expand_sources(files)
    assert _progress.total_of(files, sources) == 1000 + len(data) + 500 + len(data)
    assert _progress.total_of([*files, "-"], sources) is None  # stdin: no total

    argv = ["convert", f"{s3_bucket.uri}/pre", "-o", str(tmp_path / "out.jsonl")]
    status, err, _ = run_with_terminal_stderr(argv, tmp_path)
    assert status == 1, err  # a.jsonl ends in a cut line
    size = 1000 + len(data)
    assert re.findall(_BYTES, plain(err))[-1] == f"{size / 1000:.1f}/{size / 1000:.1f} kB"


@pytest.mark.parametrize("flag", [[], ["--no-progress"]], ids=["progress", "no-progress"])
def test_upload_progress_on_a_terminal(flag: list[str], tmp_path: Path) -> None:
    pytest.importorskip("httpx")
    from arthur_capture.arthur.schema import ModelSchema
    from arthur_capture.testing import LocalArthur

    schema = ModelSchema.load(CHURN_MODEL)
    token = "t0ken-for-the-test"  # noqa: S105 - the local server's
    with LocalArthur(schema, model_id="m1", token=token) as srv:
        argv = ["upload", str(CHURN), "--host", srv.url, "--model-id", "m1", *flag]
        argv += ["--schema", str(CHURN_MODEL)]
        status, err, out = run_with_terminal_stderr(argv, tmp_path, ARTHUR_ACCESS_TOKEN=token)
    assert status == 1, err  # the fixture's rejects
    size = CHURN.stat().st_size
    shown = re.findall(rf"upload .*?({_BYTES})", plain(err))
    if flag:
        assert shown == []
    else:
        assert shown[-1] == f"{size / 1000:.1f}/{size / 1000:.1f} kB"
    assert out.decode().splitlines()[:2] == [
        CHURN_SUMMARY,
        (
            "6 records to Arthur: 6 accepted, 0 refused, 0 possibly stored, 0 failed, "
            "0 not sent; 1 chunk, 1 request, 0 retries, 0 failed chunks"
        ),
    ]
