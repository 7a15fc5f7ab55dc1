"""MkDocs hook: links from a page to files of the repository outside ``docs/``.

The pages are also read on GitHub, where ``[deploy/README.md](../deploy/README.md)`` works; the
site holds only ``docs/``, so such a link is shown as the file's path in code instead. A link
to a file that does not exist is left alone: strict mode then fails the build on it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
_LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<target>\.\./[^)\s#]+)(?P<anchor>#[^)\s]*)?\)")


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:  # noqa: ARG001
    """MkDocs event: rewrite the page's links that leave ``docs/`` for the repository."""
    folder = (DOCS / page.file.src_uri).parent
    lines = []
    fenced = False
    for line in markdown.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
        if fenced:
            lines.append(line)
        else:
            lines.append(_LINK.sub(lambda match: _rewrite(match, folder), line))
    return "\n".join(lines)


def _rewrite(match: re.Match[str], folder: Path) -> str:
    target = (folder / match["target"]).resolve()
    if not target.exists() or DOCS in target.parents or ROOT not in target.parents:
        return match.group()
    path = target.relative_to(ROOT).as_posix()
    text = match["text"]
    return f"`{path}`" if text.strip("`") == path else f"{text} (`{path}`)"
