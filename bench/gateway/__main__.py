"""`python -m bench.gateway`: run the gateway overhead benchmark and write its section of
docs/benchmarks.md.

Layout on the 2-core machine: each proxy under test alone on core 0; the fake upstream, the load
generator and this script on core 1. Every proxy is started first (timed until it serves), then
each point (shape x concurrency) is run for every contender in turn, for several rounds; the
best round of each point is kept, as noise from other work on the machine only slows things.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.gateway import contenders, document, litellm_env, procfs, profile, runner
from bench.gateway.contenders import LOAD_CORE, Process
from bench.report import replace_section

BENCH = Path(__file__).resolve().parents[1]
ROOT = BENCH.parent
WORK = BENCH / ".work"


def parser() -> argparse.ArgumentParser:
    """The command line."""
    cli = argparse.ArgumentParser(prog="python -m bench.gateway", description=__doc__)
    cli.add_argument("--quick", action="store_true", help="short run (~1 min); docs untouched")
    cli.add_argument("--duration", type=float, default=5.0, help="seconds measured per point")
    cli.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    cli.add_argument("--rounds", type=int, default=3, help="rounds; the best of each point")
    cli.add_argument("--concurrency", default="1,16,64", help="comma-separated levels")
    cli.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each round, wait up to this long for the machine to be mostly idle",
    )
    cli.add_argument("--no-litellm", action="store_true", help="leave LiteLLM out")
    cli.add_argument("--only", default="", help="comma-separated contenders to run")
    cli.add_argument(
        "--profile",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="also record py-spy flame graphs of llmdeck at c=64 (needs py-spy)",
    )
    cli.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    cli.add_argument("--no-write", action="store_true", help="print the Markdown instead")
    cli.add_argument(
        "--render-only",
        action="store_true",
        help="only rewrite the section from the last run's bench/.work/gateway-results.json",
    )
    return cli


def start_all(
    workdir: Path, only: set[str], litellm: litellm_env.Install | None, notes: dict[str, str]
) -> tuple[Process, list[Process]]:
    """The fake, then each contender in turn (checked to answer correctly)."""
    fake = contenders.start_fake(workdir)
    upstream = f"http://127.0.0.1:{fake.port}"
    started: list[Process] = []
    if not only or "direct" in only:
        started.append(Process("direct", fake.port, None))
    starters = {
        "thin": lambda: contenders.start_thin(workdir, upstream),
        "llmdeck": lambda: contenders.start_llmdeck(workdir, upstream),
    }
    if litellm is not None and litellm.executable is not None:
        starters["litellm"] = lambda: litellm_env.start(litellm, workdir, upstream)
    for name, start in starters.items():
        if only and name not in only:
            continue
        try:
            process = start()
        except RuntimeError as exc:
            if name != "litellm":
                raise
            notes["litellm"] = f"did not start: {exc}"
            continue
        started.append(process)
        print(f"{name}: ready in {process.ready_s:.2f}s", file=sys.stderr, flush=True)
    for process in [fake, *started]:
        contenders.check_answers(process)
    return fake, started


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (whether or not the targets were met)."""
    args = parser().parse_args(argv)
    if args.render_only:
        publish(json.loads((WORK / "gateway-results.json").read_text()), args)
        return 0
    if args.quick:
        args.duration, args.warmup, args.rounds = 1.5, 0.5, 1
        args.no_write = True
    procfs.pin(LOAD_CORE)
    WORK.mkdir(exist_ok=True)
    only = {n for n in args.only.split(",") if n}
    notes: dict[str, str] = {}
    litellm = None
    if not args.no_litellm and (not only or "litellm" in only):
        litellm = litellm_env.ensure(WORK, log=WORK / "litellm-install.log")
        if litellm.problem:
            notes["litellm"] = litellm.problem
    began = time.time()
    with tempfile.TemporaryDirectory(prefix="llmdeck-bench-") as tmp:
        workdir = Path(tmp)
        fake, targets = start_all(workdir, only, litellm, notes)
        try:
            points = runner.run_rounds(targets, args)
            flames = profile.record(targets, args.profile, WORK) if args.profile else {}
            rss = {t.name: procfs.peak_rss_mb(procfs.tree(t.pid)) for t in targets if t.pid}
        finally:
            for process in [*targets, fake]:
                contenders.stop(process)
    results = {
        "date": time.strftime("%Y-%m-%d", time.localtime(began)),
        "minutes": (time.time() - began) / 60,
        "command": "python -m bench.gateway " + shlex.join(argv or sys.argv[1:]),
        "machine": machine(),
        "settings": {
            "duration": args.duration,
            "warmup": args.warmup,
            "rounds": args.rounds,
            "litellm_duration": runner.litellm_duration(args.duration),
        },
        "contenders": {
            t.name: {"ready_s": t.ready_s, "peak_rss_mb": rss.get(t.name)} for t in targets
        },
        "litellm_version": litellm.version if litellm else "",
        "notes": notes,
        "profiles": flames,
        "points": points,
    }
    (WORK / "gateway-results.json").write_text(json.dumps(results, indent=1))
    publish(results, args)
    return 0


def publish(results: dict[str, Any], args: argparse.Namespace) -> None:
    """Print the section, or write it into the docs."""
    text = document.render(results)
    if args.no_write:
        print(text)
    else:
        replace_section(text, args.output)
        print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
