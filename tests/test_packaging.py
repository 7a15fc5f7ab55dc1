"""The package as a user gets it, and the tasks that set up a clone (issue 13, item 1).

The slow tests build the wheel and the sdist (``python -m build``), check what they hold,
install the wheel into a clean virtual environment (its base dependencies only, from the
package index or pip's cache) and run the command from a folder outside the repository. The
fast ones check ``dev.py``: which install each task asks for, and that its docstring lists
exactly the tasks it has.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from tests.conftest import FIXTURES, ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
DEMO = FIXTURES / "demo" / "demo.jsonl"
OPTIONAL = ("pandas", "pyarrow", "boto3", "httpx", "rich", "numpy", "pyspark", "tqdm")
"""Modules ``import arthur_capture`` must not load (rich: only the command line uses it)."""
HATCH_ALWAYS = {"pyproject.toml", "PKG-INFO", ".gitignore"}
"""What hatchling puts in every sdist besides what pyproject includes."""


def _clean_env() -> dict[str, str]:
    """The environment without what would make a subprocess see the repository or the dev venv."""
    drop = {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("ARTHUR_")}
    env["COLUMNS"] = "200"  # the preview's table: wide enough for whole inference IDs
    return env


def _check(cmd: list[str | Path], cwd: Path, timeout: int = 600) -> str:
    done = subprocess.run(  # noqa: S603 - our own interpreters and tools, fixed arguments
        [str(c) for c in cmd],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


# --------------------------------------------------------------------------------------------
# the wheel and the sdist


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel, built by ``python -m build`` (the wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    _check([sys.executable, "-m", "build", "--outdir", out, ROOT], cwd=out)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}


@pytest.mark.slow
def test_the_sdist_holds_only_what_pyproject_lists(dist: dict[str, Path]) -> None:
    include = PYPROJECT["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    assert all(entry.startswith("/") for entry in include), "anchor each entry at the root"
    folders = {entry.strip("/") for entry in include if not Path(entry).suffix}
    files = {entry.strip("/") for entry in include if Path(entry).suffix} | HATCH_ALWAYS
    with tarfile.open(dist["sdist"]) as sdist:
        names = [m.name.partition("/")[2] for m in sdist.getmembers() if m.isfile()]
    stray = [n for n in names if n not in files and n.partition("/")[0] not in folders]
    assert stray == []
    assert {"arthur_capture/__init__.py", "README.md", "pyproject.toml"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


@pytest.mark.slow
def test_the_wheel_holds_the_package_its_type_marker_and_the_command(
    dist: dict[str, Path],
) -> None:
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = wheel.namelist()
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = wheel.read(entry_points).decode()
    assert {n.partition("/")[0] for n in names} == {
        "arthur_capture",
        entry_points.partition("/")[0],
    }
    if (ROOT / "arthur_capture" / "py.typed").is_file():
        assert "arthur_capture/py.typed" in names
    assert "arthur-capture = arthur_capture.cli:main" in scripts
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


# --------------------------------------------------------------------------------------------
# the wheel installed into a clean virtual environment, used from outside the repository


@pytest.fixture(scope="module")
def installed(dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A fresh virtual environment holding the wheel and its base dependencies only."""
    home = tmp_path_factory.mktemp("elsewhere")
    env = home / "venv"
    venv.create(env, with_pip=True)
    bin_dir = env / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    _check(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", dist["wheel"]],
        cwd=home,
    )
    work = home / "work"
    work.mkdir()
    exe = bin_dir / ("arthur-capture.exe" if os.name == "nt" else "arthur-capture")
    return SimpleNamespace(python=python, exe=exe, cwd=work)


def _run_installed(installed: SimpleNamespace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the installed console script, fixed arguments
        [str(installed.exe), *args],
        cwd=installed.cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.slow
def test_the_installed_wheel_previews_a_fixture_outside_the_repository(
    installed: SimpleNamespace,
) -> None:
    where = _check(
        [installed.python, "-c", "import arthur_capture; print(arthur_capture.__file__)"],
        cwd=installed.cwd,
    )
    assert ROOT not in Path(where.strip()).parents  # the wheel's copy, not the clone's
    done = _run_installed(installed, "preview", str(DEMO))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    expected = json.loads((FIXTURES / "demo" / "demo.expected.json").read_text())["records"]
    for record in expected[:3]:
        assert record["partner_inference_id"] in done.stdout


@pytest.mark.slow
def test_the_installed_package_imports_no_optional_module(installed: SimpleNamespace) -> None:
    code = (
        "import json, sys; import arthur_capture; "
        f"print(json.dumps(sorted(set({list(OPTIONAL)!r}) & set(sys.modules))))"
    )
    loaded = _check([installed.python, "-c", code], cwd=installed.cwd)
    assert json.loads(loaded) == []


@pytest.mark.slow
def test_the_base_install_holds_no_extra(installed: SimpleNamespace) -> None:
    listed = _check(
        [installed.python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        cwd=installed.cwd,
    )
    names = {item["name"].lower().replace("_", "-") for item in json.loads(listed)}
    assert {"arthur-capture", "pydantic", "orjson", "rich"} <= names
    assert names.isdisjoint({"pandas", "pyarrow", "httpx", "boto3", "pyspark", "numpy"})


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["convert", str(DEMO), "--format", "parquet", "-o", "out.parquet"],
            'convert --format parquet needs pyarrow: pip install "arthur-capture[parquet]"',
        ),
        (["export", str(DEMO), "-o", "engine"], 'pip install "arthur-capture[parquet]"'),
        (["upload", str(DEMO)], 'upload needs httpx: pip install "arthur-capture[arthur]"'),
        (["preview", "s3://bucket/key.jsonl"], 'pip install "arthur-capture[aws]"'),
    ],
)
def test_the_base_install_names_the_missing_extra(
    installed: SimpleNamespace, args: list[str], line: str
) -> None:
    done = _run_installed(installed, *args)
    assert "Traceback" not in done.stderr
    assert done.returncode == 2
    (said,) = done.stderr.splitlines()
    assert said.startswith("arthur-capture: ")
    assert said.endswith(line)
    assert list(installed.cwd.iterdir()) == []


@pytest.mark.slow
def test_the_named_pip_install_works_though_the_package_is_not_on_pypi(
    installed: SimpleNamespace,
) -> None:
    # the message's `pip install "arthur-capture[parquet]"`, run where the package is installed:
    # pip keeps the installed arthur-capture and adds only the extra's packages
    plan = _check(
        [
            installed.python,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--disable-pip-version-check",
            "arthur-capture[parquet]",
        ],
        cwd=installed.cwd,
    )
    (would,) = [line for line in plan.splitlines() if line.startswith("Would install")]
    assert "pyarrow-" in would
    assert "arthur-capture" not in would.replace("_", "-")


# --------------------------------------------------------------------------------------------
# dev.py


@pytest.fixture
def dev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """dev.py, loaded as a module, its .venv and pyproject.toml moved under ``tmp_path``.

    Nothing is installed: the commands it would run are collected in ``ran``.
    """
    spec = importlib.util.spec_from_file_location("_dev_tasks", ROOT / "dev.py")
    assert spec is not None
    assert spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    env = tmp_path / ".venv"
    python = env / "bin" / "python"
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "VENV", env)
    monkeypatch.setattr(module, "PYTHON", python)
    monkeypatch.setattr(
        module,
        "STAMPS",
        {"base": env / ".arthur-capture-base", "dev": env / ".arthur-capture-installed"},
    )
    ran: list[tuple[str, ...]] = []

    def create(path: Path, **_: Any) -> None:
        python.parent.mkdir(parents=True)
        python.touch()
        ran.append(("venv",))

    def run(*cmd: str | Path, cwd: Path | None = tmp_path) -> None:
        ran.append(tuple(str(c) for c in cmd))

    monkeypatch.setattr(module, "venv", SimpleNamespace(create=create))
    monkeypatch.setattr(module, "_run", run)
    return SimpleNamespace(module=module, ran=ran, root=tmp_path)


def _installs(ran: list[tuple[str, ...]]) -> list[str]:
    """What each pip install asked for (``.`` or ``.[dev]``), and ``venv`` when one was made."""
    found = []
    for cmd in ran:
        if cmd == ("venv",):
            found.append("venv")
        elif "-e" in cmd:
            found.append(cmd[cmd.index("-e") + 1])
    return found


def test_preview_installs_the_base_only_and_test_installs_the_rest(dev: SimpleNamespace) -> None:
    ensure = dev.module.ensure_env
    ensure("base")
    assert _installs(dev.ran) == ["venv", "."]
    ensure("base")  # nothing changed: nothing to do
    assert _installs(dev.ran) == ["venv", "."]
    ensure("dev")
    assert _installs(dev.ran) == ["venv", ".", ".[dev]"]
    ensure("base")  # after dev: no downgrade, no install
    ensure("dev")
    assert _installs(dev.ran) == ["venv", ".", ".[dev]"]


def test_a_changed_pyproject_installs_again(dev: SimpleNamespace) -> None:
    ensure = dev.module.ensure_env
    ensure("dev")
    (dev.root / "pyproject.toml").write_text("[project]\nname = 'y'\n")
    ensure("base")
    ensure("base")
    ensure("dev")
    assert _installs(dev.ran) == ["venv", ".[dev]", ".", ".[dev]"]


def test_preview_does_not_upgrade_pip(dev: SimpleNamespace) -> None:
    dev.module.ensure_env("base")
    assert not [cmd for cmd in dev.ran if "--upgrade" in cmd]


@pytest.mark.parametrize(
    ("argv", "level", "command", "cwd"),
    [
        (["preview"], "base", ["preview", "fixtures/demo/demo.jsonl"], "root"),
        (["preview", "a.jsonl"], "base", ["preview", "a.jsonl"], None),
        (["run", "convert", "a.jsonl", "-o", "b"], "base", ["convert", "a.jsonl", "-o", "b"], None),
        (["run", "--version"], "base", ["--version"], None),
    ],
)
def test_cli_tasks_run_the_installed_command(
    dev: SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    level: str,
    command: list[str],
    cwd: str | None,
) -> None:
    levels: list[str] = []
    calls: list[tuple[tuple[str, ...], Path | None]] = []
    monkeypatch.setattr(dev.module, "ensure_env", levels.append)
    monkeypatch.setattr(
        dev.module, "_run", lambda *cmd, cwd=dev.root: calls.append((tuple(map(str, cmd)), cwd))
    )
    dev.module.main(argv)
    assert levels == [level]
    ((cmd, where),) = calls
    assert Path(cmd[0]).name.startswith("arthur-capture")
    assert list(cmd[1:]) == command
    assert where == (dev.module.ROOT if cwd == "root" else None)


@pytest.mark.parametrize("task", ["test", "fast", "lint", "lambda-zip"])
def test_development_tasks_install_the_dev_extras(
    dev: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, task: str
) -> None:
    levels: list[str] = []
    monkeypatch.setattr(dev.module, "ensure_env", levels.append)
    dev.module.main([task])
    assert levels == ["dev"]


def test_the_docstring_lists_exactly_the_tasks(dev: SimpleNamespace) -> None:
    listed = re.findall(r"^- ``([a-z-]+)", dev.module.__doc__ or "", flags=re.MULTILINE)
    assert sorted(listed) == sorted(dev.module.TASKS)


def test_an_unknown_task_exits_2(dev: SimpleNamespace, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        dev.module.main(["shell"])
    assert stopped.value.code == 2
    assert "no task 'shell'" in capsys.readouterr().err
