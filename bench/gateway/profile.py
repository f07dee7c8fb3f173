"""Flame graphs of llmdeck under load at c=64, recorded by py-spy from the load core."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

from bench.gateway import procfs, runner
from bench.gateway.contenders import LOAD_CORE, Process


def find_py_spy() -> str | None:
    """py-spy next to this Python, or on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def record(targets: list[Process], seconds: float, work: Path) -> dict[str, str]:
    """One SVG per shape (JSON, stream) of llmdeck serving 64 connections; {shape: path}."""
    spy = find_py_spy()
    deck = next((t for t in targets if t.name == "llmdeck"), None)
    if spy is None or deck is None or deck.pid is None:
        print("profile skipped: needs py-spy (pip install py-spy) and llmdeck", file=sys.stderr)
        return {}
    args = argparse.Namespace(warmup=1.0)
    flames = {}
    for stream in (False, True):
        shape = "stream" if stream else "json"
        out = work / f"gateway-profile-{shape}.svg"
        cmd = [spy, "record", "--pid", str(deck.pid), "--output", str(out), "--rate", "200"]
        cmd += ["--duration", str(round(seconds + 1)), "--nonblocking"]
        spying = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=partial(procfs.pin, LOAD_CORE),
        )
        runner.run_point(deck, stream, 64, args, seconds)
        spying.wait()
        flames[shape] = str(out.relative_to(work.parent.parent))
    return flames
