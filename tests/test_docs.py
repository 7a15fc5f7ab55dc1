"""Every example in README.md and docs/*.md runs, and shows what the program really prints.

Every fenced block says its language, and every ```python, ```sh and ```console block runs
here, unless the line right above its fence says why it cannot: ``<!-- not-run: REASON -->``
(a deployment to AWS, a job on a cluster, a run of an hour). Those are listed by
``test_blocks_that_do_not_run``, which still compiles them (``compile``, ``bash -n``) and
bounds their number. ```json, ```toml, ```yaml and ```text blocks are data or drawings: a
```text block that holds a command or Python fails (say its language and run it).

- Each ```python block runs in a fresh interpreter (a subprocess), from the repository root,
  compiled under the document's name and line numbers, so a traceback points into the doc.
  The blocks of docs/spark.md build their session with ``SparkSession.builder.getOrCreate()``;
  here the machine's Spark configuration (``PYSPARK_SUBMIT_ARGS``: a local master without UI,
  on loopback) stands for a cluster's. ``PYSPARK_PYTHON`` is *not* set for them (it is even
  removed from the environment): the doc sets it as a user must.
- Each ```sh block runs command by command in a scratch folder holding links to the
  repository's ``fixtures``, ``fuzz``, ``benchmarks``, ``deploy`` and ``dev.py``, with this
  interpreter's ``bin`` first on ``PATH`` and ``COLUMNS=80`` (an 80-column terminal); every
  command must exit 0 or 1 (1: something was rejected), without a traceback.
- Each ```console block runs its ``$ `` commands the same way, and their output (stdout and
  stderr) must be the lines shown under them. ``…`` in a shown line stands for any text; a
  line that is only ``…`` stands for any number of lines.
- Set-up commands run for what they are, here:

  * ``pip install -e '.[EXTRA,…]'`` (or ``pip install .``) is checked, not run: the target
    must be this clone (arthur-capture is not on PyPI: any other target fails), every extra
    must be one of pyproject.toml's, and every requirement it brings (the base ones, the
    extras', recursively) must already be installed in this environment at a version it
    allows. That is what the command would find here (this environment is ``.[dev]``, which
    holds every extra the docs name); running pip itself would need the build backend from
    an index (no network in a sandbox, about 20 s a line) and would reinstall the package
    under other test runs.
  * ``. .venv/bin/activate`` puts the clone's ``.venv/bin`` first on ``PATH`` for the rest
    of the block, as activating does; ``python3 dev.py …`` runs as written (the stamp of
    ``.venv`` says it is installed, so ``preview`` and ``run`` only run the CLI; before the
    first one, ``dev.py run --version`` runs once, quietly, so that an install after a change
    of ``pyproject.toml`` does not print into the output the doc shows).

- ``python -m arthur_capture.testing`` (the local Arthur) starts in the background, as in a
  second shell: the command returns once the server prints its URL (the one a ``# http://…``
  comment under it shows, if any). The server stays up for the rest of its block and, started
  afresh, for each later shell block of the same document; so do the ``export``s of earlier
  blocks (a reader follows a page in one shell, or two). The doc's fixed port (``--port N``,
  ``127.0.0.1:N``) is moved to a free one, the same in every command, so runs may overlap.

Update mode: ``ARTHUR_CAPTURE_UPDATE_DOCS=1 python -m pytest tests/test_docs.py`` rewrites, in
place, the shown output of every console command whose output no longer matches, with what it
printed (free ports put back to the doc's; ``…`` elisions of a rewritten command are lost, so
check ``git diff``). A command that fails (exit 2, a traceback) still fails the test.
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
import tomllib
from collections import Counter
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
BIN = Path(sys.executable).parent
SHELL_LANGUAGES = ("sh", "console")
RUN_LANGUAGES = ("python", *SHELL_LANGUAGES)
DATA_LANGUAGES = ("json", "toml", "yaml", "text")
ELLIPSIS = "…"
PYTHON_TIMEOUT = 120
SPARK_TIMEOUT = 600
COMMAND_TIMEOUT = 120
SERVER_START_TIMEOUT = 30
UPDATE = os.environ.get("ARTHUR_CAPTURE_UPDATE_DOCS") == "1"
NOT_RUN_AT_MOST = 10
"""Blocks marked not-run, in all the docs: a new one must be worth raising this."""
SCRATCH_LINKS = ("fixtures", "fuzz", "benchmarks", "deploy", "dev.py")
"""What a shell block's scratch folder holds, linked from the repository."""

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
# ... and a Spark block's: the doc says which Python the workers run.
SPARK_CLEARED = ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")

SPARK_ENV = {
    "SPARK_LOCAL_IP": "127.0.0.1",
    "PYSPARK_SUBMIT_ARGS": (
        "--master local[2] --conf spark.ui.enabled=false --conf spark.ui.showConsoleProgress=false"
        " --conf spark.sql.shuffle.partitions=2 --conf spark.driver.host=127.0.0.1"
        " --conf spark.driver.bindAddress=127.0.0.1 pyspark-shell"
    ),
}

_NOT_RUN = re.compile(r"<!--\s*not-run:\s*(?P<reason>.*?)\s*-->")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a document."""

    path: Path
    line: int
    """1-based line of the opening fence (the code starts on the next line)."""
    language: str
    code: str
    not_run: str | None = None
    """Why it is not run: the ``<!-- not-run: … -->`` comment right above its fence."""

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"

    @property
    def document(self) -> str:
        return self.path.relative_to(ROOT).as_posix()

    @property
    def spark(self) -> bool:
        return self.path.name == "spark.md"

    @property
    def text(self) -> str:
        """The block as it stands in the document, fences included."""
        return f"```{self.language}\n{self.code}```"


def blocks_of(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file (fences start at column 0)."""
    found: list[Block] = []
    opening: tuple[int, str, str | None] | None = None
    body: list[str] = []
    above = ""
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.startswith("```"):
            if opening is not None:
                body.append(text)
            above = text
            continue
        if opening is None:
            marker = _NOT_RUN.fullmatch(above.strip())
            opening = (number, text[3:].strip(), None if marker is None else marker["reason"])
            body = []
        else:
            code = "\n".join(body) + "\n" if body else ""
            found.append(Block(path, opening[0], opening[1], code, opening[2]))
            opening = None
        above = text
    assert opening is None, f"{path.name}:{opening[0]}: the block is never closed"
    return found


BLOCKS = [block for document in DOCUMENTS for block in blocks_of(document)]


def runs(block: Block) -> bool:
    """Whether the tests run a block: every Python and shell block not marked not-run."""
    return block.language in RUN_LANGUAGES and block.not_run is None


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
    def is_activate(self) -> bool:
        return len(self.words) == 2 and self.words[0] in {".", "source"}

    @property
    def pip_install(self) -> tuple[str, ...] | None:
        """The arguments of a ``pip install`` (``python -m pip install``) command."""
        words = self.words
        if words[:1] in {("python",), ("python3",)} and words[1:3] == ("-m", "pip"):
            words = words[2:]
        if words[:2] == ("pip", "install"):
            return words[2:]
        return None


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


def _console_lines(code: str) -> Iterator[tuple[bool, str]]:
    """A console block's lines, each with whether it belongs to a ``$`` command."""
    continued = False
    for line in code.splitlines():
        if continued or line.startswith("$ "):
            continued = line.endswith("\\")
            yield True, line
        else:
            yield False, line


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
    previous_was_command = False
    for is_command, line in _console_lines(block.code):
        if is_command and previous_was_command:  # a continuation line
            assert current is not None
            current += line.removesuffix("\\")
        elif is_command:
            if current is not None:
                commands.append(_command(current, tuple(output)))
            current, output = line[2:].removesuffix("\\"), []
        else:
            assert current is not None, f"{block.name}: output before the first $ command"
            output.append(line)
        previous_was_command = is_command and line.endswith("\\")
    if current is not None:
        commands.append(_command(current, tuple(output)))
    return commands


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


def rewrite_console(code: str, outputs: list[str | None]) -> str:
    """A console block's code with the output of command ``i`` replaced by ``outputs[i]``
    (``None``: kept as shown). Lines lose trailing blanks; trailing empty lines go."""
    result: list[str] = []
    index = -1
    replacing = False
    continued = False  # the last command line ended with ``\\``
    for is_command, line in _console_lines(code):
        if not is_command:
            if not replacing:
                result.append(line)
            continue
        if not continued:  # a new command
            index += 1
            replacing = outputs[index] is not None
        result.append(line)
        continued = line.endswith("\\")
        if replacing and not continued:
            new = (outputs[index] or "").splitlines()
            while new and not new[-1].strip():
                new.pop()
            result.extend(n.rstrip() for n in new)
    return "".join(f"{line}\n" for line in result)


def _update_document(block: Block, new_code: str) -> None:
    """Replace the block's code in its document (found by its text: line numbers move)."""
    text = block.path.read_text(encoding="utf-8")
    old = block.text
    assert text.count(old) == 1, f"{block.name}: the block is not found once in the document"
    block.path.write_text(text.replace(old, f"```{block.language}\n{new_code}```"), "utf-8")


# --------------------------------------------------------------------------- installs


def _pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        project: dict[str, object] = tomllib.load(file)["project"]
    return project


_PROJECT_TARGET = re.compile(r"\.(?:\[(?P<extras>[A-Za-z0-9_,\- ]*)\])?/?")


def _unmet(requirement: Requirement, extra: str) -> str | None:
    """Why the installed environment does not meet a requirement (None: it does)."""
    if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
        return None
    try:
        version = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        return f"{requirement} is not installed"
    if not requirement.specifier.contains(version, prereleases=True):
        return f"{requirement} is installed at {version}"
    return None


def install_problems(arguments: tuple[str, ...]) -> list[str]:
    """What a ``pip install ARGUMENTS`` of the docs would not find here (see the docstring)."""
    project = _pyproject()
    name = canonicalize_name(str(project["name"]))
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})  # type: ignore[assignment]
    problems: list[str] = []
    targets = [a for a in arguments if not a.startswith("-")]
    if not targets:
        return ["installs nothing"]
    extras: list[str] = []
    for target in targets:
        match = _PROJECT_TARGET.fullmatch(target)
        if match is None:
            problems.append(
                f"installs {target!r}: arthur-capture is not on PyPI; install it from the clone"
                " ('.', '.[extra]')"
            )
            continue
        extras += [e.strip() for e in (match["extras"] or "").split(",") if e.strip()]
    seen: set[str] = set()
    requirements = [(Requirement(r), "") for r in project.get("dependencies", [])]  # type: ignore[attr-defined]
    while extras:
        extra = extras.pop()
        if extra in seen:
            continue
        seen.add(extra)
        if extra not in optional:
            problems.append(f"arthur-capture has no extra {extra!r}")
            continue
        for text in optional[extra]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == name:
                extras += sorted(requirement.extras)
            else:
                requirements.append((requirement, extra))
    problems += [p for r, e in requirements if (p := _unmet(r, e)) is not None]
    return problems


# --------------------------------------------------------------------------- running shells


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
        env["COLUMNS"] = "80"
        self.env = env

    def run(self, command: Command, *, where: str) -> str | None:
        """Run one command; its output when it shows one that no longer matches (update
        mode), else None."""
        if command.is_export:
            for assignment in command.words[1:]:
                name, _, value = assignment.partition("=")
                self.env[name] = value
            return None
        if command.is_server:
            self.servers.append(Server(command, self.cwd, dict(self.env)))
            return None
        if command.is_activate:
            script = ROOT / command.words[1]
            assert script.is_file(), f"{where}: $ {command.text}: there is no {script}"
            self.env["VIRTUAL_ENV"] = str(script.parent.parent)
            self.env["PATH"] = f"{script.parent}{os.pathsep}{self.env['PATH']}"
            return None
        if command.words[:2] in {("python3", "dev.py"), ("python", "dev.py")}:
            _set_up_dev_py()
        arguments = command.pip_install
        if arguments is not None:
            problems = install_problems(arguments)
            assert not problems, f"{where}: $ {command.text}\n" + "\n".join(problems)
            return None
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
        if command.expected is None or matches(command.expected, result.stdout):
            return None
        if UPDATE:
            return result.stdout
        expected = "\n".join(command.expected)
        pytest.fail(f"{shown}\n--- the doc shows:\n{expected}")


_DEV_PY_SET_UP: list[bool] = []


def _set_up_dev_py() -> None:
    """Let ``dev.py`` set up ``.venv`` once, quietly, before a doc's first ``dev.py`` command:
    the docs show what it prints once it is set up (after ``pyproject.toml`` changed, its first
    run also installs, and says so)."""
    if not _DEV_PY_SET_UP:
        subprocess.run(  # noqa: S603
            [sys.executable, str(ROOT / "dev.py"), "run", "--version"],
            cwd=ROOT,
            capture_output=True,
            timeout=600,
            check=True,
        )
        _DEV_PY_SET_UP.append(True)


def _scratch(tmp_path: Path) -> Path:
    for name in SCRATCH_LINKS:
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=(ROOT / name).is_dir())
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


def _ports_back(output: str, ports: dict[str, str]) -> str:
    """An output with the free ports given back their numbers in the doc."""
    for shown, free in ports.items():
        output = re.sub(rf"(?<=127\.0\.0\.1:){free}\b|(?<=--port ){free}\b", shown, output)
    return output


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.name)
def test_shell_block(block: Block, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cwd = _scratch(tmp_path)
    servers: list[Server] = []
    ports: dict[str, str] = {}
    outputs: list[str | None] = []
    try:
        # Servers started by earlier blocks of the document are still up (another shell), and
        # what they exported is still set (the reader's shell).
        shell = Shell(cwd, servers)
        for earlier in SHELL_BLOCKS:
            if earlier.path != block.path or earlier.line >= block.line:
                continue
            for command in _on_free_ports(commands_of(earlier), ports):
                if command.is_export or command.is_server:
                    shell.run(command, where=earlier.name)
        for command in _on_free_ports(commands_of(block), ports):
            output = shell.run(command, where=block.name)
            outputs.append(None if output is None else _ports_back(output, ports))
    finally:
        for server in servers:
            server.stop()
    if any(output is not None for output in outputs):  # update mode only
        assert block.language == "console"
        _update_document(block, rewrite_console(block.code, outputs))
        with capsys.disabled():
            print(f"\n{block.name}: rewrote the output shown for {block.document}")


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


PYTHON_BLOCKS = [b for b in BLOCKS if b.language == "python" and runs(b) and not b.spark]
SPARK_BLOCKS = [b for b in BLOCKS if b.language == "python" and runs(b) and b.spark]


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
    env = {k: v for k, v in _python_env(tmp_path).items() if k not in SPARK_CLEARED}
    env.update(SPARK_ENV)
    # The workers start ``python3`` from PATH unless the doc says otherwise: make sure that is
    # not an interpreter with arthur_capture (as for a user whose venv is not activated).
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if Path(p).resolve() != BIN.resolve()
    )
    run_python(block, env, SPARK_TIMEOUT)


# --------------------------------------------------------------------------- the collection

_CODE_IN_TEXT = re.compile(r"\s*(?:\$ |arthur-capture |python3? |pip |import |from \S+ import )")


def counts() -> dict[str, Counter[str]]:
    """Per document: blocks run, console commands compared, blocks marked not-run, data."""
    table: dict[str, Counter[str]] = {}
    for block in BLOCKS:
        count = table.setdefault(block.document, Counter())
        if block.language in RUN_LANGUAGES and block.not_run is not None:
            count["not run"] += 1
        elif block.language in RUN_LANGUAGES:
            count["run"] += 1
            if block.language == "console":
                count["compared"] += 1
        else:
            count["data"] += 1
    return table


def test_every_block_is_labelled_and_run() -> None:
    """Every block says its language; every Python and shell block runs or says why not."""
    assert PYTHON_BLOCKS
    assert SPARK_BLOCKS
    assert SHELL_BLOCKS
    for block in BLOCKS:
        assert block.language in RUN_LANGUAGES + DATA_LANGUAGES, (
            f"{block.name}: ```{block.language} is not one of {RUN_LANGUAGES + DATA_LANGUAGES}:"
            " say ```python, ```sh or ```console (run), or ```json, ```toml, ```yaml, ```text"
        )
        if block.language in DATA_LANGUAGES:
            assert block.not_run is None, f"{block.name}: a ```{block.language} block never runs"
        if block.language == "text":
            for line in block.code.splitlines():
                assert not _CODE_IN_TEXT.match(line), (
                    f"{block.name}: {line!r} is code: label the block ```sh, ```console or"
                    " ```python, and run it (or mark it <!-- not-run: why -->)"
                )
        if block.language in RUN_LANGUAGES:
            ran = runs(block)
            assert ran == (block.not_run is None), block.name


def test_blocks_that_do_not_run(capsys: pytest.CaptureFixture[str]) -> None:
    """The blocks marked ``<!-- not-run: REASON -->``: each gives a reason and still parses;
    they are listed, and there are at most NOT_RUN_AT_MOST of them."""
    marked = [b for b in BLOCKS if b.language in RUN_LANGUAGES and b.not_run is not None]
    for block in marked:
        assert block.not_run, f"{block.name}: say why the block is not run"
        if block.language == "python":
            compile("\n" * block.line + block.code, block.document, "exec")
        else:
            script = block.code
            if block.language == "console":
                script = "".join(f"{c.text}\n" for c in commands_of(block))
            checked = subprocess.run(
                ["bash", "-n"],  # noqa: S607
                input=script,
                capture_output=True,
                text=True,
                check=False,
            )
            assert checked.returncode == 0, f"{block.name}: {checked.stderr}"
    with capsys.disabled():
        print(f"\n{len(marked)} block(s) not run:")
        for block in marked:
            print(f"  {block.name} ({block.language}): {block.not_run}")
    assert len(marked) <= NOT_RUN_AT_MOST, "more blocks are not run than NOT_RUN_AT_MOST"


def test_the_output_matcher() -> None:
    assert matches(("a", "b"), "a\nb\n")
    assert matches(("a…c",), "abbbc")
    assert matches(("a", "…", "d"), "a\nb\nc\nd")
    assert matches(("a", "…", "b"), "a\nb")
    assert not matches(("a", "b"), "a\nb\nc")
    assert not matches(("a…c",), "ab")
    assert not matches(("a.c",), "abc")


def test_the_update_mode_rewrites_only_the_output() -> None:
    code = "$ one\nold 1\n$ two \\\n    --flag\nold 2\nold 2b\n$ three\nkept\n"
    assert rewrite_console(code, [None, "new 2  \n\n", None]) == (
        "$ one\nold 1\n$ two \\\n    --flag\nnew 2\n$ three\nkept\n"
    )
    assert rewrite_console(code, ["x\ny\n", None, ""]) == (
        "$ one\nx\ny\n$ two \\\n    --flag\nold 2\nold 2b\n$ three\n"
    )


def test_the_install_check() -> None:
    assert install_problems(("-e", ".[arthur,parquet]")) == []
    assert install_problems((".",)) == []
    refused = (
        "installs 'arthur-capture': arthur-capture is not on PyPI; install it from the clone"
        " ('.', '.[extra]')"
    )
    assert install_problems(("arthur-capture",)) == [refused]
    assert install_problems(("-e", ".[no-such-extra]")) == [
        "arthur-capture has no extra 'no-such-extra'"
    ]


def test_a_not_run_marker_is_read_from_the_line_above(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "<!-- not-run: needs AWS -->\n```sh\nsam deploy\n```\n\n```sh\nls\n```\n", "utf-8"
    )
    first, second = blocks_of(doc)
    assert (first.not_run, first.code) == ("needs AWS", "sam deploy\n")
    assert second.not_run is None
