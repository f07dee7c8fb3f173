"""Undo the cheap disguises: invisible characters, compatibility forms, homoglyphs, accents,
case, leetspeak and letters spread out with spaces; keep a map back to the original offsets."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Latin look-alikes from other scripts (Cyrillic, Greek, Armenian, Cherokee-free subset),
# the ones seen in homograph attacks; NFKC already folds fullwidth and math alphanumerics.
CONFUSABLES = dict(
    zip(
        "аɑαеεеоοорρсϲхχуүіıїјѕԁһӏкκмνпτтьвԛԝаАВЕЗІЈКМНОРСТУХЅԌԚԜΑΒΕΗΙΚΜΝΟΡΤΥΧΖɡɩʏⅰⅼℓ",
        "aaaeeeoooppccxxyyiiijsdhlkkmvntthbqwaABE3IJKMHOPCTYXSGQWABEHIKMNOPTYXZgiyill",
        strict=True,
    )
)
LEET = str.maketrans("013457@$", "oieastas")

_INVISIBLE_RANGES = ((0x200B, 0x200F), (0x2060, 0x2064), (0xFE00, 0xFE0F), (0x202A, 0x202E))
_INVISIBLE = {0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0xFEFF, 0x2066,
              0x2067, 0x2068, 0x2069}  # fmt: skip
_TAGS = (0xE0000, 0xE007F)  # "ASCII smuggling": invisible copies of ASCII
_WORDS = re.compile(r"\w+")
_LEETY = re.compile(r"\b[a-z013457]*[a-z][013457]+[a-z][a-z013457]*\b")
_SPACED = re.compile(r"(?<![^\W_])(?:[^\W_][ .\-_*|+~]){2,}[^\W_](?![^\W_])")
_SPACE_RUN = re.compile(r"\s+")


@dataclass(frozen=True)
class Normalized:
    """Normalised text and, for each of its characters, the offset in the original text."""

    text: str
    origin: tuple[int, ...]
    original_length: int
    evasions: frozenset[str]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets of `text[start:end]`."""
        if start >= len(self.origin):
            return self.original_length, self.original_length
        last = self.origin[min(end, len(self.origin)) - 1] if end > start else self.origin[start]
        return self.origin[start], last + 1


def _invisible(code: int) -> bool:
    if code in _INVISIBLE:
        return True
    return any(low <= code <= high for low, high in _INVISIBLE_RANGES)


def normalize(text: str) -> Normalized:
    """Fold `text` to lower-case ASCII-like text that signatures and the classifier read."""
    evasions: set[str] = set()
    if text.isascii():
        chars, origin = list(text.lower()), list(range(len(text)))
    else:
        chars, origin = _fold_unicode(text, evasions)
    folded = "".join(chars)
    if _LEETY.search(folded):
        folded, changed = _leet(folded)
        if changed:
            evasions.add("leetspeak")
    folded, origin = _join_spaced(folded, origin, evasions)
    folded, origin = _squeeze_spaces(folded, origin)
    return Normalized(folded, tuple(origin), len(text), frozenset(evasions))


def _fold_unicode(text: str, evasions: set[str]) -> tuple[list[str], list[int]]:
    chars: list[str] = []
    origin: list[int] = []
    for position, char in enumerate(text):
        code = ord(char)
        if _TAGS[0] <= code <= _TAGS[1]:
            evasions.add("tag_characters")
            if 0xE0020 <= code <= 0xE007E:
                chars.append(chr(code - 0xE0000).lower())
                origin.append(position)
            continue
        if _invisible(code):
            if code != 0x200D:  # the zero-width joiner also glues emoji together
                evasions.add("invisible_characters")
            continue
        for out in _fold_char(char, evasions):
            chars.append(out)
            origin.append(position)
    _unconfuse(chars, evasions)
    return chars, origin


def _fold_char(char: str, evasions: set[str]) -> str:
    if char.isascii():
        return char.lower()
    if char in CONFUSABLES:  # decided per word in _unconfuse
        return char
    folded = unicodedata.normalize("NFKC", char)
    if folded != char and folded.isascii():
        evasions.add("compatibility_forms")
    stripped = "".join(
        c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c)
    )
    return (stripped or folded).lower()


def _unconfuse(chars: list[str], evasions: set[str]) -> None:
    """Map look-alike letters to Latin in words that mix scripts or are made only of them."""
    joined = "".join(chars)
    for word in _WORDS.finditer(joined):
        letters = word.group()
        odd = [i for i, c in enumerate(letters) if c in CONFUSABLES]
        if not odd:
            continue
        latin = any(c.isascii() and c.isalpha() for c in letters)
        if latin or len(odd) == len(letters):
            for i in odd:
                chars[word.start() + i] = CONFUSABLES[letters[i]].lower()
            if latin:
                evasions.add("homoglyphs")


def _leet(text: str) -> tuple[str, bool]:
    changed = False

    def fix(match: re.Match[str]) -> str:
        nonlocal changed
        changed = True
        return match.group().translate(LEET)

    return _LEETY.sub(fix, text), changed


def _join_spaced(text: str, origin: list[int], evasions: set[str]) -> tuple[str, list[int]]:
    """`i g n o r e` -> `ignore` (runs of at least three single letters)."""
    if not _SPACED.search(text):
        return text, origin
    out: list[str] = []
    where: list[int] = []
    last = 0
    for match in _SPACED.finditer(text):
        out.append(text[last : match.start()])
        where.extend(origin[last : match.start()])
        for i in range(match.start(), match.end(), 2):
            out.append(text[i])
            where.append(origin[i])
        last = match.end()
    out.append(text[last:])
    where.extend(origin[last:])
    evasions.add("spaced_letters")
    return "".join(out), where


def _squeeze_spaces(text: str, origin: list[int]) -> tuple[str, list[int]]:
    if "  " not in text and "\n" not in text and "\t" not in text:
        return text, origin
    out: list[str] = []
    where: list[int] = []
    last = 0
    for match in _SPACE_RUN.finditer(text):
        out.append(text[last : match.start()])
        where.extend(origin[last : match.start()])
        out.append(" ")
        where.append(origin[match.start()])
        last = match.end()
    out.append(text[last:])
    where.extend(origin[last:])
    return "".join(out), where
