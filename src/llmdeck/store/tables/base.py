"""The shared MetaData and column helpers. Times are float epoch seconds on every engine, so
bucketing (`floor(start_time / 60)`) reads the same on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, MetaData, Text

metadata = MetaData()


def time_column(name: str, *, nullable: bool = True, index: bool = False) -> Column[float]:
    """An epoch-seconds timestamp."""
    return Column(name, Float, nullable=nullable, index=index)


def json_column(name: str) -> Column[object]:
    """A JSON document (TEXT on SQLite, json on PostgreSQL)."""
    return Column(name, JSON, nullable=True)


def text_column(name: str, *, index: bool = False) -> Column[str]:
    """A nullable text column."""
    return Column(name, Text, nullable=True, index=index)
