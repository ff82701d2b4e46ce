"""Reading the docs pages the tests here check against the code."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def section(page: str, heading: str) -> list[str]:
    """The lines of ``page`` under ``heading`` (a whole heading line), up to the next heading."""
    lines = (DOCS / page).read_text(encoding="utf-8").splitlines()
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("#")), len(lines))
    return lines[start:end]


def table(page: str, heading: str) -> list[list[str]]:
    """The rows of the first table under ``heading``, header and separator left out, each as its cells."""
    rows = [line for line in section(page, heading) if line.startswith("|")]
    assert len(rows) > 2, f"no table under {heading!r} in {page}"
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]
