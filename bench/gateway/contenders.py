"""The processes of a run: the fake upstream, and each contender, started pinned to its core,
timed until it serves a real request, checked, and stopped."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import orjson

from bench.gateway import procfs
from llmdeck.testing import free_port

PROXY_CORE = 0
LOAD_CORE = 1
API_KEY = "sk-bench-admin"  # the key every contender is called with (llmdeck's and LiteLLM's)
MODEL = "fake-chat"
PROMPT = "hello, how are you?"
EXPECTED = "echo: " + PROMPT
PATH = "/v1/chat/completions"


def body(stream: bool) -> bytes:
    """The request every contender gets."""
    messages = [{"role": "user", "content": PROMPT}]
    return orjson.dumps({"model": MODEL, "messages": messages, "stream": stream})


def headers() -> dict[str, str]:
    """The request headers besides Content-Type."""
    return {"Authorization": f"Bearer {API_KEY}"}


@dataclass
class Process:
    """A started server: its port, process, log and how long it took to serve."""

    name: str
    port: int
    popen: subprocess.Popen[bytes] | None
    log: Path | None = None
    ready_s: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        """The process id (None for the direct baseline, which has no process of its own)."""
        return self.popen.pid if self.popen is not None else None


def launch(
    name: str, cmd: list[str], *, port: int, core: int, log: Path, env: dict[str, str] | None = None
) -> Process:
    """Start `cmd` pinned to `core` in its own process group, output to `log`."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with log.open("wb") as out:
        popen = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            preexec_fn=partial(procfs.pin, core),
            start_new_session=True,
        )
    return Process(name, port, popen, log)


def _post(port: int, stream: bool, timeout: float) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        all_headers = {"Content-Type": "application/json", **headers()}
        conn.request("POST", PATH, body=body(stream), headers=all_headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_ready(process: Process, started: float, timeout: float = 120.0) -> float:
    """Seconds from `started` (before the process was spawned) to its first 200 on a chat
    completion; polls every 10 ms. Raises RuntimeError if it exits or never answers."""
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if process.popen is not None and process.popen.poll() is not None:
            raise RuntimeError(
                f"{process.name} exited ({process.popen.returncode}): {tail(process)}"
            )
        try:
            status, _ = _post(process.port, stream=False, timeout=10)
        except OSError:
            time.sleep(0.01)
            continue
        if status == 200:
            return time.perf_counter() - started
        time.sleep(0.01)
    raise RuntimeError(f"{process.name} not ready after {timeout:g}s: {tail(process)}")


def check_answers(process: Process) -> None:
    """Both shapes answer correctly: the echo, and a stream of chunks ending in [DONE]."""
    status, raw = _post(process.port, stream=False, timeout=30)
    reply = orjson.loads(raw) if status == 200 else {}
    content = (reply.get("choices") or [{}])[0].get("message", {}).get("content")
    if content != EXPECTED:
        raise RuntimeError(f"{process.name}: unexpected answer {status} {raw[:300]!r}")
    status, raw = _post(process.port, stream=True, timeout=30)
    events = [line[6:] for line in raw.decode().splitlines() if line.startswith("data: ")]
    text = "".join(
        (choice.get("delta") or {}).get("content") or ""
        for data in events[:-1]
        for choice in orjson.loads(data).get("choices", [])
    )
    if status != 200 or events[-1:] != ["[DONE]"] or text != EXPECTED:
        raise RuntimeError(f"{process.name}: unexpected stream {status} {raw[:300]!r}")


def tail(process: Process, lines: int = 15) -> str:
    """The end of the process's log."""
    if process.log is None or not process.log.exists():
        return ""
    return "\n".join(process.log.read_text(errors="replace").splitlines()[-lines:])


def stop(process: Process, timeout: float = 15.0) -> None:
    """SIGINT its process group, then SIGKILL if it lingers."""
    if process.popen is None or process.popen.poll() is not None:
        return
    group = os.getpgid(process.popen.pid)
    os.killpg(group, signal.SIGINT)
    try:
        process.popen.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(group, signal.SIGKILL)
        process.popen.wait()


def start_fake(workdir: Path) -> Process:
    """The fake upstream, answering at once, on the load generator's core."""
    port = free_port()
    cmd = [sys.executable, "-m", "llmdeck.testing", "--port", str(port), "--log-size", "0"]
    fake = launch("fake", cmd, port=port, core=LOAD_CORE, log=workdir / "fake.log")
    fake.ready_s = wait_ready(fake, time.perf_counter())
    return fake


def start_thin(workdir: Path, upstream: str) -> Process:
    """The thin aiohttp proxy."""
    port = free_port()
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "bench.gateway.thin_proxy", "--port", str(port)]
    cmd += ["--upstream", upstream]
    thin = launch("thin", cmd, port=port, core=PROXY_CORE, log=workdir / "thin.log")
    thin.ready_s = wait_ready(thin, started)
    return thin


LLMDECK_CONFIG = """\
models:
  - name: {model}
    deployments:
      - provider: openai
        name: fake
        model: {model}
        api_base: {upstream}/v1
        api_key: sk-upstream
        price: {{input: 0.15, output: 0.60}}
"""


def start_llmdeck(workdir: Path, upstream: str) -> Process:
    """`llmdeck serve` with an alias on the fake (priced), an admin key, SQLite in a temp home."""
    config = workdir / "llmdeck.yaml"
    config.write_text(LLMDECK_CONFIG.format(model=MODEL, upstream=upstream))
    home = workdir / "llmdeck-home"
    env = {"LLMDECK_HOME": str(home), "LLMDECK_ADMIN_KEY": API_KEY}
    port = free_port()
    script = Path(sys.executable).parent / "llmdeck"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "llmdeck"]
    cmd = [*command, "serve", "--config", str(config), "--port", str(port)]
    started = time.perf_counter()
    deck = launch("llmdeck", cmd, port=port, core=PROXY_CORE, log=workdir / "llmdeck.log", env=env)
    deck.ready_s = wait_ready(deck, started)
    return deck
