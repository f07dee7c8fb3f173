"""Writing a benchmark's section of docs/benchmarks.md, leaving the other sections intact."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(heading: str, lines: list[str], docs: Path = DOCS) -> None:
    """Replace (or append) the section that starts with `heading` (a `## ...` line)."""
    replace_section("\n".join([heading, "", *lines]), docs)


def replace_section(section: str, docs: Path = DOCS) -> None:
    """Replace (or append) the section whose first line (`## ...`) starts `section`."""
    heading = section.split("\n", 1)[0]
    text = docs.read_text(encoding="utf-8") if docs.exists() else "# Benchmarks\n"
    body = section.rstrip() + "\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda m: body + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + body
    docs.write_text(text, encoding="utf-8")
