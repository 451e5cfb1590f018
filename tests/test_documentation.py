"""README.md and docs/*.md: short where they must be, and every link lands.

The README is what a newcomer reads first, so it stays short and points into
docs/ for the rest. Links are checked because documents drift: a file moves,
a heading is renamed, and a reader follows a link to nothing. Nothing may
point outside the repository, since a reader of a clone has only the clone.
"""

import re
from pathlib import Path

import pytest

from config import BASE_DIR
from tests.test_readme_walkthrough import WALKED_DOCUMENTS, WALKTHROUGH_BLOCK

README = BASE_DIR / "README.md"
DOCUMENTS = [README, *sorted((BASE_DIR / "docs").glob("*.md"))]

# A newcomer reads the README in five minutes: about 12 KB of prose and commands.
# Reference material (settings, deployment, benchmarks) belongs in docs/.
README_BUDGET_BYTES = 12 * 1024

# [text](target) and [text]: target, skipping images' and code's look-alikes.
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.M)
FENCED_CODE = re.compile(r"^```.*?^```", re.S | re.M)
# Absolute paths of a working machine, not of a clone.
OUTSIDE_PATHS = re.compile(r"(?<![\w.])(/work/|/home/|/tmp/|\.\./shared|~/)")
# The documents describe Folio, not the tickets that changed it.
TICKET_TALK = re.compile(r"\bthe issue\b|\bissue #?\d+", re.I)


def prose(document):
    """The document without its fenced code: links and headings live outside code."""
    return FENCED_CODE.sub("", document.read_text())


def links(document):
    text = prose(document)
    return INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text)


def relative_links(document):
    return [link for link in links(document) if not re.match(r"[a-z][a-z0-9+.-]*:", link)]


def heading_anchors(document):
    """The anchors GitHub gives a document's headings (lower-case, punctuation dropped)."""
    anchors = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", prose(document), re.M):
        text = re.sub(r"[`*]", "", heading).lower()
        anchors.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return anchors


def name(document):
    return str(document.relative_to(BASE_DIR))


def test_the_readme_stays_short_enough_to_read_in_five_minutes():
    size = len(README.read_bytes())
    assert size <= README_BUDGET_BYTES, (
        f"README.md is {size:,} bytes, over {README_BUDGET_BYTES:,}: move reference "
        "material into docs/ and link to it"
    )


def test_the_readme_starts_with_make_run_and_tests_with_make_test():
    """CI calls `make test`, and `make run` is the first thing a newcomer types."""
    commands = re.findall(r"^make [\w-]+", README.read_text(), re.M)
    assert commands[0] == "make run"
    assert "make test" in commands


@pytest.mark.parametrize("document", DOCUMENTS, ids=name)
def test_every_relative_link_lands_on_a_file_and_heading_in_the_repository(document):
    broken = []
    for link in relative_links(document):
        path, _, anchor = link.partition("#")
        target = (document.parent / path).resolve() if path else document
        if not target.is_relative_to(BASE_DIR.resolve()):
            broken.append(f"{link}: outside the repository")
        elif not target.exists():
            broken.append(f"{link}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in heading_anchors(target):
            broken.append(f"{link}: no heading #{anchor} in {name(target)}")
    assert broken == [], f"{name(document)} has broken links"


def test_the_readme_links_every_guide_in_docs():
    """A guide nobody links to is a guide nobody reads."""
    linked = {(BASE_DIR / link.partition("#")[0]).resolve() for link in relative_links(README)}
    orphans = [name(guide) for guide in DOCUMENTS[1:] if guide.resolve() not in linked]
    assert orphans == []


def test_every_marked_walkthrough_is_run():
    """A block marked as walkthrough in a document the walkthrough test skips would rot unseen."""
    marked = {name(d) for d in DOCUMENTS if WALKTHROUGH_BLOCK.search(d.read_text())}
    assert marked == set(WALKED_DOCUMENTS)


@pytest.mark.parametrize("document", DOCUMENTS, ids=name)
def test_nothing_points_outside_the_repository(document):
    text = document.read_text()
    assert OUTSIDE_PATHS.findall(text) == [], f"{name(document)} names a path outside the clone"


@pytest.mark.parametrize("document", DOCUMENTS, ids=name)
def test_documents_describe_folio_not_the_tickets_that_changed_it(document):
    assert TICKET_TALK.findall(document.read_text()) == []


def config_settings():
    """Every environment variable config.py reads through its env_* helpers."""
    source = (BASE_DIR / "config.py").read_text()
    return set(re.findall(r"env_\w+\(\s*\"([A-Z][A-Z0-9_]+)\"", source))


def test_every_setting_config_reads_is_documented():
    documented = (BASE_DIR / "docs" / "configuration.md").read_text()
    assert len(config_settings()) > 40
    missing = sorted(s for s in config_settings() if f"`{s}`" not in documented)
    assert missing == [], "docs/configuration.md does not describe these settings"


# Where Folio, its servers, its tools and its tests read environment variables.
SETTING_READERS = [
    "config.py",
    "gunicorn.conf.py",
    "Makefile",
    "deploy/*",
    "tools/*.py",
    "bench/*.py",
    "app/**/*.py",
    "tests/*.py",
]


def documented_settings():
    """The variables named in the first column of docs/configuration.md's tables."""
    names = set()
    for row in re.findall(
        r"^\| (`[^|]+)\|", (BASE_DIR / "docs" / "configuration.md").read_text(), re.M
    ):
        names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", row))
    return names


def test_every_documented_setting_is_still_read_somewhere():
    """A setting removed from the code must leave the documentation too."""
    readers = {path for pattern in SETTING_READERS for path in BASE_DIR.glob(pattern)}
    readers.discard(Path(__file__))
    code = "\n".join(path.read_text() for path in readers if path.is_file())
    assert len(documented_settings()) > 60
    stale = sorted(name for name in documented_settings() if name not in code)
    assert stale == [], "docs/configuration.md describes settings nothing reads"


def test_the_link_checker_sees_a_broken_link(tmp_path):
    """The checks above must be able to fail: a made-up document with each fault."""
    document = Path(tmp_path / "doc.md")
    document.write_text("# Title\n[a](missing.md) [b](#title) [c](#nowhere)\n```\n[d](x.md)\n```\n")
    assert relative_links(document) == ["missing.md", "#title", "#nowhere"]
    assert heading_anchors(document) == {"title"}
