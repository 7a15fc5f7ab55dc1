"""The documentation site (mkdocs.yml, docs/) builds in strict mode, with every page of its nav.

- Every page under docs/ is in the nav, and every nav entry is a page.
- The CLI reference is generated from the argument parsers (docs/_hooks/cli_reference.py):
  every command and every option is on it.
- ``mkdocs build --strict`` (a subprocess, into a temporary folder) succeeds, writes every nav
  page, and the generated parts are there: the CLI reference, the README's performance
  figures, the API reference from the docstrings.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from arthur_capture.cli import build_parser

pytest.importorskip("mkdocs", reason="needs the docs extra")
pytest.importorskip("material", reason="needs the docs extra")
pytest.importorskip("mkdocstrings", reason="needs the docs extra")

from mkdocs.utils.yaml import yaml_load

if TYPE_CHECKING:
    from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BUILD_TIMEOUT = 600


def _nav_pages(nav: Any) -> list[str]:
    """The Markdown files a nav names, in order."""
    if isinstance(nav, str):
        return [nav] if nav.endswith(".md") else []
    if isinstance(nav, list):
        return [page for entry in nav for page in _nav_pages(entry)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    return []


def _config() -> dict[str, Any]:
    with (ROOT / "mkdocs.yml").open(encoding="utf-8") as handle:
        config: dict[str, Any] = yaml_load(handle)
    return config


NAV_PAGES = _nav_pages(_config()["nav"])


def _hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_site_{name}", DOCS / "_hooks" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_page_is_in_the_nav_and_every_nav_page_exists() -> None:
    pages = sorted(path.relative_to(DOCS).as_posix() for path in DOCS.glob("*.md"))
    assert sorted(NAV_PAGES) == pages
    assert len(set(NAV_PAGES)) == len(NAV_PAGES)


def test_cli_reference_names_every_command_and_option() -> None:
    reference = _hook("cli_reference").cli_reference()
    commands = _subcommands(build_parser())
    assert {"preview", "convert", "validate", "upload", "export"} <= set(commands)
    for name, parser in commands.items():
        assert f"## {name}\n" in reference, name
        for action in parser._actions:
            if action.dest == "help":
                continue
            for option in action.option_strings:
                assert f"`{option}" in reference, f"{name} {option}"
    assert "## Local Arthur" in reference
    assert "`--port" in reference


def test_performance_page_shows_the_readme_section() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = _hook("readme_sections").readme_section(readme, "Performance")
    assert "| path | wall (s) |" in section
    assert "](docs/" not in section


@pytest.mark.slow
def test_site_builds_strictly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(  # noqa: S603 - this interpreter's mkdocs
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    log = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, log
    assert "WARNING" not in log, log

    for page in NAV_PAGES:
        built = site / ("index.html" if page == "index.md" else f"{page[:-3]}/index.html")
        assert built.is_file(), f"{page} was not built"
        assert "<article" in built.read_text(encoding="utf-8"), page

    def text_of(page: str) -> str:
        return (site / page / "index.html").read_text(encoding="utf-8")

    cli = text_of("cli")
    for name in _subcommands(build_parser()):
        assert f'id="{name}"' in cli, name
    assert "--max-line-bytes" in cli
    assert "ours_convert" in text_of("performance")
    api = text_of("api")
    for name in ("read_records", "CaptureReader", "Ledger", "InferenceRecord", "DecoderRegistry"):
        assert name in api, name
    concepts = text_of("concepts")
    assert "InferenceId_{index_within_invoke_endpoint_call}" in concepts
    assert "invalid_json" in concepts  # the reason codes, from their docstrings
    assert (site / "examples" / "preview.ipynb").is_file()
    if (DOCS / "images" / "report.png").is_file():  # the report's screenshot, on the home page
        assert (site / "images" / "report.png").is_file()
        assert 'src="images/report.png"' in (site / "index.html").read_text(encoding="utf-8")
