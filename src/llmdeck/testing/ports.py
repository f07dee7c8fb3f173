"""A free port on 127.0.0.1, for starting a server of one's own (a llmdeck process, a Redis)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port that nothing listens on now (another process may still take it first)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
