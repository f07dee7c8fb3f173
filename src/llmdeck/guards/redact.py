"""Redaction: replace findings with consistent placeholders (`<EMAIL_1>`), remembering them in
a Vault so that one request's answer can be restored."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from llmdeck.guards.base import Finding

_PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*?)_(\d+)>")


@dataclass
class Vault:
    """Placeholders of one request: the same value always gets the same placeholder."""

    by_value: dict[tuple[str, str], str] = field(default_factory=dict)
    by_placeholder: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def placeholder(self, kind: str, value: str) -> str:
        """The placeholder for `value` of type `kind`, made on first sight."""
        key = (kind, value)
        known = self.by_value.get(key)
        if known is not None:
            return known
        label = re.sub(r"[^A-Z0-9]+", "_", kind.upper())
        self.counts[label] = self.counts.get(label, 0) + 1
        made = f"<{label}_{self.counts[label]}>"
        self.by_value[key] = made
        self.by_placeholder[made] = value
        return made

    def restore(self, text: str) -> str:
        """`text` with every placeholder of this vault put back to its value."""
        if not self.by_placeholder or "<" not in text:
            return text
        return _PLACEHOLDER.sub(lambda m: self.by_placeholder.get(m.group(), m.group()), text)

    def __len__(self) -> int:
        return len(self.by_placeholder)


def redact(text: str, findings: Iterable[Finding], vault: Vault) -> str:
    """`text` with each finding's span replaced by its placeholder (overlaps: the first wins)."""
    out: list[str] = []
    last = 0
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        if finding.start < last or finding.end <= finding.start:
            continue
        out.append(text[last : finding.start])
        out.append(vault.placeholder(finding.type, text[finding.start : finding.end]))
        last = finding.end
    out.append(text[last:])
    return "".join(out)


def partial_placeholder(text: str) -> int:
    """Where a placeholder that may still be completing starts at the end of `text` (else its
    length): streamed text is held back from there."""
    cut = text.rfind("<")
    if cut == -1 or ">" in text[cut:] or len(text) - cut > 40:
        return len(text)
    return cut if re.fullmatch(r"<[A-Z0-9_]*", text[cut:]) else len(text)
