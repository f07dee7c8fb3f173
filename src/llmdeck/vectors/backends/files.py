"""The embedded engine's folder: its size, and the lock that keeps it to one process."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO

from llmdeck.vectors.types import CollectionBusy


def disk_bytes(folder: Path) -> int:
    """Bytes of the files in `folder`."""
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def exclusive(path: Path) -> IO[str]:
    """Hold an exclusive lock on `path` while the returned file is open (CollectionBusy if
    another process holds it)."""
    handle = path.open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise CollectionBusy(
            f"{path.parent} is open in another llmdeck process (a running server?); "
            "use its API, or stop it first"
        ) from None
    return handle
