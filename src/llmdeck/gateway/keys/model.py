"""What a virtual key is: its stored record, and the validated shapes that create or change one."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from llmdeck.gateway.call import Principal

Period = Literal["day", "month", "total"]
PERIODS: tuple[Period, ...] = ("day", "month", "total")

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_expiry(value: Any, now: float | None = None) -> float | None:
    """An expiry as epoch seconds, from epoch seconds, an ISO date or datetime (UTC unless it
    says otherwise; a date means its midnight), or a duration from now ("30d", "12h", "90m")."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    if not isinstance(value, str):
        raise ValueError("expected a date, a datetime, epoch seconds or a duration like 30d")
    text = value.strip()
    match = _DURATION.match(text.lower())
    if match:
        start = time.time() if now is None else now
        return start + float(match.group(1)) * _SECONDS[match.group(2)]
    try:
        return parse_expiry(datetime.fromisoformat(text.replace("Z", "+00:00")), now)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a date (2026-01-31), a datetime (2026-01-31T12:00:00Z) "
            "or a duration (30d, 12h, 90m)"
        ) from None


class _Fields(BaseModel):
    """Fields shared by creating and updating a key."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    team: str | None = Field(default=None, max_length=200)
    owner: str | None = Field(default=None, max_length=200)
    models: list[str] | None = None
    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)
    budget: float | None = Field(default=None, ge=0)
    period: Period | None = None
    expires_at: float | None = None
    metadata: dict[str, Any] | None = None
    ui: bool | None = None

    @field_validator("expires_at", mode="before")
    @classmethod
    def _expiry(cls, value: Any) -> float | None:
        return parse_expiry(value)

    @field_validator("models")
    @classmethod
    def _models(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not all(isinstance(m, str) and m for m in value):
            raise ValueError("model aliases must be non-empty strings")
        return value


class KeySpec(_Fields):
    """A new key. A budget without a period never resets (`total`)."""

    name: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _period_needs_budget(self) -> KeySpec:
        if self.period is not None and self.budget is None:
            raise ValueError("period needs a budget")
        if self.budget is not None and self.period is None:
            self.period = "total"
        return self


class KeyChanges(_Fields):
    """Changes to a key: only the fields given change; `null` clears one."""

    def changes(self) -> dict[str, Any]:
        """The fields that were given, by column name."""
        out = {name: getattr(self, name) for name in self.model_fields_set}
        if "period" in out:
            out["budget_period"] = out.pop("period")
        if out.get("name", "") is None:
            raise ValueError("name cannot be cleared")
        if "ui" in out:
            out["ui"] = bool(out["ui"])
        return out


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A stored key (never its secret)."""

    id: str
    key_hash: str
    hint: str
    name: str
    team: str | None
    owner: str | None
    models: tuple[str, ...] | None
    rpm: int | None
    tpm: int | None
    budget: float | None
    budget_period: Period | None
    expires_at: float | None
    metadata: dict[str, Any]
    created_at: float
    created_by: str | None
    updated_at: float
    revoked_at: float | None
    revoked_by: str | None
    revision: int
    ui: bool = False
    principal: Principal = field(init=False, compare=False)

    def __post_init__(self) -> None:
        principal = Principal(
            key_id=self.id,
            name=self.name,
            team=self.team,
            models=frozenset(self.models) if self.models is not None else None,
            metadata=self.metadata,
        )
        object.__setattr__(self, "principal", principal)

    @classmethod
    def from_row(cls, row: Any) -> KeyRecord:
        """A record from an `api_keys` row."""
        data = dict(row._mapping)
        models = data.get("models")
        data["models"] = tuple(models) if models is not None else None
        data["metadata"] = data.get("metadata") or {}
        return cls(**data)

    def expired(self, now: float | None = None) -> bool:
        """Whether the key is past its expiry."""
        return self.expires_at is not None and self.expires_at <= (now or time.time())

    @property
    def status(self) -> str:
        """active, expired or revoked."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expired() else "active"

    def public(self) -> dict[str, Any]:
        """The key as the API and CLI show it (no hash, no secret)."""
        return {
            "id": self.id,
            "name": self.name,
            "hint": self.hint,
            "status": self.status,
            "team": self.team,
            "owner": self.owner,
            "models": list(self.models) if self.models is not None else None,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "budget": self.budget,
            "period": self.budget_period,
            "expires_at": _iso(self.expires_at),
            "metadata": self.metadata,
            "ui": self.ui,
            "created_at": _iso(self.created_at),
            "created_by": self.created_by,
            "revoked_at": _iso(self.revoked_at),
            "revoked_by": self.revoked_by,
        }


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
