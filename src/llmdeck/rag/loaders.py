"""Loaders: a file in, documents out. One per format (plain text, Markdown, HTML, PDF, DOCX,
JSONL records), chosen by extension; `discover` walks files, folders and globs. A file that
cannot be read becomes a `LoadProblem` naming it, and the walk goes on.

Loaders are pluggable: `register_loader(".ext", loader)` adds or replaces one."""

from __future__ import annotations

import glob
import hashlib
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import orjson

from llmdeck.config import LoaderSettings
from llmdeck.rag.types import Document


class LoadError(Exception):
    """A file a loader cannot read; the message says why."""


@dataclass(frozen=True, slots=True)
class LoadProblem:
    """A file skipped, and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class Loader(Protocol):
    """Reads one file into documents (most formats give one; JSONL gives one per record)."""

    def __call__(self, data: bytes, doc_id: str, settings: LoaderSettings) -> list[Document]:
        """`doc_id` is the file's id (its path relative to the ingested root)."""
        ...


def content_hash(text: str) -> str:
    """sha256 of the text, in hex."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _document(doc_id: str, text: str, title: str, kind: str) -> Document:
    return Document(doc_id, text, doc_id, title, None, content_hash(text), {}, kind)


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise LoadError("binary content, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def load_text(data: bytes, doc_id: str, settings: LoaderSettings) -> list[Document]:
    """Plain text; the title is the first non-empty line."""
    text = _decode(data)
    first = next((line.strip() for line in text.splitlines() if line.strip()), doc_id)
    return [_document(doc_id, text, first[:200], "text")]


_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def load_markdown(data: bytes, doc_id: str, settings: LoaderSettings) -> list[Document]:
    """Markdown as written (chunking reads its structure); the title is the first heading.
    Front matter is blanked with spaces so character offsets still point into the file."""
    text = _decode(data)
    front = _FRONT_MATTER.match(text)
    if front:
        text = re.sub(r"[^\n]", " ", front.group()) + text[front.end() :]
    heading = _HEADING.search(text)
    title = heading.group(1) if heading else Path(doc_id).stem
    return [_document(doc_id, text, title, "markdown")]


_DROP = "script, style, noscript, nav, header, footer, aside, form, svg, iframe, template"
_BLOCKS = (
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "p",
    "li",
    "pre",
    "blockquote",
    "td",
    "th",
    "dt",
    "dd",
)


def load_html(data: bytes, doc_id: str, settings: LoaderSettings) -> list[Document]:
    """The page's main text: navigation, headers, footers and scripts dropped; `<main>` or
    `<article>` preferred when present; headings kept as Markdown headings."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(_decode(data))
    title_node = tree.css_first("title")
    for node in tree.css(_DROP):
        node.decompose()
    root = tree.css_first("main") or tree.css_first("article") or tree.body or tree.root
    if root is None:
        raise LoadError("no HTML body")
    parts = []
    selector = ", ".join(_BLOCKS)
    for node in root.css(selector):
        inner = (n for n in node.css(selector) if n.mem_id != node.mem_id)
        if node.tag != "pre" and next(inner, None) is not None:
            continue  # a container of other blocks: its children are taken one by one
        tag = node.tag or ""
        text = node.text(separator=" " if tag != "pre" else "", strip=tag != "pre")
        if not text.strip():
            continue
        if tag[:1] == "h" and tag[1:].isdigit():
            parts.append(f"{'#' * int(tag[1])} {' '.join(text.split())}")
        elif tag == "pre":
            parts.append(f"```\n{text.strip(chr(10))}\n```")
        else:
            parts.append(" ".join(text.split()))
    text = "\n\n".join(parts) or " ".join(root.text(separator=" ").split())
    title = title_node.text(strip=True) if title_node is not None else ""
    heading = _HEADING.search(text)
    title = title or (heading.group(1) if heading else Path(doc_id).stem)
    return [_document(doc_id, text, title, "html")]


def load_pdf(data: bytes, doc_id: str, settings: LoaderSettings) -> list[Document]:
    """The text of each page, pages separated by blank lines (pypdf)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings repeat our LoadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise LoadError(f"not a readable PDF: {exc}") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise LoadError("the PDF holds no extractable text (scanned images?)")
    title = (info.title if info is not None else None) or Path(doc_id).stem
    return [_document(doc_id, text, str(title), "pdf")]


def load_docx(data: bytes, doc_id: str, settings: LoaderSettings) -> list[Document]:
    """Paragraphs in order; Word's heading styles become Markdown headings (python-docx)."""
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(f"not a readable DOCX: {exc}") from None
    parts = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = paragraph.style.name if paragraph.style is not None else ""
        level = style.rsplit(" ", 1)[-1] if style.startswith("Heading") else ""
        parts.append(f"{'#' * int(level)} {text}" if level.isdigit() else text)
    text = "\n\n".join(parts)
    title = document.core_properties.title or Path(doc_id).stem
    return [_document(doc_id, text, title, "docx")]


def load_jsonl(data: bytes, doc_id: str, settings: LoaderSettings) -> list[Document]:
    """One document per record `{"id", "text", "title"?, "metadata"?}`; the record's `id` is
    its document id. A bad line fails the file, naming the line."""
    out = []
    for number, line in enumerate(_decode(data).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise LoadError(f"line {number}: invalid JSON: {exc}") from None
        if not isinstance(row, dict) or not isinstance(row.get("id"), str | int):
            raise LoadError(f'line {number}: a record needs an "id"')
        text = row.get(settings.text_field)
        if not isinstance(text, str):
            raise LoadError(f'line {number}: a record needs a string "{settings.text_field}"')
        metadata = row.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise LoadError(f'line {number}: "metadata" must be an object')
        title = str(row.get(settings.title_field) or "")
        full = f"{title}\n\n{text}" if title else text  # offsets count from the title
        ident = str(row["id"])
        out.append(
            Document(ident, full, doc_id, title, None, content_hash(full), metadata, "record")
        )
    return out


LOADERS: dict[str, Loader] = {
    ".txt": load_text,
    ".text": load_text,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".jsonl": load_jsonl,
}


def register_loader(extension: str, loader: Loader) -> None:
    """Use `loader` for files ending in `extension` (e.g. ".rst")."""
    LOADERS[extension.lower()] = loader


@dataclass(frozen=True, slots=True)
class Found:
    """A file to load, with its id (the path relative to the root given)."""

    path: Path
    doc_id: str


def discover(spec: str, settings: LoaderSettings) -> tuple[list[Found], Path]:
    """Files named by `spec` (a file, a folder walked recursively, or a glob), with the root
    their ids are relative to. LoadError if nothing matches."""
    path = Path(spec).expanduser()
    if path.is_file():
        return [Found(path, path.name)], path.parent
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _wanted(p, settings))
        return [Found(p, p.relative_to(path).as_posix()) for p in files], path
    if glob.has_magic(spec):
        root = Path(_fixed_prefix(spec))
        matched = sorted(Path(p) for p in glob.glob(spec, recursive=True))
        files = [p for p in matched if p.is_file()]
        return [Found(p, _relative(p, root)) for p in files], root
    raise LoadError(f"{spec}: no such file, folder or glob match")


def _wanted(path: Path, settings: LoaderSettings) -> bool:
    # every visible file: one of a type not in `extensions` is reported, not silently passed over
    return not any(part.startswith(".") for part in path.parts[-4:])


def _fixed_prefix(spec: str) -> str:
    parts = Path(spec).parts
    fixed = []
    for part in parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return str(Path(*fixed)) if fixed else "."


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def load(found: Found, settings: LoaderSettings) -> list[Document]:
    """The documents in one file; LoadError naming why it cannot be read."""
    suffix = found.path.suffix.lower()
    loader = LOADERS.get(suffix) if suffix in settings.extensions else None
    if loader is None:
        raise LoadError(f"unsupported file type {found.path.suffix or '(none)'!r}")
    try:
        stat = found.path.stat()
        if stat.st_size > settings.max_bytes:
            raise LoadError(f"{stat.st_size:,} bytes is over loader.max_bytes")
        data = found.path.read_bytes()
    except OSError as exc:
        raise LoadError(exc.strerror or str(exc)) from None
    try:
        documents = loader(data, found.doc_id, settings)
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - a third-party parser's failure is this file's
        raise LoadError(f"{type(exc).__name__}: {exc}") from None
    source = str(found.path)
    return [
        Document(d.id, d.text, source, d.title, stat.st_mtime, d.content_hash, d.metadata, d.format)
        for d in documents
    ]


def walk(
    files: list[Found], settings: LoaderSettings
) -> Iterator[tuple[Found, list[Document] | LoadProblem]]:
    """Each file's documents, or the problem that stopped it."""
    for found in files:
        try:
            yield found, load(found, settings)
        except LoadError as exc:
            yield found, LoadProblem(str(found.path), str(exc))
