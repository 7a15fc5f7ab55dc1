"""Optional extras fail in one sentence (issue 13, item 6).

Every command whose extra is missing exits 2 with one line on stderr naming the ``pip install``
that adds it, before it reads or writes anything, never a traceback. The extras are hidden in a
subprocess (``sys.modules[name] = None`` before the command line is imported), which makes
``import name`` fail as it does when the package is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from arthur_capture import cli, dependencies
from arthur_capture.errors import MissingDependencyError
from tests.conftest import FIXTURES

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

DEMO = FIXTURES / "demo" / "demo.jsonl"
EVERY_EXTRA = tuple(dependencies.EXTRAS)
"""Every optional module, hidden at once for the commands that need none."""

_HIDE_AND_RUN = """
import sys
for name in filter(None, sys.argv[1].split(",")):
    sys.modules[name] = None
sys.argv = ["arthur-capture", *sys.argv[2:]]
from arthur_capture.cli import main
sys.exit(main())
"""


def run_without(
    hidden: tuple[str, ...], *args: str, cwd: Path, stdin: bytes = b""
) -> subprocess.CompletedProcess[str]:
    """Run the command line in a subprocess in which the ``hidden`` modules cannot be imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTHUR_")}
    env["ARTHUR_ACCESS_TOKEN"] = "token-for-tests"  # noqa: S105 - the token check is not tested
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", _HIDE_AND_RUN, ",".join(hidden), *args],
        input=stdin.decode(),
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
        timeout=120,
    )


def assert_one_sentence(done: subprocess.CompletedProcess[str], line: str) -> None:
    """Exit 2, nothing on stdout, and exactly ``line`` on stderr."""
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [line], done.stderr
    assert done.returncode == 2
    assert done.stdout == ""


PARQUET = 'pip install "arthur-capture[parquet]"'
AWS = 'pip install "arthur-capture[aws]"'
ARTHUR = 'pip install "arthur-capture[arthur]"'

MISSING = [
    pytest.param(
        ("pyarrow",),
        ["convert", str(DEMO), "--format", "parquet", "-o", "out.parquet"],
        f"convert --format parquet needs pyarrow: {PARQUET}",
        id="convert-parquet",
    ),
    pytest.param(
        ("pyarrow",),
        ["convert", "-", "--format", "parquet", "-o", "out.parquet"],
        f"convert --format parquet needs pyarrow: {PARQUET}",
        id="convert-parquet-stdin",
    ),
    pytest.param(
        ("pyarrow",),
        ["export", str(DEMO), "-o", "engine"],
        f"export needs pyarrow: {PARQUET}",
        id="export",
    ),
    pytest.param(
        ("boto3", "botocore"),
        ["export", str(DEMO), "-o", "s3://bucket/engine"],
        f"export to s3:// needs boto3: {AWS}",
        id="export-to-s3",
    ),
    pytest.param(
        ("httpx",),
        ["upload", str(DEMO), "--host", "http://127.0.0.1:9", "--model-id", "m"],
        f"upload needs httpx: {ARTHUR}",
        id="upload-httpx",
    ),
    pytest.param(
        ("tenacity",),
        ["upload", str(DEMO)],
        f"upload needs tenacity: {ARTHUR}",
        id="upload-tenacity",
    ),
    pytest.param(
        ("httpx",),
        ["schema", "--host", "http://127.0.0.1:9", "--model-id", "m", "-o", "model.json"],
        f"schema needs httpx: {ARTHUR}",
        id="schema-httpx",
    ),
    pytest.param(
        ("tenacity",),
        ["schema", "--host", "http://127.0.0.1:9", "--model-id", "m", "-o", "model.json"],
        f"schema needs tenacity: {ARTHUR}",
        id="schema-tenacity",
    ),
    pytest.param(
        ("altair", "vl_convert"),
        ["report", str(DEMO), "-o", "report.html"],
        'report needs altair: pip install "arthur-capture[report]"',
        id="report-altair",
    ),
    pytest.param(
        ("vl_convert",),
        ["report", str(DEMO), "-o", "report.html"],
        'report needs vl_convert: pip install "arthur-capture[report]"',
        id="report-vl-convert",
    ),
    *(
        pytest.param(
            ("boto3", "botocore"),
            [command, "s3://bucket/captures/", *extra],
            f"{command} of s3:// locations needs boto3: {AWS}",
            id=f"{command}-s3-source",
        )
        for command, extra in [
            ("preview", []),
            ("convert", []),
            ("validate", []),
            ("upload", ["--host", "http://127.0.0.1:9", "--model-id", "m"]),
            ("report", ["-o", "report.html"]),
        ]
    ),
    pytest.param(
        ("boto3", "botocore"),
        ["export", "s3://bucket/captures/", "-o", "engine"],
        f"export of s3:// locations needs boto3: {AWS}",
        id="export-s3-source",
    ),
]


@pytest.mark.parametrize(("hidden", "args", "line"), MISSING)
def test_a_missing_extra_is_one_line_naming_its_pip_install(
    hidden: tuple[str, ...], args: list[str], line: str, tmp_path: Path
) -> None:
    done = run_without(hidden, *args, cwd=tmp_path, stdin=DEMO.read_bytes())
    assert_one_sentence(done, f"arthur-capture: {line}")
    assert list(tmp_path.iterdir()) == []  # stopped before writing anything


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["preview", str(DEMO)], id="preview"),
        pytest.param(["convert", str(DEMO), "-o", "out.jsonl"], id="convert"),
        pytest.param(["convert", str(DEMO), "--format", "json", "-o", "out.json"], id="json"),
        pytest.param(
            [
                "validate",
                str(FIXTURES / "arthur" / "churn_binary.jsonl"),
                "--schema",
                str(FIXTURES / "arthur" / "churn_binary.model.json"),
            ],
            id="validate",
        ),
        pytest.param(
            ["check-config", str(FIXTURES / "aws" / "describe-endpoint-config.json")],
            id="check-config",
        ),
        pytest.param(
            ["check-triggers", str(FIXTURES / "aws" / "notification-ok.json")],
            id="check-triggers",
        ),
        pytest.param(["--help"], id="help"),
    ],
)
def test_commands_of_the_base_install_need_no_extra(args: list[str], tmp_path: Path) -> None:
    done = run_without(EVERY_EXTRA, *args, cwd=tmp_path)
    assert "Traceback" not in done.stderr
    assert "pip install" not in done.stderr
    assert done.returncode in {0, 1}, done.stderr  # 1: the fixture has rejects on purpose
    assert done.stdout or any(tmp_path.iterdir())  # it did its work


# --------------------------------------------------------------------------------------------
# in-process: what main does with an extra that a command imports on its own


def _hide(monkeypatch: pytest.MonkeyPatch, top: str) -> None:
    """Make ``top`` and its submodules unimportable here, even when a test imported them."""
    for name in [n for n in sys.modules if n == top or n.startswith(f"{top}.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, top, None)


def _failing_preview(
    monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> list[argparse.Namespace]:
    """Make ``preview`` raise ``error``; the arguments it was called with are collected."""
    calls: list[argparse.Namespace] = []

    def run(args: argparse.Namespace) -> int:
        calls.append(args)
        raise error

    monkeypatch.setitem(cli._COMMANDS, "preview", cli._COMMANDS["preview"]._replace(run=run))
    return calls


def test_require_inside_a_command_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _hide(monkeypatch, "pyspark")

    def run(args: argparse.Namespace) -> int:
        dependencies.require("pyspark.sql", "Reading captures with Spark")
        return 0

    monkeypatch.setitem(cli._COMMANDS, "preview", cli._COMMANDS["preview"]._replace(run=run))
    assert cli.main(["preview", str(DEMO)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "arthur-capture: Reading captures with Spark needs pyspark: "
        'pip install "arthur-capture[spark]"\n'
    )


def test_a_direct_import_of_an_extra_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    error = ModuleNotFoundError("No module named 'pyarrow.parquet'", name="pyarrow.parquet")
    calls = _failing_preview(monkeypatch, error)
    assert cli.main(["preview", str(DEMO)]) == 2
    assert len(calls) == 1
    assert capsys.readouterr().err == (
        'arthur-capture: preview needs pyarrow: pip install "arthur-capture[parquet]"\n'
    )


def test_a_module_of_no_extra_is_a_bug_not_a_missing_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    error = ModuleNotFoundError("No module named 'nonesuch'", name="nonesuch")
    _failing_preview(monkeypatch, error)
    with pytest.raises(ModuleNotFoundError):
        cli.main(["preview", str(DEMO)])


# --------------------------------------------------------------------------------------------
# dependencies: the one mapping module -> extra


def test_require_names_the_extra_that_installs_the_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _hide(monkeypatch, "pyarrow")
    with pytest.raises(MissingDependencyError) as caught:
        dependencies.require("pyarrow.parquet", "Parquet output")
    assert caught.value.message == (
        'Parquet output needs pyarrow: pip install "arthur-capture[parquet]"'
    )
    assert isinstance(caught.value.__cause__, ImportError)


@pytest.mark.parametrize(
    ("module", "command"),
    [
        ("pyarrow.parquet", 'pip install "arthur-capture[parquet]"'),
        ("botocore.exceptions", 'pip install "arthur-capture[aws]"'),
        ("httpx", 'pip install "arthur-capture[arthur]"'),
        ("aws_lambda_powertools.logging", 'pip install "arthur-capture[lambda]"'),
        ("vl_convert", 'pip install "arthur-capture[report]"'),
        ("nonesuch.sub", 'pip install "nonesuch"'),
    ],
)
def test_install_command(module: str, command: str) -> None:
    assert dependencies.install_command(module) == command


_DISTRIBUTION = {
    "numpy": "pandas",  # comes with pandas
    "botocore": "boto3",  # comes with boto3
    "vl_convert": "vl-convert-python",
    "aws_lambda_powertools": "aws-lambda-powertools",
}
"""Module -> the requirement of the extra that brings it, where the names differ."""


def test_each_module_is_brought_by_its_extra() -> None:
    import re
    import tomllib

    from tests.conftest import ROOT

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    for module, extra in dependencies.EXTRAS.items():
        names = {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0] for r in _expanded(extras, extra)}
        assert _DISTRIBUTION.get(module, module) in names, (module, extra, names)


def _expanded(extras: dict[str, list[str]], extra: str) -> list[str]:
    """The requirements of ``extra``, with ``arthur-capture[...]`` self-references expanded."""
    found: list[str] = []
    for requirement in extras[extra]:
        if requirement.startswith("arthur-capture["):
            for inner in requirement.removeprefix("arthur-capture[").rstrip("]").split(","):
                found += _expanded(extras, inner.strip())
        else:
            found.append(requirement)
    return found
