"""Writing a benchmark's section of docs/benchmarks.md, leaving the other sections as they are."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(heading: str, lines: list[str], docs: Path = DOCS) -> None:
    """Replace (or add) the section under `heading` (a `## ` line) with `lines`."""
    text = docs.read_text(encoding="utf-8") if docs.exists() else "# Benchmarks\n"
    body = "\n".join([heading, "", *lines]).rstrip() + "\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda m: body + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + body
    docs.write_text(text, encoding="utf-8")
