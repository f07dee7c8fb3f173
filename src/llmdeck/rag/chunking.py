"""Chunkers: a document in, chunks out, each a span `text[start:end]` of the document so that
citations point at exact character offsets.

`StructureChunker` reads the document's structure: Markdown headings start new chunks, fenced
code blocks stay whole when they fit, paragraphs are packed together up to the token budget,
an oversized paragraph is cut between sentences (an oversized sentence between words), and each
chunk after the first in a run starts with the last `overlap` tokens of the one before.
`FixedChunker` ignores structure and cuts every `max_tokens`. Strategies are pluggable: any
`Chunker` works."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from llmdeck.config import ChunkingSettings
from llmdeck.rag.types import Chunk

_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """Words and punctuation marks: close to a WordPiece or BPE count for English prose."""
    return len(_TOKEN.findall(text))


class Chunker(Protocol):
    """Cuts a text into chunks."""

    def __call__(self, text: str) -> list[Chunk]:
        """The chunks of `text`, in order."""
        ...


@dataclass(frozen=True, slots=True)
class _Piece:
    start: int
    end: int
    tokens: int
    heading: str  # the heading path in force
    breaks: bool  # a heading: starts a new chunk unless the current one is small


# a fenced code block, or lines up to a blank line or an ATX heading
_BLOCK = re.compile(
    r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|(?:[^\n]|\n(?!\s*\n|#{1,6}\s|```|~~~))+", re.DOTALL
)
_HEADING = re.compile(r"#{1,6}\s+(.+?)\s*#*\s*$")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+[\"')\]]*|\n|$)\s*")
_WORDS = re.compile(r"\S+\s*")


class StructureChunker:
    """Headings, code blocks, paragraphs, sentences; token-budgeted, with overlap."""

    def __init__(self, settings: ChunkingSettings) -> None:
        self.budget = settings.max_tokens
        self.overlap = settings.overlap

    def __call__(self, text: str) -> list[Chunk]:
        return pack(list(self._pieces(text)), text, self.budget, self.overlap)

    def _pieces(self, text: str) -> list[_Piece]:
        pieces: list[_Piece] = []
        path: list[tuple[int, str]] = []
        for block in _BLOCK.finditer(text):
            start, end = _trim(text, block.start(), block.end())
            if start >= end:
                continue
            body = text[start:end]
            heading = _HEADING.match(body) if "\n" not in body else None
            if heading:
                level = len(body) - len(body.lstrip("#"))
                path = [(lv, name) for lv, name in path if lv < level] + [(level, heading[1])]
            where = " > ".join(name for _, name in path)
            tokens = count_tokens(body)
            if (
                tokens <= self.budget
                or body.startswith(("```", "~~~"))
                and tokens <= 2 * self.budget
            ):
                pieces.append(_Piece(start, end, tokens, where, bool(heading)))
                continue
            pieces.extend(_split(text, start, end, self.budget, where))
        return pieces


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split(text: str, start: int, end: int, budget: int, heading: str) -> list[_Piece]:
    """An oversized block cut between sentences, an oversized sentence between words."""
    out: list[_Piece] = []
    for sentence in _SENTENCE.finditer(text, start, end):
        s, e = _trim(text, sentence.start(), sentence.end())
        if s >= e:
            continue
        tokens = count_tokens(text[s:e])
        if tokens <= budget:
            out.append(_Piece(s, e, tokens, heading, False))
            continue
        for word in _WORDS.finditer(text, s, e):
            ws, we = _trim(text, word.start(), word.end())
            if ws < we:
                words = count_tokens(text[ws:we])
                out.extend(_cut_word(ws, we, words, budget, heading))
    return out


def _cut_word(start: int, end: int, tokens: int, budget: int, heading: str) -> list[_Piece]:
    if tokens <= budget:
        return [_Piece(start, end, tokens, heading, False)]
    step = max(1, (end - start) * budget // tokens)  # e.g. a long run of punctuation
    return [_Piece(s, min(end, s + step), budget, heading, False) for s in range(start, end, step)]


def pack(pieces: list[_Piece], text: str, budget: int, overlap: int) -> list[Chunk]:
    """Pieces packed into chunks of at most `budget` tokens, each new chunk in a run starting
    with up to `overlap` tokens of pieces from the one before."""
    chunks: list[Chunk] = []
    current: list[_Piece] = []
    size = 0
    for piece in pieces:
        new_section = piece.breaks and size > budget // 4
        only_headings = all(p.breaks for p in current)  # a heading stays with what follows
        if current and not only_headings and (size + piece.tokens > budget or new_section):
            chunks.append(_chunk(text, current, len(chunks)))
            current = [] if new_section else _tail(current, overlap, budget - piece.tokens)
            size = sum(p.tokens for p in current)
        current.append(piece)
        size += piece.tokens
    if current:
        chunks.append(_chunk(text, current, len(chunks)))
    return chunks


def _tail(pieces: list[_Piece], overlap: int, room: int) -> list[_Piece]:
    kept: list[_Piece] = []
    size = 0
    for piece in reversed(pieces):
        if size + piece.tokens > min(overlap, room):
            break
        kept.insert(0, piece)
        size += piece.tokens
    return kept


def _chunk(text: str, pieces: list[_Piece], index: int) -> Chunk:
    start, end = pieces[0].start, pieces[-1].end
    return Chunk(text[start:end], start, end, index, pieces[-1].heading or pieces[0].heading)


class FixedChunker:
    """Every `max_tokens` words and marks, overlapping by `overlap`, ignoring structure."""

    def __init__(self, settings: ChunkingSettings) -> None:
        self.budget = settings.max_tokens
        self.overlap = settings.overlap

    def __call__(self, text: str) -> list[Chunk]:
        tokens = [m.span() for m in _TOKEN.finditer(text)]
        chunks: list[Chunk] = []
        step = self.budget - self.overlap
        for first in range(0, len(tokens), step):
            span = tokens[first : first + self.budget]
            start, end = span[0][0], span[-1][1]
            chunks.append(Chunk(text[start:end], start, end, len(chunks)))
            if first + self.budget >= len(tokens):
                break
        return chunks


def make_chunker(settings: ChunkingSettings) -> Chunker:
    """The chunker `settings.strategy` names."""
    if settings.strategy == "fixed":
        return FixedChunker(settings)
    return StructureChunker(settings)
