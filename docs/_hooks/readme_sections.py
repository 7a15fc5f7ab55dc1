"""MkDocs hook: pages that show a section of README.md, read from the README at build time.

A page holds ``<!-- readme: TITLE -->``; the hook replaces it with the README's ``## TITLE``
section (up to the next ``## `` heading), its headings moved one level down, links into
``docs/`` made relative to the site and links to other files of the repository shown as code.
The figures on the site are then always the README's.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

MARKER = re.compile(r"<!-- readme: (?P<title>[^>]+?) -->")
README = Path(__file__).resolve().parents[2] / "README.md"
_LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:  # noqa: ARG001
    """MkDocs event: fill every README marker of a page."""
    if MARKER.search(markdown) is None:
        return markdown
    readme = README.read_text(encoding="utf-8")
    return MARKER.sub(lambda match: readme_section(readme, match["title"]), markdown)


def readme_section(readme: str, title: str) -> str:
    """The body of the README's ``## title`` section, ready for a page under ``docs/``."""
    lines = readme.splitlines()
    try:
        start = lines.index(f"## {title}") + 1
    except ValueError:
        msg = f"README.md has no '## {title}' section"
        raise ValueError(msg) from None
    end = next(
        (i for i in range(start, len(lines)) if lines[i].startswith("## ")),
        len(lines),
    )
    body: list[str] = []
    fenced = False
    for line in lines[start:end]:
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("#"):
            line = "#" + line  # noqa: PLW2901 - one level down: the page has its own title
        body.append(line if fenced else _LINK.sub(_link, line))
    return "\n".join(body).strip() + "\n"


def _link(match: re.Match[str]) -> str:
    target = match["target"]
    if target.startswith(("http://", "https://", "#", "mailto:")):
        return match.group()
    if target.startswith("docs/"):
        return f"[{match['text']}]({target.removeprefix('docs/')})"
    return f"{match['text']} (`{target}`)" if match["text"] != target else f"`{target}`"
