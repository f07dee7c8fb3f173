"""Shared fixtures: databases (SQLite, and PostgreSQL in a fresh schema per test)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from llmdeck.config import Settings
from llmdeck.testing import FakeProvider

POSTGRES_URL = os.environ.get(
    "LLMDECK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LLMDECK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def fresh_postgres_url() -> str:
    """A URL whose connections use a new, empty schema (cheaper than a database per test)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def drop_postgres_url(url: str) -> None:
    """Drop the schema behind a `fresh_postgres_url`."""
    schema = url.rsplit("%3D", 1)[1]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An empty PostgreSQL schema for one test."""
    url = fresh_postgres_url()
    yield url
    drop_postgres_url(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs twice: on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'llmdeck.db'}"
        return
    url = fresh_postgres_url()
    yield url
    drop_postgres_url(url)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty LLMDECK_HOME."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def fake(fake_provider: FakeProvider) -> FakeProvider:
    """The session's fake provider (the llmdeck pytest plugin's), reset for this test.
    Directories that start a fake of their own override this."""
    return fake_provider


def make_settings(home: Path, **fields: object) -> Settings:
    """Settings for tests: embedded defaults under `home`, overridden by `fields`."""
    return Settings.model_validate({"home": home, **fields})


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A Redis key prefix for one test; its keys are deleted afterwards."""
    prefix = f"t-{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        names = list(client.scan_iter(prefix + "*", count=1000))
        if names:
            client.delete(*names)
    finally:
        client.close()
