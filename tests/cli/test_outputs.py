"""The command line never loses the user's data (issue 9).

1. An output that is an input (or another output) is refused before anything is written.
2. Files are written under a temporary name and renamed into place on success only: after an
   error or a signal the targets hold exactly what they held before, and no temporary file is
   left. A cut JSON array on stdout never gets its closing ``]``.
3. A write error (a full disk, stdout closed or full) is one sentence and exit status 2.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from arthur_capture.cli import _outputs, main
from arthur_capture.cli._common import UsageError, open_out
from tests.conftest import FIXTURES, ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator

DEMO = FIXTURES / "demo" / "demo.jsonl"
INVALID = FIXTURES / "invalid" / "invalid_json.jsonl"
ARTHUR = FIXTURES / "arthur"
CHURN = ARTHUR / "churn_binary.jsonl"
CHURN_MODEL = ARTHUR / "churn_binary.model.json"
OLD = b"the user's previous content\n"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def assert_one_sentence(stderr: str) -> str:
    """One line on stderr, the program's name first, no traceback; the line."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("arthur-capture: "), stderr
    return lines[0]


def temp_files(directory: Path) -> list[Path]:
    """The temporary files an output leaves behind, if any (``.{name}.{random}.tmp``)."""
    return sorted(p for p in directory.iterdir() if p.name.startswith(".") and ".tmp" in p.name)


def cli(
    *args: str | Path, stdout: int | None = subprocess.PIPE, cwd: Path = ROOT
) -> subprocess.CompletedProcess[bytes]:
    """``python -m arthur_capture ARGS`` in a subprocess."""
    return subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "arthur_capture", *map(str, args)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=ENV,
        check=False,
        timeout=120,
    )


def without_stdout(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    """``python -m arthur_capture ARGS >&-``: started with file descriptor 1 closed."""
    return subprocess.run(  # noqa: S603 - our own module, fixed arguments
        ["/bin/sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "arthur_capture"]
        + [str(arg) for arg in args],
        stderr=subprocess.PIPE,
        cwd=ROOT,
        # upload finds what it needs before it would connect (it never gets that far)
        env={**ENV, "ARTHUR_ACCESS_TOKEN": "t", "ARTHUR_HOST": "http://127.0.0.1:9"},
        check=False,
        timeout=120,
    )


def copy_of(source: Path, path: Path) -> Path:
    path.write_bytes(source.read_bytes())
    return path


# --------------------------------------------------------------------------------------------
# 1. never destroy an input


@pytest.mark.parametrize("flag", ["-o", "--rejects", "--summary"])
@pytest.mark.parametrize("how", ["same-name", "relative", "symlink", "hard-link"])
def test_an_output_that_is_an_input_is_refused(
    flag: str, how: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = copy_of(DEMO, tmp_path / "x.jsonl")
    if how == "same-name":
        output = str(capture)
    elif how == "relative":
        output = os.path.relpath(capture)
    elif how == "symlink":
        (tmp_path / "link.jsonl").symlink_to(capture)
        output = str(tmp_path / "link.jsonl")
    else:
        os.link(capture, tmp_path / "hard.jsonl")
        output = str(tmp_path / "hard.jsonl")
    assert main(["convert", str(capture), flag, output]) == 2
    captured = capsys.readouterr()
    line = assert_one_sentence(captured.err)
    assert f"{flag} {output} is the same file as the input {capture}" in line
    assert captured.out == ""
    assert capture.read_bytes() == DEMO.read_bytes()
    assert temp_files(tmp_path) == []


def test_an_output_that_is_the_second_input_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    second = copy_of(DEMO, tmp_path / "second.jsonl")
    assert main(["convert", str(INVALID), str(second), "-o", str(second)]) == 2
    assert "is the same file as the input" in assert_one_sentence(capsys.readouterr().err)
    assert second.read_bytes() == DEMO.read_bytes()


def test_the_check_comes_before_anything_is_opened_for_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = copy_of(INVALID, tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    argv = ["convert", str(capture), "-o", str(out), "--summary", str(capture)]
    assert main(argv) == 2
    assert_one_sentence(capsys.readouterr().err)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(("-o", "a.jsonl"), ("--rejects", "a.jsonl"), id="same-name"),
        pytest.param(("--rejects", "a.jsonl"), ("--summary", "./a.jsonl"), id="another-spelling"),
        pytest.param(("-o", "a.jsonl"), ("--summary", "link.jsonl"), id="symlink-to-a-new-file"),
    ],
)
def test_two_outputs_that_are_one_file_are_refused(
    first: tuple[str, str],
    second: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "link.jsonl").symlink_to("a.jsonl")  # dangling until a.jsonl is written
    assert main(["convert", str(INVALID), *first, *second]) == 2
    line = assert_one_sentence(capsys.readouterr().err)
    assert f"{second[0]} {second[1]} is the same file as {first[0]} {first[1]}" in line
    assert not (tmp_path / "a.jsonl").exists()
    assert temp_files(tmp_path) == []


def test_two_outputs_on_stdout_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(INVALID), "-o", "-", "--rejects", "-"]) == 2
    captured = capsys.readouterr()
    assert "-o and --rejects both write to stdout" in assert_one_sentence(captured.err)
    assert captured.out == ""


def test_devices_may_take_several_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    """Writing to ``/dev/null`` twice destroys nothing: only regular files are compared."""
    argv = ["convert", str(INVALID), "-o", os.devnull, "--rejects", os.devnull]
    assert main(argv) == 1  # the fixture's rejects
    assert capsys.readouterr().err.startswith("7 lines: 2 events, 0 blank, 5 rejected")


def test_stdout_appending_to_an_input_is_refused(tmp_path: Path) -> None:
    capture = copy_of(DEMO, tmp_path / "x.jsonl")
    with capture.open("ab") as append:
        done = cli("convert", capture, stdout=append.fileno())
    assert done.returncode == 2
    assert "stdout is the same file as the input" in assert_one_sentence(done.stderr.decode())
    assert capture.read_bytes() == DEMO.read_bytes()


@pytest.mark.parametrize("name", ["out-00000.parquet", "out-00017.parquet", "out-123456.parquet"])
def test_parquet_chunk_names_never_overwrite_an_input(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = copy_of(CHURN, tmp_path / name)
    argv = ["convert", str(capture), "--format", "parquet", "-o", str(tmp_path / "out.parquet")]
    assert main([*argv, "--schema", str(CHURN_MODEL), "--chunk-rows", "1"]) == 2
    line = assert_one_sentence(capsys.readouterr().err)
    assert f"the input {capture} is one of the chunk files -o" in line
    assert capture.read_bytes() == CHURN.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_parquet_chunk_hard_linked_to_an_input_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = copy_of(CHURN, tmp_path / "in.jsonl")
    (tmp_path / "parts").mkdir()
    os.link(capture, tmp_path / "parts" / "out-00001.parquet")
    out = tmp_path / "parts" / "out.parquet"
    argv = ["convert", str(capture), "--format", "parquet", "-o", str(out)]
    assert main([*argv, "--schema", str(CHURN_MODEL)]) == 2
    assert f"the input {capture} is one of the chunk files -o {out}" in assert_one_sentence(
        capsys.readouterr().err
    )
    assert capture.read_bytes() == CHURN.read_bytes()


def test_rejects_named_like_a_parquet_chunk_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["convert", str(CHURN), "--format", "parquet", "-o", str(tmp_path / "o.parquet")]
    argv += ["--rejects", str(tmp_path / "o-00000.parquet")]
    assert main(argv) == 2
    assert "--rejects" in assert_one_sentence(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_check_outputs_for_other_commands(tmp_path: Path) -> None:
    """The check ``upload --summary`` (or any command writing files) calls."""
    capture = copy_of(DEMO, tmp_path / "x.jsonl")
    with pytest.raises(UsageError, match=r"--summary .* is the same file as the input"):
        _outputs.check_outputs([str(capture)], [("--summary", str(capture))])
    _outputs.check_outputs([str(capture)], [("--summary", str(tmp_path / "summary.json"))])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.jsonl"]


# --------------------------------------------------------------------------------------------
# 2. no silent half files


@pytest.fixture
def previous(tmp_path: Path) -> dict[str, Path]:
    """-o, --rejects and --summary targets that already hold something."""
    paths = {flag: tmp_path / name for flag, name in OUTPUT_NAMES.items()}
    for path in paths.values():
        path.write_bytes(OLD)
    return paths


OUTPUT_NAMES = {"-o": "out.jsonl", "--rejects": "rej.jsonl", "--summary": "sum.json"}


def output_flags(paths: dict[str, Path]) -> list[str]:
    return [item for flag, path in paths.items() for item in (flag, str(path))]


def test_a_successful_run_replaces_the_targets_and_leaves_no_temporary_file(
    previous: dict[str, Path], tmp_path: Path
) -> None:
    assert main(["convert", str(INVALID), *output_flags(previous)]) == 1
    assert len(previous["-o"].read_bytes().splitlines()) == 2
    assert len(previous["--rejects"].read_bytes().splitlines()) == 5
    assert json.loads(previous["--summary"].read_bytes())["rejected_lines"] == 5
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("format_", ["jsonl", "json"])
def test_an_error_mid_run_leaves_every_target_as_it_was(
    format_: str, previous: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The second input cannot be opened after the first one's records were written."""
    missing = tmp_path / "missing.jsonl"
    argv = ["convert", "--format", format_, str(DEMO), str(INVALID), str(missing)]
    assert main([*argv, *output_flags(previous)]) == 2
    line = assert_one_sentence(capsys.readouterr().err)
    assert line == (
        f"arthur-capture: cannot open {missing}: No such file or directory (the output is "
        f"incomplete: nothing was written to {previous['-o']}, {previous['--rejects']} or "
        f"{previous['--summary']})"
    )
    assert all(path.read_bytes() == OLD for path in previous.values())
    assert temp_files(tmp_path) == []


def test_an_error_mid_run_leaves_absent_targets_absent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = {flag: tmp_path / name for flag, name in OUTPUT_NAMES.items()}
    argv = ["convert", str(INVALID), str(tmp_path / "missing.jsonl"), *output_flags(paths)]
    assert main(argv) == 2
    assert "nothing was written to" in assert_one_sentence(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_a_json_array_on_stdout_cut_by_an_error_gets_no_closing_bracket(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["convert", "--format", "json", str(DEMO), str(tmp_path / "missing.jsonl")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("[{")
    assert not captured.out.rstrip().endswith("]")
    line = assert_one_sentence(captured.err)
    assert line.endswith("(the output is incomplete: stdout received only part of it)")


def test_a_full_disk_at_the_end_leaves_every_target_as_it_was(
    previous: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The data reaches the disk (fsync) only at the end: a full disk there changes nothing."""

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    assert main(["convert", str(DEMO), *output_flags(previous)]) == 2
    line = assert_one_sentence(capsys.readouterr().err)
    assert line.startswith(f"arthur-capture: cannot write {previous['-o']}: No space left")
    assert "nothing was written to" in line
    assert all(path.read_bytes() == OLD for path in previous.values())
    assert temp_files(tmp_path) == []


def test_permissions_and_symbolic_links_are_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.jsonl"
    real.write_bytes(OLD)
    real.chmod(0o640)
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    assert main(["convert", str(DEMO), "-o", str(link)]) == 0
    assert link.is_symlink()
    assert real.read_bytes().count(b"\n") == 14
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert temp_files(tmp_path) == []


def test_a_new_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o027)
    try:
        assert main(["convert", str(DEMO), "-o", str(tmp_path / "new.jsonl")]) == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.jsonl").stat().st_mode) == 0o640


def test_open_out_puts_a_file_in_place_only_when_its_block_ends_well(tmp_path: Path) -> None:
    target = tmp_path / "t.jsonl"
    target.write_bytes(OLD)

    def write_then_fail() -> None:
        with open_out(str(target)) as handle:
            handle.write(b"new")
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        write_then_fail()
    assert target.read_bytes() == OLD
    assert temp_files(tmp_path) == []
    with open_out(str(target)) as handle:
        handle.write(b"new")
    assert target.read_bytes() == b"new"
    assert temp_files(tmp_path) == []


def test_dev_stdout_into_a_pipe_is_written_in_place() -> None:
    """``-o /dev/stdout`` names a file descriptor: nothing to rename, the pipe gets it all."""
    done = cli("convert", DEMO, "-o", "/dev/stdout")
    assert done.returncode == 0
    assert done.stdout.count(b"\n") == 14


def test_dev_stdout_appended_to_a_file_keeps_what_was_there(tmp_path: Path) -> None:
    """``-o /dev/stdout >> log``: the log is appended to, never replaced nor truncated."""
    log = tmp_path / "log.jsonl"
    log.write_bytes(OLD)
    with log.open("ab") as append:
        done = cli("convert", DEMO, "-o", "/dev/stdout", stdout=append.fileno())
    assert done.returncode == 0
    assert log.read_bytes().startswith(OLD)
    assert log.read_bytes().count(b"\n") == 1 + 14
    assert temp_files(tmp_path) == []


def test_a_failed_parquet_run_keeps_the_files_that_were_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a schema the churn fixture has a mixed column: the third chunk fails."""
    old = {name: tmp_path / name for name in ("out.parquet", "out-00000.parquet", "rej.jsonl")}
    for path in old.values():
        path.write_bytes(OLD)
    argv = ["convert", str(CHURN), "--format", "parquet", "-o", str(old["out.parquet"])]
    argv += ["--chunk-rows", "2", "--rejects", str(old["rej.jsonl"])]
    assert main(argv) == 2
    line = assert_one_sentence(capsys.readouterr().err)
    assert "cannot be written as Parquet" in line
    assert line.endswith(
        f"(the output is incomplete: nothing was written to {old['out.parquet']} (or its chunk "
        f"files) or {old['rej.jsonl']})"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(old)
    assert all(path.read_bytes() == OLD for path in old.values())


# --------------------------------------------------------------------------------------------
# 3. write errors are one sentence


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["convert", DEMO, "-o", "/dev/full"], id="convert-o"),
        pytest.param(["convert", DEMO, "--format", "json", "-o", "/dev/full"], id="convert-json"),
        pytest.param(["convert", INVALID, "--rejects", "/dev/full"], id="convert-rejects"),
        pytest.param(["convert", DEMO, "--summary", "/dev/full"], id="convert-summary"),
        pytest.param(
            ["convert", CHURN, "--schema", CHURN_MODEL, "--format", "parquet", "-o", "/dev/full"],
            id="convert-parquet",
        ),
    ],
)
def test_a_full_device_is_one_sentence_and_exit_2(argv: list[str | Path]) -> None:
    done = cli(*argv)
    assert done.returncode == 2
    line = assert_one_sentence(done.stderr.decode())
    assert line.startswith("arthur-capture: cannot write /dev/full: No space left on device")


STDOUT_COMMANDS = [
    pytest.param(["preview", DEMO], id="preview"),
    pytest.param(["convert", DEMO], id="convert"),
    pytest.param(["convert", DEMO, "--format", "json"], id="convert-json"),
    pytest.param(["convert", INVALID, "-o", os.devnull, "--rejects", "-"], id="convert-rejects"),
    pytest.param(["validate", "--schema", CHURN_MODEL, CHURN], id="validate"),
]


@pytest.mark.parametrize("argv", STDOUT_COMMANDS)
def test_a_full_stdout_is_one_sentence_and_exit_2(argv: list[str | Path]) -> None:
    with Path("/dev/full").open("wb") as full:
        done = cli(*argv, stdout=full.fileno())
    assert done.returncode == 2
    line = assert_one_sentence(done.stderr.decode())
    assert line.startswith("arthur-capture: cannot write to stdout: No space left on device")


@pytest.mark.parametrize("argv", [*STDOUT_COMMANDS, pytest.param(["upload", DEMO], id="upload")])
def test_a_closed_stdout_is_one_sentence_and_exit_2(argv: list[str | Path]) -> None:
    """``>&-``: the command starts without a stdout, and says so before doing anything."""
    done = without_stdout(*argv)
    assert done.returncode == 2
    line = assert_one_sentence(done.stderr.decode())
    assert line == "arthur-capture: cannot write to stdout: it is closed"


@pytest.mark.parametrize("argv", STDOUT_COMMANDS[:3])
def test_a_stdout_closed_while_running_is_one_sentence_and_exit_2(
    argv: list[str | Path],
) -> None:
    """The file descriptor goes away after Python set stdout up: every write fails."""
    launcher = "import os, runpy; os.close(1); runpy.run_module('arthur_capture', {}, '__main__')"
    done = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-c", launcher, *map(str, argv)],
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=ENV,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2
    line = assert_one_sentence(done.stderr.decode())
    assert line.startswith("arthur-capture: cannot write to stdout: Bad file descriptor")


def test_convert_to_a_file_needs_no_stdout(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    done = without_stdout("convert", DEMO, "-o", out)
    assert done.returncode == 0
    assert out.read_bytes().count(b"\n") == 14


# --------------------------------------------------------------------------------------------
# large runs: signals and broken pipes (slow)


@pytest.fixture(scope="module")
def big_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 240 MB of generated capture lines: a convert takes several seconds."""
    directory = tmp_path_factory.mktemp("big")
    seed = directory / "seed.jsonl"
    subprocess.run(  # noqa: S603 - our own benchmark generator
        [sys.executable, str(ROOT / "benchmarks" / "generate.py"), str(seed), "--size-mb", "8"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    big = directory / "big.jsonl"
    chunk = seed.read_bytes()
    with big.open("wb") as out:
        for _ in range(30):
            out.write(chunk)
    return big


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Children to kill if a test fails half-way."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def start(
    processes: list[subprocess.Popen[bytes]], *args: str | Path, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "arthur_capture", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=ENV,
    )
    processes.append(proc)
    return proc


def wait_for_temp_files(directory: Path, proc: subprocess.Popen[bytes], count: int = 1) -> None:
    """Until ``count`` temporary files exist and hold data (the run is well under way)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        found = temp_files(directory)
        if len(found) >= count and any(p.stat().st_size > 0 for p in found):
            return
        time.sleep(0.01)
    pytest.fail("no temporary output file appeared")


SIGNALS = [
    pytest.param(name, marks=pytest.mark.skipif(not hasattr(signal, name), reason="no " + name))
    for name in ("SIGTERM", "SIGINT", "SIGHUP")
]


@pytest.mark.slow
@pytest.mark.parametrize("name", SIGNALS)
def test_a_signal_leaves_every_target_as_it_was(
    name: str,
    big_capture: Path,
    previous: dict[str, Path],
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    signum = getattr(signal, name)
    proc = start(processes, "convert", big_capture, *output_flags(previous))
    wait_for_temp_files(tmp_path, proc, count=3)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum
    assert out == b""
    line = assert_one_sentence(err.decode())
    assert line == (
        f"arthur-capture: interrupted by {name} (the output is incomplete: nothing was written "
        f"to {previous['-o']}, {previous['--rejects']} or {previous['--summary']})"
    )
    assert all(path.read_bytes() == OLD for path in previous.values())
    assert temp_files(tmp_path) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", SIGNALS)
def test_a_signal_leaves_absent_targets_absent(
    name: str, big_capture: Path, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    signum = getattr(signal, name)
    proc = start(processes, "convert", big_capture, "-o", tmp_path / "out.jsonl")
    wait_for_temp_files(tmp_path, proc)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum
    assert "the output is incomplete" in assert_one_sentence(err.decode())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_signal_during_parquet_keeps_the_files_that_were_there(
    big_capture: Path, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    old = {name: tmp_path / name for name in ("out.parquet", "out-00000.parquet")}
    for path in old.values():
        path.write_bytes(OLD)
    argv: list[str | Path] = ["convert", big_capture, "--format", "parquet"]
    proc = start(processes, *argv, "-o", old["out.parquet"], "--chunk-rows", "5000")
    wait_for_temp_files(tmp_path, proc, count=2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    line = assert_one_sentence(err.decode())
    assert line == (
        "arthur-capture: interrupted by SIGTERM (the output is incomplete: nothing was written "
        f"to {old['out.parquet']} (or its chunk files))"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(old)
    assert all(path.read_bytes() == OLD for path in old.values())


@pytest.mark.slow
@pytest.mark.parametrize("name", SIGNALS)
def test_a_signal_cuts_a_json_array_on_stdout_without_closing_it(
    name: str, big_capture: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    signum = getattr(signal, name)
    proc = start(processes, "convert", "--format", "json", big_capture)
    assert proc.stdout is not None
    head = proc.stdout.read(1 << 20)  # well under way, blocked on the pipe
    proc.send_signal(signum)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum
    assert head.startswith(b"[{")
    assert not (head + rest).rstrip().endswith(b"]")
    line = assert_one_sentence(err.decode())
    assert line == (
        f"arthur-capture: interrupted by {name} "
        "(the output is incomplete: stdout received only part of it)"
    )


@pytest.mark.slow
def test_a_reader_that_stops_early_is_quiet(
    big_capture: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    """``| head``: the reader had what it wanted; nothing else was asked for."""
    proc = start(processes, "convert", big_capture)
    assert proc.stdout is not None
    assert proc.stderr is not None
    assert proc.stdout.read(1000)
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    assert proc.stderr.read() == b""


@pytest.mark.slow
def test_a_reader_that_stops_early_does_not_hide_a_lost_file(
    big_capture: Path, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    """``--rejects FILE | head``: the dead letters were not all written, so it is an error."""
    rejects = tmp_path / "rej.jsonl"
    rejects.write_bytes(OLD)
    proc = start(processes, "convert", big_capture, "--rejects", rejects)
    assert proc.stdout is not None
    assert proc.stderr is not None
    assert proc.stdout.read(1000)
    proc.stdout.close()
    assert proc.wait(timeout=60) == 2
    line = assert_one_sentence(proc.stderr.read().decode())
    assert line == (
        "arthur-capture: stdout was closed before the output ended (the output is incomplete: "
        f"stdout received only part of it; nothing was written to {rejects})"
    )
    assert rejects.read_bytes() == OLD
    assert temp_files(tmp_path) == []
