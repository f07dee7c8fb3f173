"""A write-ahead copy of the spans waiting in the recorder's queue, so that a process killed
outright (SIGKILL, OOM) loses no span it had recorded.

`record()` appends each span to this process's spool file (one `write`: the kernel keeps it when
the process dies; only a crash of the machine loses it) before the reply that made it reaches
its client. Once the writer has stored every span appended so far, the file is emptied; under
steady load it is rotated at `ROTATE_BYTES` and old files are deleted when stored.

Each process holds an exclusive `flock` on its files. A file whose lock another process can
take belongs to a dead process: `recover()` (run at start and every `RECOVER_EVERY` seconds by
every recorder on the same directory, so `serve --workers N` siblings and a restarted replica
both do it) reads it, stores the spans the database does not have yet, and deletes it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import orjson

from llmdeck.observe.span import Span

log = logging.getLogger(__name__)

ROTATE_BYTES = 16 * 1024 * 1024
RECOVER_EVERY = 5.0
_NAMES = frozenset(f.name for f in fields(Span))


class Spool:
    """This process's spool files in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._seq = 0
        self._fd = -1
        self._path: Path | None = None
        self._size = 0
        self._full: deque[tuple[Path, int, int]] = deque()  # rotated: (path, fd, last seq)

    def open(self) -> None:
        """Create this process's first file (and the directory)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._next_file()

    def _next_file(self) -> None:
        """Lock a new file under a private name, then give it the name `recover` looks for,
        so no other process ever sees it unlocked."""
        name = f"spool-{os.getpid()}-{os.urandom(4).hex()}.jsonl"
        hidden = self.directory / f".{name}"
        fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path = self.directory / name
        hidden.rename(path)
        self._fd, self._path, self._size = fd, path, 0

    def append(self, span: Span) -> int:
        """Write `span` ahead; its sequence number."""
        line = orjson.dumps(span, default=str) + b"\n"
        with self._lock:
            os.write(self._fd, line)
            self._seq += 1
            self._size += len(line)
            if self._size >= ROTATE_BYTES and self._path is not None:
                self._full.append((self._path, self._fd, self._seq))
                self._next_file()
            return self._seq

    def stored(self, upto: int) -> None:
        """Every span appended up to number `upto` is in the database: drop their copies."""
        with self._lock:
            while self._full and self._full[0][2] <= upto:
                path, fd, _ = self._full.popleft()
                path.unlink(missing_ok=True)
                os.close(fd)
            if upto >= self._seq and self._size:
                os.ftruncate(self._fd, 0)
                self._size = 0

    def close(self) -> None:
        """Delete this process's files (call once everything is stored)."""
        with self._lock:
            for path, fd, _ in [*self._full, (self._path, self._fd, 0)]:
                if path is not None and fd >= 0:
                    path.unlink(missing_ok=True)
                    os.close(fd)
            self._full.clear()
            self._fd, self._path = -1, None

    def recover(self, store_spans: Callable[[list[Span]], None]) -> int:
        """Store the spans of files left by dead processes; how many files were taken."""
        taken = 0
        for path in sorted(self.directory.glob("spool-*.jsonl")):
            if path == self._path or any(path == full[0] for full in self._full):
                continue
            try:
                fd = os.open(path, os.O_RDWR)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # its process is alive
                os.close(fd)
                continue
            try:
                spans = _read(path)
                if spans:
                    store_spans(spans)
                path.unlink(missing_ok=True)
                taken += 1
                log.warning("recovered %d spans of a process that died (%s)", len(spans), path)
            finally:
                os.close(fd)
        return taken


def _read(path: Path) -> list[Span]:
    spans = []
    for line in path.read_bytes().splitlines():
        try:
            data = orjson.loads(line)
            spans.append(Span(**{k: v for k, v in data.items() if k in _NAMES}))
        except (orjson.JSONDecodeError, TypeError):  # a line cut by the crash
            continue
    return spans
