"""The scale-out topology as local processes: `llmdeck serve` replicas and `llmdeck worker`s
sharing one PostgreSQL schema and one Redis prefix, in front of a fake provider."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from llmdeck.store import Store, open_store
from llmdeck.testing import FakeProvider, free_port

from ..conftest import REDIS_URL
from ..keys.conftest import ADMIN as KEYS_ADMIN

ADMIN = KEYS_ADMIN  # the keys tests' helpers (create_key) use this admin key
PRICE = {"input": 1.0, "output": 2.0}


@dataclass
class Process:
    """One llmdeck process and where it answers."""

    popen: subprocess.Popen[bytes]
    url: str
    log: Path

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.popen.poll() is not None:
                raise RuntimeError(self.log.read_text())
            time.sleep(0.05)
        raise RuntimeError(f"{self.url} did not become ready:\n{self.log.read_text()}")

    def stop(self, how: signal.Signals = signal.SIGTERM) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(how)
        return self.popen.wait(60)


@dataclass
class Topology:
    """A config file and the processes started from it."""

    root: Path
    config: Path
    database_url: str
    processes: list[Process] = field(default_factory=list)

    def _start(self, command: str, home: Path, *extra: str) -> Process:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLMDECK_")}
        env["LLMDECK_HOME"] = str(home)
        log = self.root / f"{command}-{port}.log"
        popen = subprocess.Popen(
            [sys.executable, "-m", "llmdeck", command, "--config", str(self.config)]
            + ["--port", str(port), *extra],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
        process = Process(popen, f"http://127.0.0.1:{port}", log)
        self.processes.append(process)
        return process

    def gateway(self, home: str = "gateway") -> Process:
        """A `llmdeck serve` replica (`home`: its LLMDECK_HOME, where its spool lives)."""
        return self._start("serve", self.root / home)

    def worker(self, home: str = "worker") -> Process:
        """A `llmdeck worker`."""
        return self._start("worker", self.root / home)

    def store(self) -> Store:
        return open_store(self.database_url, run_migrations=False)

    def close(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.popen.wait(60)
            except subprocess.TimeoutExpired:
                process.popen.kill()


def write_config(path: Path, fake: FakeProvider, database: str, prefix: str, **extra: Any) -> None:
    """A scale-out llmdeck.yaml: PostgreSQL, Redis under `prefix`, one priced alias `gpt`."""
    config = {
        "admin_key": ADMIN,
        "database_url": database,
        "redis_url": REDIS_URL,
        "state": {"prefix": prefix},
        "cache": {"prefix": prefix + "cache:"},
        "limits": {"key_refresh": 0.2, "spend_flush": 0.2},
        "jobs": {"heartbeat": 0.5, "stalled_after": 2, "poll_interval": 0.5},
        "batch": {"lines_per_job": 10, "lease": 3, "poll_interval": 1},
        "observe": {"flush_interval": 0.1},
        "models": [
            {
                "name": "gpt",
                "deployments": [
                    {
                        "provider": "openai",
                        "api_base": fake.openai_base,
                        "model": "m",
                        "name": "fake",
                        "price": PRICE,
                    }
                ],
            }
        ],
        **extra,
    }
    path.write_bytes(orjson.dumps(config))  # JSON is YAML


@pytest.fixture
def topology(tmp_path: Path, postgres_url: str, redis_prefix: str) -> Iterator[Topology]:
    """An empty topology over a fresh schema and prefix (processes are added by the test)."""
    config = tmp_path / "llmdeck.yaml"
    built = Topology(tmp_path, config, postgres_url)
    try:
        yield built
    finally:
        built.close()


def admin_headers() -> dict[str, str]:
    return {"authorization": f"Bearer {ADMIN}"}
