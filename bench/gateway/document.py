"""The text of the `## Gateway overhead` section: tables (report.py), setup, analysis; and
putting the section into docs/benchmarks.md."""

from __future__ import annotations

import math
from typing import Any

from bench.gateway.report import (
    Figures,
    detail_table,
    fmt_ms,
    fmt_num,
    other_load,
    ratio_table,
    summary_table,
    targets_table,
)

HEADING = "## Gateway overhead"


def setup_text(results: dict[str, Any]) -> list[str]:
    """How it was measured, and the command to do it again."""
    machine = results["machine"]
    settings = results["settings"]
    litellm = results.get("litellm_version") or "not run"
    return [
        f"Measured {results['date']} on {machine['cores']} cores ({machine['cpu']}), "
        f"Python {machine['python']}, Linux {machine['kernel']}; LiteLLM {litellm}. "
        "The proxy under test runs alone on core 0; the fake upstream (`python -m "
        "llmdeck.testing`, answering at once), the load generator and the driver share core 1. "
        "Every contender gets the same request (`fake-chat`, one short user message, "
        "`Authorization: Bearer`), JSON or streamed (6 SSE chunks and `[DONE]`, read to the "
        "end). llmdeck runs `llmdeck serve` with every stage on: key auth (admin key), router, "
        "cost (the deployment has a `price`) and the write-behind recorder into SQLite under a "
        "temporary `LLMDECK_HOME`. LiteLLM runs `litellm --config` (one worker, `openai/fake-chat` "
        "with `api_base`, a master key, no database, logging at ERROR), from its own virtual "
        "environment under `bench/.work/`.",
        "",
        "The load generator (`bench/gateway/loadgen.py`) keeps c keep-alive connections busy "
        "from one process on uvloop, parsing responses with httptools; it costs about 15 µs of "
        "core 1 per request, leaving the fake (and so the proxy) the rest of the core, and times "
        "each request on its own connection with a monotonic clock. (wrk 4.1 was tried first: "
        "its latency figures at c=1 summed to several times the wall time, and it cannot check "
        "that a stream ended with `[DONE]`.) Each point is measured for "
        f"{settings['duration']:g} s after {settings['warmup']:g} s of warm-up, in "
        f"{settings['rounds']} rounds (LiteLLM: {settings['litellm_duration']:g} s per point); "
        "the best round of each point is shown. Added latency is the contender's latency minus "
        "the direct call's, at c=1. CPU per request is the proxy process's utime+stime "
        "(`/proc/PID/stat`) over the measured window divided by the requests served; peak RSS "
        "is its `VmHWM` at the end of the run; ready is the time from spawning the process to "
        "its first answered chat completion (polled every 10 ms).",
        "",
        "To reproduce (about "
        f"{results['minutes']:.0f} minutes; the first run also installs LiteLLM):",
        "",
        "```",
        "make .venv/.installed   # or: python3 -m venv .venv && .venv/bin/pip install -e '.[dev]'",
        ".venv/bin/" + results["command"].strip(),
        "```",
    ]


def analysis_text(fig: Figures, missed: list[str], notes: dict[str, str]) -> list[str]:
    """What the numbers say."""
    lines = []
    floor, deck = fig.added("thin", False), fig.added("llmdeck", False)
    deck_stream = fig.added("llmdeck", True)
    lines.append(
        f"- At c=1 llmdeck adds {fmt_ms(deck)} to a JSON call and {fmt_ms(deck_stream)} "
        f"to a stream; the thin proxy, which does nothing but forward, adds {fmt_ms(floor)} and "
        f"{fmt_ms(fig.added('thin', True))}. Most of a proxy's added latency on this machine is "
        "the two extra hops between cores, which any proxy pays."
    )
    lines.append(
        f"- At c=64 llmdeck serves {fmt_num(fig.rps('llmdeck', False))} requests/s and "
        f"{fmt_num(fig.rps('llmdeck', True))} streams/s on one core, spending "
        f"{fmt_ms(fig.cpu('llmdeck', False))} of CPU per request and "
        f"{fmt_ms(fig.cpu('llmdeck', True))} per stream, against the floor's "
        f"{fmt_ms(fig.cpu('thin', False))} and {fmt_ms(fig.cpu('thin', True))}: the difference is "
        "llmdeck's own work (parsing and validating the request and each chunk, auth, routing, "
        "cost, the span and its SQLite write). It is CPU-bound: on a core of its own that is "
        f"{fmt_num(1000 / fig.cpu('llmdeck', False))} requests/s and "
        f"{fmt_num(1000 / fig.cpu('llmdeck', True))} streams/s."
    )
    if "litellm" in fig.names:
        lines.append(
            f"- LiteLLM adds {fmt_ms(fig.added('litellm', False))} at c=1 and serves "
            f"{fmt_num(fig.rps('litellm', False))} requests/s ({fmt_num(fig.rps('litellm', True))} "
            f"streams/s) at c=64, at {fmt_ms(fig.cpu('litellm', False))} of CPU per request; it "
            f"peaks at {fig.rss('litellm'):.0f} MB and takes {fig.ready('litellm'):.1f} s to serve."
        )
    noise = sorted(other_load(p) for p in fig.best.values() if not math.isnan(other_load(p)))
    if noise:
        lines.append(
            f"- Other work on the machine took a median {noise[len(noise) // 2]:.0%} of core 0 "
            f"during the points shown (the last column of the tables); throughput and tail "
            "latency fall with it, CPU per request much less."
        )
    verdict = "every target of issue 2 is met" if not missed else "missed: " + "; ".join(missed)
    lines.append(f"- Targets: {verdict}.")
    lines += [f"- Note ({name}): {text}" for name, text in notes.items()]
    errors = [p for p in fig.best.values() if p["errors"]]
    if errors:
        lines.append(f"- {len(errors)} of the points shown had failed requests (see the tables).")
    return lines


def render(results: dict[str, Any]) -> str:
    """The whole section."""
    fig = Figures(results)
    targets, missed = targets_table(fig)
    parts = [
        HEADING,
        "",
        "What llmdeck's gateway costs on top of the upstream call, next to the floor of a thin "
        "Python proxy and next to LiteLLM's proxy, all against the same fake upstream "
        "(generated by `python -m bench.gateway`; issue 2).",
        "",
        *summary_table(fig),
        "",
        *targets,
        "",
        "### Ratios",
        "",
        *ratio_table(fig),
        "",
        "### Every point",
        "",
        "JSON (non-streaming) requests; latency is per request, as the client sees it:",
        "",
        *detail_table(fig, False),
        "",
        "Streams (read to `[DONE]`); latency is to the end of the stream:",
        "",
        *detail_table(fig, True),
        "",
        "### Setup",
        "",
        *setup_text(results),
        "",
        "### Analysis",
        "",
        *analysis_text(fig, missed, results.get("notes", {})),
        "",
    ]
    return "\n".join(parts)
