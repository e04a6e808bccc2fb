"""The documentation holds together: a short README, links that resolve inside the repository
(anchors included), every docs page reachable from the README, and no pointer to files that
live outside the repository. The checker runs on the real tree and, to prove it can fail, on
small broken trees."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import deque
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 250

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
)
_REF_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def doc_pages(root: Path) -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def _prose(text: str) -> str:
    """The text with fenced blocks and code spans blanked: links there are examples."""
    text = _FENCE.sub("", text)
    return _CODE_SPAN.sub("", text)


def links(text: str) -> list[str]:
    prose = _prose(text)
    return _INLINE_LINK.findall(prose) + _REF_LINK.findall(prose)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, code marks and punctuation dropped,
    spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    out: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        base = slug(heading)
        name, n = base, 0
        while name in out:
            n += 1
            name = f"{base}-{n}"
        out.add(name)
    return out


def check_links(root: Path, page: Path) -> tuple[list[str], list[Path]]:
    """(problems, Markdown pages linked) for one page's relative links."""
    root = root.resolve()
    problems: list[str] = []
    linked: list[Path] = []
    where = page.relative_to(root).as_posix()
    for target in links(page.read_text(encoding="utf-8")):
        if _SCHEME.match(target):
            continue  # https:, mailto: … are not files of this repository
        path_part, _, fragment = target.partition("#")
        if path_part.startswith("/"):
            problems.append(f"{where}: {target}: an absolute path, not a repository file")
            continue
        dest = (page.parent / path_part).resolve() if path_part else page.resolve()
        if not dest.is_relative_to(root):
            problems.append(f"{where}: {target}: points outside the repository")
            continue
        if not dest.exists():
            problems.append(f"{where}: {target}: no such file")
            continue
        if dest.suffix == ".md" and dest.is_file():
            linked.append(dest)
            if fragment and fragment not in anchors(dest.read_text(encoding="utf-8")):
                problems.append(f"{where}: {target}: no heading with that anchor")
    return problems, linked


def unreachable(root: Path) -> list[str]:
    """Docs pages no chain of links from README.md reaches."""
    root = root.resolve()
    seen = {root / "README.md"}
    queue = deque(seen)
    while queue:
        page = queue.popleft()
        for dest in check_links(root, page)[1]:
            if dest not in seen:
                seen.add(dest)
                queue.append(dest)
    return [p.relative_to(root).as_posix() for p in doc_pages(root) if p.resolve() not in seen]


def outside_mentions(root: Path) -> list[str]:
    """Pages that mention the project's private ../shared directory."""
    return [
        p.relative_to(root).as_posix()
        for p in doc_pages(root)
        if "../shared" in p.read_text(encoding="utf-8")
    ]


def all_link_problems(root: Path) -> list[str]:
    return [problem for page in doc_pages(root) for problem in check_links(root, page)[0]]


# --- the repository's own documentation ----------------------------------------------------


def test_readme_is_a_five_minute_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail into docs/"


def test_every_relative_link_resolves_inside_the_repository():
    assert all_link_problems(ROOT) == []


def test_every_docs_page_is_reachable_from_the_readme():
    assert (ROOT / "docs" / "index.md").is_file()
    assert unreachable(ROOT) == []


def test_no_page_mentions_the_shared_directory():
    assert outside_mentions(ROOT) == []


# --- the checker fails where it should -----------------------------------------------------


@pytest.fixture
def tree(tmp_path):
    def make(files: dict[str, str]) -> Path:
        root = tmp_path / "repo"
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text, encoding="utf-8")
        return root

    return make


def test_checker_accepts_a_sound_tree(tree):
    root = tree(
        {
            "README.md": "# R\n[docs](docs/index.md) [site](https://example.org)\n",
            "docs/index.md": "# Docs\n[a](guide/a.md#the-store-and-sync)\n",
            "docs/guide/a.md": "# A\n## The `store` and sync\n[up](../index.md)\n",
        }
    )
    assert all_link_problems(root) == []
    assert unreachable(root) == []
    assert outside_mentions(root) == []


def test_checker_finds_a_missing_target(tree):
    root = tree({"README.md": "[gone](docs/gone.md)\n"})
    assert all_link_problems(root) == ["README.md: docs/gone.md: no such file"]


def test_checker_finds_a_missing_anchor(tree):
    root = tree({"README.md": "[x](docs/a.md#nope)\n", "docs/a.md": "# A\n"})
    assert all_link_problems(root) == ["README.md: docs/a.md#nope: no heading with that anchor"]


def test_checker_finds_links_leaving_the_repository(tree, tmp_path):
    (tmp_path / "outside.md").write_text("# out\n", encoding="utf-8")
    root = tree({"README.md": "[a](../outside.md) [b](/etc/passwd)\n"})
    assert all_link_problems(root) == [
        "README.md: ../outside.md: points outside the repository",
        "README.md: /etc/passwd: an absolute path, not a repository file",
    ]


def test_checker_finds_an_unreachable_page(tree):
    root = tree({"README.md": "# R\n", "docs/orphan.md": "# O\n[home](../README.md)\n"})
    assert unreachable(root) == ["docs/orphan.md"]


def test_checker_finds_a_shared_mention(tree):
    root = tree({"README.md": "see `../shared/SPEC.md`\n"})
    assert outside_mentions(root) == ["README.md"]


def test_links_in_code_are_examples_not_links(tree):
    root = tree({"README.md": "```\n[x](missing.md)\n```\n`[y](gone.md)`\n"})
    assert all_link_problems(root) == []


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)


def test_the_readme_test_count_is_current():
    """Issue 19: the README said "400 passed" when there were 814. Its count of passing
    tests is within 5% of the tests this tree holds (some skip without tools or data)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    claimed = re.search(r"^(\d+) passed", readme, re.M)
    assert claimed, "the README shows `make test`'s closing line"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    collected = re.search(r"(\d+) tests? collected", done.stdout)
    assert collected, done.stdout[-500:]
    n, total = int(claimed.group(1)), int(collected.group(1))
    assert 0.95 * total <= n <= total, f"README says {n} passed; the suite holds {total} tests"


def test_the_pre_commit_rev_names_a_tag_that_exists():
    """A `rev:` in the docs must be a release tag of this repository."""
    if shutil.which("git") is None or _git("rev-parse", "--git-dir").returncode != 0:
        pytest.skip("not a git checkout")
    tags = set(_git("tag", "--list").stdout.split())
    if not tags:
        pytest.skip("this clone has no tags (a shallow or tag-less clone)")
    revs = {
        rev
        for page in doc_pages(ROOT)
        for rev in re.findall(r"^\s*rev: (\S+)", page.read_text(encoding="utf-8"), re.M)
    }
    revs |= {
        rev
        for page in doc_pages(ROOT)
        for rev in re.findall(r"comfylock@(v[0-9][\w.]*)", page.read_text(encoding="utf-8"))
    }
    assert revs, "the docs name a release"
    assert revs <= tags, f"not a tag here: {sorted(revs - tags)}"
