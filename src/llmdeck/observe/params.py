"""Query-string parameters of the traces and analytics APIs, checked with errors naming them."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from starlette.datastructures import QueryParams

from llmdeck.config import parse_duration
from llmdeck.errors import BadRequest


class Params:
    """Typed access to a request's query parameters."""

    def __init__(self, query: QueryParams | dict[str, Any], now: float | None = None) -> None:
        self.query = query
        self.now = time.time() if now is None else now

    def text(self, name: str) -> str | None:
        """A non-empty string, or None."""
        value = self.query.get(name)
        return str(value) if value not in (None, "") else None

    def items(self, name: str) -> list[str]:
        """A comma-separated (or repeated) list."""
        raw = (
            self.query.getlist(name)
            if isinstance(self.query, QueryParams)
            else [self.query.get(name) or ""]
        )
        return [part.strip() for value in raw for part in str(value).split(",") if part.strip()]

    def number(self, name: str, default: float | None = None) -> float | None:
        """A number."""
        value = self.text(name)
        if value is None:
            return default
        try:
            return float(value)
        except ValueError:
            raise BadRequest(f"{name}: {value!r} is not a number", param=name) from None

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        """An integer within [low, high]."""
        value = self.number(name, default)
        if value is None or value != int(value) or not low <= value <= high:
            raise BadRequest(f"{name}: must be a whole number from {low} to {high}", param=name)
        return int(value)

    def flag(self, name: str) -> bool:
        """A boolean flag (1/true/yes)."""
        return (self.text(name) or "").lower() in ("1", "true", "yes", "on")

    def time(self, name: str, default: float | None = None) -> float | None:
        """Epoch seconds, an ISO 8601 time, or a duration ("24h") meaning that long ago."""
        value = self.text(name)
        if value is None:
            return default
        try:
            return float(value)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed.timestamp()
        except ValueError:
            pass
        try:
            return self.now - parse_duration(value)
        except ValueError:
            raise BadRequest(
                f"{name}: {value!r} is not epoch seconds, an ISO 8601 time or a duration like 24h",
                param=name,
            ) from None
