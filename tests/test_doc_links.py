"""No doc points at a file that is not in the repository.

README.md and docs/*.md are scanned, code blocks included, for

- Markdown links and images (``[text](target)``, ``[name]: target``) that are not URLs: the
  target, relative to the document, must exist inside the repository, and a ``#anchor`` must
  be a heading of the Markdown file it names (GitHub's slugs, which mkdocs' match);
- paths written out from the repository's root (``fixtures/…``, ``docs/…``, ``deploy/…``,
  ``benchmarks/…``, ``tests/…``, ``fuzz/…``, ``arthur_capture/…``, ``.ci/…``): each must
  exist; a path with a wildcard (``*``) must match a file; one with a placeholder
  (``<target>``, ``{endpoint}``, ``%Y``, ``…``) must exist up to it;
- the folder beside the clone (``../shared``): no doc may point into it, since a reader of
  the repository does not have it.

Paths that a run makes and git ignores are listed in ``MADE_BY_A_RUN`` with what makes them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))

ROOTS = ("fixtures", "docs", "deploy", "benchmarks", "tests", "fuzz", "arthur_capture", ".ci")
MADE_BY_A_RUN = {
    "fuzz/corpus": "the fuzzer's working corpus, grown by python fuzz/run.py (git-ignored)",
}

_LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_DEFINITION = re.compile(r"^\s*\[[^\]]+\]:\s*(?P<target>\S+)", re.MULTILINE)
_PATH = re.compile(
    r"(?<![\w./\-:@~])(?P<path>(?:"
    + "|".join(re.escape(r) for r in ROOTS)
    + r")/[^\s`'\"()\[\],;:#]*)"
)
_PLACEHOLDER = re.compile(r"[<{%…]|\.\.\.")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
_EXPLICIT_ID = re.compile(r"\s*\{\s*#(?P<id>[\w\-]+)[^}]*\}\s*$")


def _prose(text: str) -> str:
    """The document without its fenced code blocks (for headings)."""
    kept: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            kept.append(line)
    return "\n".join(kept)


def slug(title: str) -> str:
    """GitHub's anchor for a heading (mkdocs' toc extension gives the same for these)."""
    title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)  # a link keeps its text
    title = title.lower().replace("`", "")
    title = re.sub(r"[^\w\- ]", "", title)
    return title.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for line in _prose(path.read_text(encoding="utf-8")).splitlines():
        match = _HEADING.match(line)
        if match is None:
            continue
        explicit = _EXPLICIT_ID.search(match["title"])
        if explicit is not None:  # attr_list: ## Title {#id}
            found.add(explicit["id"])
            continue
        base = slug(match["title"])
        anchor, n = base, 0
        while anchor in found:
            n += 1
            anchor = f"{base}-{n}"
        found.add(anchor)
    return found


def _inside(path: Path) -> bool:
    return path.resolve().is_relative_to(ROOT)


def link_problems(document: Path, text: str) -> list[str]:
    """The links of ``text``, the content of ``document``, that lead nowhere."""
    name = document.relative_to(ROOT).as_posix()
    problems: list[str] = []
    targets = [m["target"] for m in _LINK.finditer(text)]
    targets += [m["target"] for m in _DEFINITION.finditer(text)]
    for target in targets:
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, s3:
            continue
        file_part, _, anchor = target.partition("#")
        path = (document.parent / file_part) if file_part else document
        if not _inside(path):
            problems.append(f"{name}: ({target}) points outside the repository")
        elif not path.exists():
            problems.append(f"{name}: ({target}): there is no {path.relative_to(ROOT)}")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            problems.append(f"{name}: ({target}): {path.name} has no heading #{anchor}")
    return problems


def path_problems(document: Path, text: str) -> list[str]:
    """The paths from the repository's root named in ``text`` (of ``document``) that are not
    there."""
    name = document.relative_to(ROOT).as_posix()
    problems: list[str] = []
    for match in _PATH.finditer(text):
        written = match["path"].rstrip(".")
        placeholder = _PLACEHOLDER.search(written)
        path = written if placeholder is None else written[: placeholder.start()]
        if placeholder is not None:
            path = path.rsplit("/", 1)[0]  # the folders before the placeholder
        if any(path == made or path.startswith(made + "/") for made in MADE_BY_A_RUN):
            continue
        if "*" in path:
            if not any(ROOT.glob(path)):
                problems.append(f"{name}: {written}: matches no file")
        elif not (ROOT / path).exists():
            problems.append(f"{name}: {written}: there is no {path}")
    return problems


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.relative_to(ROOT).as_posix())
def test_links_point_into_the_repository(document: Path) -> None:
    assert link_problems(document, document.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.relative_to(ROOT).as_posix())
def test_paths_named_exist(document: Path) -> None:
    assert path_problems(document, document.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.relative_to(ROOT).as_posix())
def test_no_doc_points_beside_the_repository(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    assert "../shared" not in text, f"{document.name} points into ../shared, outside the repository"


def test_the_checks_catch_what_they_should() -> None:
    assert (
        slug("6. Ground truth (`arthur/ground_truth.py`)") == "6-ground-truth-arthurground_truthpy"
    )
    assert "mutation-testing" in anchors(ROOT / "docs" / "reliability.md")
    text = (
        "[a](arthur.md#no-such-heading) [b](no-such.md) [c](../../outside.md) "
        "[d](https://example.com/x) [e](arthur.md#6-ground-truth-arthurground_truthpy) "
        "`fixtures/demo/demo.jsonl` `fixtures/no/such.jsonl` fixtures/arthur/churn_binary.* "
        "`fuzz/corpus/<target>/` `fixtures/<x>/y` `fixtures/nowhere/*.jsonl`. s3://b/tests/x\n"
        "[f]: ../deploy/README.md\n"
    )
    document = ROOT / "docs" / "x.md"  # not written: the checks take the text
    assert link_problems(document, text) + path_problems(document, text) == [
        "docs/x.md: (arthur.md#no-such-heading): arthur.md has no heading #no-such-heading",
        "docs/x.md: (no-such.md): there is no docs/no-such.md",
        "docs/x.md: (../../outside.md) points outside the repository",
        "docs/x.md: fixtures/no/such.jsonl: there is no fixtures/no/such.jsonl",
        "docs/x.md: fixtures/nowhere/*.jsonl: matches no file",
    ]
