"""Budget periods in UTC: a day, a calendar month, or the key's whole life."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from llmdeck.gateway.keys.model import Period

ADJECTIVE = {"day": "daily", "month": "monthly", "total": "total"}


@dataclass(frozen=True, slots=True)
class Span:
    """One period: its id (part of the state key), its first day, and when it ends."""

    id: str
    first_day: str
    ends_at: float | None


def current(period: Period, now: float) -> Span:
    """The period of kind `period` that holds `now`."""
    moment = datetime.fromtimestamp(now, UTC)
    if period == "day":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=1)
        return Span(start.strftime("%Y-%m-%d"), start.strftime("%Y-%m-%d"), end.timestamp())
    if period == "month":
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + timedelta(days=32)).replace(day=1)
        return Span(start.strftime("%Y-%m"), start.strftime("%Y-%m-%d"), end.timestamp())
    return Span("total", "0000-00-00", None)


def human(seconds: float) -> str:
    """A duration for a message: 45s, 12m, 3h 20m, 2d 4h."""
    seconds = max(0, int(seconds + 0.999))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"
