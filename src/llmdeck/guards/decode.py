"""Find encoded payloads (base64, hex, URL-encoding) in a text and decode them, so that what
they hide is scanned like the rest; rot13 and reversed text are offered as whole-text variants."""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass
from urllib.parse import unquote

_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX = re.compile(r"(?<![0-9A-Fa-fx\\])(?:(?:\\x|0x)?[0-9A-Fa-f]{2}[ :]?){8,}")
_URL = re.compile(r"[^\s%]*(?:%[0-9A-Fa-f]{2}[^\s%]*){2,}")
MAX_PAYLOADS = 16


@dataclass(frozen=True)
class Payload:
    """Decoded text found at `text[start:end]` of the original, and how it was encoded."""

    text: str
    start: int
    end: int
    encoding: str


def _readable(raw: bytes) -> str | None:
    """The text of `raw` if it is mostly printable UTF-8 with some letters, else None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text:
        return None
    printable = sum(c.isprintable() or c in "\n\t\r" for c in text)
    letters = sum(c.isalpha() for c in text)
    if printable < 0.95 * len(text) or letters < 0.5 * len(text.replace(" ", "")):
        return None
    return text


def _base64(token: str) -> str | None:
    if token.isalpha() or token.isdigit():  # a long word or number, not base64
        return None
    padded = token + "=" * (-len(token) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return _readable(raw)


def _hex(token: str) -> str | None:
    digits = re.sub(r"\\x|0x|[ :]", "", token)
    if len(digits) % 2:
        digits = digits[:-1]
    try:
        return _readable(bytes.fromhex(digits))
    except ValueError:
        return None


def payloads(text: str, depth: int = 2) -> list[Payload]:
    """Every decodable payload in `text` (nested encodings up to `depth` levels)."""
    found: list[Payload] = []
    for pattern, decode, name in (
        (_BASE64, _base64, "base64"),
        (_HEX, _hex, "hex"),
        (_URL, lambda t: _readable(unquote(t).encode()), "url"),
    ):
        for match in pattern.finditer(text):
            decoded = decode(match.group().strip())
            if decoded is None or decoded == match.group():
                continue
            found.append(Payload(decoded, match.start(), match.end(), name))
            if depth > 1:
                for inner in payloads(decoded, depth - 1):
                    found.append(Payload(inner.text, match.start(), match.end(), inner.encoding))
            if len(found) >= MAX_PAYLOADS:
                return found
    return found


def rot13(text: str) -> str:
    """`text` with letters rotated by 13."""
    return codecs.encode(text, "rot13")
