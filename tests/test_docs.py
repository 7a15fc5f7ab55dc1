"""Every example in README.md and docs/*.md runs, and shows what the program really prints.

- Each ```python block runs in a fresh interpreter (a subprocess), from the repository root,
  compiled under the document's name and line numbers, so a traceback points into the doc.
  The blocks of docs/spark.md build their session with ``SparkSession.builder.getOrCreate()``;
  here that is a local master, with the Python workers on this interpreter.
- Each ```sh block that runs ``arthur-capture`` (or the local Arthur) runs command by command
  in a scratch folder holding ``fixtures`` (the repository's), with this interpreter's ``bin``
  first on ``PATH``; every command must exit 0 or 1 (1: something was rejected), without a
  traceback.
- Each ```console block runs its ``$ `` commands the same way, and their output (stdout and
  stderr) must be the lines shown under them. ``…`` in a shown line stands for any text; a
  line that is only ``…`` stands for any number of lines.
- ``python -m arthur_capture.testing`` (the local Arthur) starts in the background, as in a
  second shell: the command returns once the server prints its URL (the one a ``# http://…``
  comment under it shows, if any). The server stays up for the rest of its block and, started
  afresh, for each later shell block of the same document. The doc's fixed port (``--port N``,
  ``127.0.0.1:N``) is moved to a free one, the same in every command, so runs may overlap.

Other blocks (```json, ```toml, ```text, and shell blocks that install or set things up) are
shown, not run.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
BIN = Path(sys.executable).parent
SHELL_LANGUAGES = ("sh", "console")
ELLIPSIS = "…"
PYTHON_TIMEOUT = 120
SPARK_TIMEOUT = 600
COMMAND_TIMEOUT = 120
SERVER_START_TIMEOUT = 30

# Runs one block in a fresh interpreter: the code comes on stdin, padded so that its line
# numbers are the document's; sys.argv is the document alone, as for a script run bare.
RUNNER = """
import sys
path, line = sys.argv[1], int(sys.argv[2])
source = "\\n" * line + sys.stdin.read()
sys.argv = [path]
exec(compile(source, path, "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
"""

# The environment variables a doc's commands must not inherit from the one running the tests.
CLEARED = ("ARTHUR_ACCESS_TOKEN", "ARTHUR_HOST", "ARTHUR_MODEL_ID", "ARTHUR_ORGANIZATION_ID")

SPARK_ENV = {
    "PYSPARK_PYTHON": sys.executable,
    "PYSPARK_DRIVER_PYTHON": sys.executable,
    "SPARK_LOCAL_IP": "127.0.0.1",
    "PYSPARK_SUBMIT_ARGS": (
        "--master local[2] --conf spark.ui.enabled=false --conf spark.ui.showConsoleProgress=false"
        " --conf spark.sql.shuffle.partitions=2 --conf spark.driver.host=127.0.0.1"
        " --conf spark.driver.bindAddress=127.0.0.1 pyspark-shell"
    ),
}


@dataclass(frozen=True)
class Block:
    """One fenced code block of a document."""

    path: Path
    line: int
    """1-based line of the opening fence (the code starts on the next line)."""
    language: str
    code: str

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"

    @property
    def spark(self) -> bool:
        return self.path.name == "spark.md"


def blocks_of(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file (fences start at column 0)."""
    found: list[Block] = []
    opening: tuple[int, str] | None = None
    body: list[str] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.startswith("```"):
            if opening is not None:
                body.append(text)
            continue
        if opening is None:
            opening = (number, text[3:].strip())
            body = []
        else:
            found.append(Block(path, opening[0], opening[1], "\n".join(body) + "\n"))
            opening = None
    assert opening is None, f"{path.name}:{opening[0]}: the block is never closed"
    return found


BLOCKS = [block for document in DOCUMENTS for block in blocks_of(document)]


# --------------------------------------------------------------------------- shell commands


@dataclass(frozen=True)
class Command:
    """One shell command of a block, with the output a console block shows for it."""

    text: str
    words: tuple[str, ...]
    """The command's words, without leading ``NAME=value`` assignments."""
    expected: tuple[str, ...] | None = None
    """The lines shown under it (console blocks only)."""
    url: str | None = None
    """For a server: the URL the block says it prints (a ``# http://…`` comment after it)."""

    @property
    def is_export(self) -> bool:
        return self.words[:1] == ("export",)

    @property
    def is_server(self) -> bool:
        return self.words[:3] == ("python", "-m", "arthur_capture.testing")

    @property
    def runs_cli(self) -> bool:
        return self.words[:1] == ("arthur-capture",)


_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def _command(text: str, expected: tuple[str, ...] | None = None) -> Command:
    words = shlex.split(text, comments=True)
    while words and _ASSIGNMENT.match(words[0]):
        words = words[1:]
    return Command(text, tuple(words), expected)


def _logical_lines(code: str) -> Iterator[str]:
    """Lines with ``\\`` continuations joined."""
    pending = ""
    for raw in code.splitlines():
        if raw.endswith("\\"):
            pending += raw[:-1]
            continue
        yield pending + raw
        pending = ""
    if pending:
        yield pending


def commands_of(block: Block) -> list[Command]:
    """A sh block's commands, or a console block's ``$`` commands with their output."""
    commands: list[Command] = []
    if block.language == "sh":
        for line in _logical_lines(block.code):
            stripped = line.strip()
            if stripped.startswith("# http") and commands and commands[-1].is_server:
                last = commands[-1]
                commands[-1] = Command(last.text, last.words, url=stripped[2:].strip())
            elif stripped and not stripped.startswith("#"):
                commands.append(_command(stripped))
        return commands
    current: str | None = None
    output: list[str] = []
    continued = False  # a ``\`` ends the command line: the next line goes on with it
    for line in block.code.splitlines():
        if continued:
            assert current is not None
            current, continued = current + line.removesuffix("\\"), line.endswith("\\")
        elif line.startswith("$ "):
            if current is not None:
                commands.append(_command(current, tuple(output)))
            current, output = line[2:].removesuffix("\\"), []
            continued = line.endswith("\\")
        else:
            assert current is not None, f"{block.name}: output before the first $ command"
            output.append(line)
    if current is not None:
        commands.append(_command(current, tuple(output)))
    return commands


def runs(block: Block) -> bool:
    """Whether a shell block is run: every console block; a sh block that runs the CLI or the
    local Arthur (installs, builds and jobs for other machines are shown, not run)."""
    if block.language == "console":
        return True
    return block.language == "sh" and any(c.runs_cli or c.is_server for c in commands_of(block))


def matches(expected: tuple[str, ...], actual: str) -> bool:
    """Whether the output is the lines shown, ``…`` standing for any text (or lines)."""
    while expected and not expected[-1].strip():
        expected = expected[:-1]
    pattern = ""
    for line in expected:
        if line.strip() == ELLIPSIS:
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += ".*?".join(re.escape(part) for part in line.rstrip().split(ELLIPSIS))
            pattern += r"[ \t]*\n"
    lines = [line.rstrip() for line in actual.splitlines()]
    text = "".join(f"{line}\n" for line in lines)
    return re.fullmatch(pattern, text) is not None


class Server:
    """The local Arthur, started in the background as a second shell would run it."""

    def __init__(self, command: Command, cwd: Path, env: dict[str, str]) -> None:
        self.command = command
        self.process = subprocess.Popen(  # noqa: S603 - the doc's own command
            ["bash", "-c", f"exec {command.text}"],  # noqa: S607
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        first: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(
            target=self._first_line, args=(self.process.stdout, first), daemon=True
        )
        self._reader.start()
        try:
            self.url = first.get(timeout=SERVER_START_TIMEOUT).strip()
        except queue.Empty:
            self.stop()
            pytest.fail(f"{command.text!r} printed no URL in {SERVER_START_TIMEOUT} s")
        if not self.url:
            _, err = self.process.communicate(timeout=COMMAND_TIMEOUT)
            pytest.fail(f"{command.text!r} did not start:\n{err}")
        if command.url is not None:
            assert self.url == command.url, f"{command.text!r} printed {self.url}"

    @staticmethod
    def _first_line(stream: IO[str], first: queue.Queue[str]) -> None:
        first.put(stream.readline())
        stream.read()  # keep the pipe drained

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.communicate(timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()


class Shell:
    """Runs a block's commands one by one, in one folder, with the block's exports."""

    def __init__(self, cwd: Path, servers: list[Server]) -> None:
        self.cwd = cwd
        self.servers = servers
        env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        self.env = env

    def run(self, command: Command, *, where: str) -> None:
        if command.is_export:
            for assignment in command.words[1:]:
                name, _, value = assignment.partition("=")
                self.env[name] = value
            return
        if command.is_server:
            self.servers.append(Server(command, self.cwd, dict(self.env)))
            return
        result = subprocess.run(  # noqa: S603 - the doc's own command
            ["bash", "-c", command.text],  # noqa: S607
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        shown = f"{where}: $ {command.text}\n(exit {result.returncode})\n{result.stdout}"
        assert result.returncode in {0, 1}, shown
        assert "Traceback" not in result.stdout, shown
        if command.expected is not None:
            expected = "\n".join(command.expected)
            assert matches(command.expected, result.stdout), (
                f"{shown}\n--- the doc shows:\n{expected}"
            )


def _scratch(tmp_path: Path) -> Path:
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures", target_is_directory=True)
    return tmp_path


SHELL_BLOCKS = [b for b in BLOCKS if b.language in SHELL_LANGUAGES and runs(b)]


_PORT = re.compile(r"(?<=--port )\d+\b|(?<=127\.0\.0\.1:)\d+\b")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _on_free_ports(commands: list[Command], ports: dict[str, str]) -> list[Command]:
    """The commands with the doc's fixed ports moved to free ones (runs may overlap)."""

    def free(match: re.Match[str]) -> str:
        if match.group() not in ports:
            ports[match.group()] = str(_free_port())
        return ports[match.group()]

    def move(text: str) -> str:
        return _PORT.sub(free, text)

    moved = []
    for command in commands:
        again = _command(move(command.text), command.expected)
        url = None if command.url is None else move(command.url)
        moved.append(Command(again.text, again.words, again.expected, url))
    return moved


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.name)
def test_shell_block(block: Block, tmp_path: Path) -> None:
    cwd = _scratch(tmp_path)
    servers: list[Server] = []
    ports: dict[str, str] = {}
    try:
        # Servers started by earlier blocks of the document are still up (another shell).
        for earlier in BLOCKS:
            if earlier.path != block.path or earlier.line >= block.line:
                continue
            if earlier.language not in SHELL_LANGUAGES:
                continue
            other = Shell(cwd, servers)
            for command in _on_free_ports(commands_of(earlier), ports):
                if command.is_export or command.is_server:
                    other.run(command, where=earlier.name)
        shell = Shell(cwd, servers)
        for command in _on_free_ports(commands_of(block), ports):
            shell.run(command, where=block.name)
    finally:
        for server in servers:
            server.stop()


# --------------------------------------------------------------------------- Python blocks


def run_python(block: Block, env: dict[str, str], timeout: int) -> None:
    result = subprocess.run(  # noqa: S603 - this interpreter, the doc's own code
        [sys.executable, "-c", RUNNER, block.path.relative_to(ROOT).as_posix(), str(block.line)],
        input=block.code,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{block.name}: exit {result.returncode}\n--- stdout\n{result.stdout[-4000:]}"
        f"\n--- stderr\n{result.stderr[-8000:]}"
    )


PYTHON_BLOCKS = [b for b in BLOCKS if b.language == "python" and not b.spark]
SPARK_BLOCKS = [b for b in BLOCKS if b.language == "python" and b.spark]


def _python_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env["TMPDIR"] = str(tmp_path)  # what a block writes with tempfile lands in pytest's folder
    return env


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.name)
def test_python_block(block: Block, tmp_path: Path) -> None:
    run_python(block, _python_env(tmp_path), PYTHON_TIMEOUT)


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.parametrize("block", SPARK_BLOCKS, ids=lambda b: b.name)
def test_spark_block(block: Block, tmp_path: Path) -> None:
    env = _python_env(tmp_path)
    env.update(SPARK_ENV)
    run_python(block, env, SPARK_TIMEOUT)


# --------------------------------------------------------------------------- the collection


def test_every_example_is_collected() -> None:
    """The docs hold Python and CLI examples, and each is run by one of the tests above."""
    assert PYTHON_BLOCKS
    assert SPARK_BLOCKS
    assert SHELL_BLOCKS
    for block in BLOCKS:
        if block.language in {"py", "python3", "bash", "shell", "shell-session"}:
            pytest.fail(f"{block.name}: say ```python, ```sh or ```console, so it is run")
        if block.language == "sh" and not runs(block):
            # Shown, not run (installs, dev.py, jobs): none may call the CLI another way.
            for command in commands_of(block):
                assert not any(w.endswith("/arthur-capture") for w in command.words), block.name


def test_the_output_matcher() -> None:
    assert matches(("a", "b"), "a\nb\n")
    assert matches(("a…c",), "abbbc")
    assert matches(("a", "…", "d"), "a\nb\nc\nd")
    assert matches(("a", "…", "b"), "a\nb")
    assert not matches(("a", "b"), "a\nb\nc")
    assert not matches(("a…c",), "ab")
    assert not matches(("a.c",), "abc")
