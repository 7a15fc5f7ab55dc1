"""MkDocs hook: the CLI reference page, generated from the argparse parsers at build time.

``docs/cli.md`` holds the marker ``<!-- cli-reference -->``; this hook replaces it with a
section per command (usage, description, options with their defaults), read from
:func:`arthur_capture.cli.build_parser` and the local Arthur's parser. A command or option
added to the code appears on the next build, so the page cannot go stale.
"""

from __future__ import annotations

import argparse
import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

MARKER = "<!-- cli-reference -->"
PAGE = "cli.md"


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:  # noqa: ARG001
    """MkDocs event: fill the CLI reference page's marker."""
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        msg = f"{PAGE} lost its {MARKER} marker"
        raise ValueError(msg)
    return markdown.replace(MARKER, cli_reference())


def cli_reference() -> str:
    """The reference of every command, as Markdown."""
    from arthur_capture.cli import build_parser  # noqa: PLC0415 - the package, at build time
    from arthur_capture.cli._common import common_parser  # noqa: PLC0415
    from arthur_capture.testing._command import (  # noqa: PLC0415
        build_parser as local_arthur_parser,
    )

    parser = build_parser()
    common = {action.dest for action in common_parser()._actions}  # noqa: SLF001
    parts = [
        "## Commands",
        "",
        _code(_usage(parser)),
        "",
        _escape(parser.description or ""),
        "",
        "| Command | What it does |",
        "|---|---|",
    ]
    commands = _subcommands(parser)
    for name, (_, help_text) in commands.items():
        parts.append(f"| [`{name}`](#{name}) | {_cell(help_text)} |")
    parts.append("")
    for name, (sub, help_text) in commands.items():
        reads = "files" in {action.dest for action in sub._actions}  # noqa: SLF001
        parts += [f"## {name}", "", _escape(sub.description or help_text), "", _code(_usage(sub))]
        parts += ["", *_options(sub, skip=common if reads else set())]
        if reads:
            parts += ["", "And the [reading options](#reading-options) (`FILE...`, `--sniff`, …)."]
        parts.append("")
    parts += [
        "## Reading options",
        "",
        "Every command that reads captures (all but `check-config` and `check-triggers`) takes",
        "these:",
        "",
        *_options(common_parser()),
        "",
        "## Local Arthur",
        "",
        "A loopback stand-in for Arthur's inference API, for tests and demos",
        "([upload](upload.md)).",
        "",
    ]
    local = local_arthur_parser()
    parts += [_escape(local.description or ""), "", _code(_usage(local)), "", *_options(local)]
    return "\n".join(parts) + "\n"


def _subcommands(
    parser: argparse.ArgumentParser,
) -> dict[str, tuple[argparse.ArgumentParser, str]]:
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}  # noqa: SLF001
            return {name: (sub, helps.get(name, "")) for name, sub in action.choices.items()}
    return {}


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=100)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)  # noqa: SLF001
    return formatter.format_help().strip()


def _options(parser: argparse.ArgumentParser, skip: Iterable[str] = ()) -> list[str]:
    skipped = {"help", *skip}
    rows = ["| Argument | Default | Meaning |", "|---|---|---|"]
    for action in parser._actions:  # noqa: SLF001
        if action.dest in skipped or action.help == argparse.SUPPRESS:
            continue
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            continue
        rows.append(f"| {_name(action)} | {_default(action)} | {_cell(_help(parser, action))} |")
    return rows if len(rows) > 2 else []


def _name(action: argparse.Action) -> str:
    metavar = action.metavar
    if isinstance(metavar, tuple):
        metavar = " ".join(metavar)
    if not action.option_strings:
        word = metavar or action.dest
        return f"`{word}...`" if action.nargs in {"+", "*"} else f"`{word}`"
    if action.nargs == 0:
        return ", ".join(f"`{option}`" for option in action.option_strings)
    if action.choices is not None and metavar is None:
        metavar = "{" + ",".join(str(choice) for choice in action.choices) + "}"
    value = metavar or action.dest.upper()
    return ", ".join(f"`{option} {value}`" for option in action.option_strings)


def _default(action: argparse.Action) -> str:
    default = action.default
    if action.nargs == 0 or default in (None, [], argparse.SUPPRESS):
        return ""
    return f"`{default}`"


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    text = action.help or ""
    if "%" not in text:
        return text
    params: dict[str, Any] = dict(vars(action), prog=parser.prog)
    if params.get("choices") is not None:
        params["choices"] = ", ".join(str(choice) for choice in params["choices"])
    return text % params


def _escape(text: str) -> str:
    return html.escape(" ".join(text.split()), quote=False)


def _cell(text: str) -> str:
    return _escape(text).replace("|", "\\|")


def _code(text: str) -> str:
    return f"```text\n{text}\n```"
