"""The `## Gateway overhead` section of docs/benchmarks.md, from a run's results."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

HEADING = "## Gateway overhead"
ORDER = ("direct", "thin", "llmdeck", "litellm")
LABELS = {
    "direct": "direct (no proxy)",
    "thin": "thin aiohttp proxy (floor)",
    "llmdeck": "**llmdeck**",
    "litellm": "LiteLLM proxy",
}
Key = tuple[str, bool, int]
Point = dict[str, Any]


def best_points(points: list[Point]) -> dict[Key, Point]:
    """The best round (most requests per second) of each contender, shape and concurrency."""
    best: dict[Key, Point] = {}
    for point in points:
        key = (point["contender"], point["stream"], point["concurrency"])
        if key not in best or point["rps"] > best[key]["rps"]:
            best[key] = point
    return best


def cpu_ms(point: Point | None) -> float:
    """Proxy CPU milliseconds per request."""
    if point is None or not point["requests"] or point["contender"] == "direct":
        return math.nan
    return float(point["target_cpu_s"]) / point["requests"] * 1000


def other_load(point: Point) -> float:
    """Share of core 0 busy with something other than the contender (noise from the machine)."""
    if point.get("core_busy_s") is None or not point["seconds"]:
        return math.nan
    return max(0.0, point["core_busy_s"] - point["target_cpu_s"]) / point["seconds"]


def point_line(point: Point) -> str:
    """One progress line."""
    shape = "stream" if point["stream"] else "json"
    errors = f" errors {point['errors']}" if point["errors"] else ""
    return (
        f"r{point['round']} {point['contender']:>8} {shape:>6} c={point['concurrency']:<3}"
        f" {point['rps']:8.0f}/s p50 {point['p50_us'] / 1000:7.2f} ms"
        f" p99 {point['p99_us'] / 1000:7.2f} ms cpu {cpu_ms(point):6.2f} ms/req{errors}"
    )


def _ms(value: float | None, digits: int = 2) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.{digits}f} ms"


def _num(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:,.0f}"


class Figures:
    """The headline figures of each contender, from the best points."""

    def __init__(self, results: dict[str, Any]) -> None:
        self.results = results
        self.best = best_points(results["points"])
        self.names = [n for n in ORDER if n in results["contenders"]]

    def at(self, name: str, stream: bool, concurrency: int) -> Point | None:
        """The best point, if it was measured."""
        return self.best.get((name, stream, concurrency))

    def added(self, name: str, stream: bool, key: str = "p50_us") -> float:
        """Latency (ms) added over calling the fake directly, at concurrency 1."""
        mine, direct = self.at(name, stream, 1), self.at("direct", stream, 1)
        if mine is None or direct is None:
            return math.nan
        return float(mine[key] - direct[key]) / 1000

    def rps(self, name: str, stream: bool, concurrency: int = 64) -> float:
        """Requests (or streams) per second."""
        point = self.at(name, stream, concurrency)
        return math.nan if point is None else float(point["rps"])

    def cpu(self, name: str, stream: bool, concurrency: int = 64) -> float:
        """Proxy CPU ms per request."""
        return cpu_ms(self.at(name, stream, concurrency))

    def rss(self, name: str) -> float:
        """Peak RSS of the proxy process, MiB."""
        value = self.results["contenders"][name].get("peak_rss_mb")
        return math.nan if value is None else float(value)

    def ready(self, name: str) -> float:
        """Seconds from spawn to the first answered chat completion."""
        value = self.results["contenders"][name].get("ready_s")
        return math.nan if value is None or name == "direct" else float(value)


def summary_table(fig: Figures) -> list[str]:
    """One row per contender with every headline figure."""
    rows = [
        "| | added p50, c=1 | added p99, c=1 | added p50 stream, c=1 | added p99 stream, c=1 "
        "| req/s, c=64 | streams/s, c=64 | CPU/req, c=64 | CPU/stream, c=64 | peak RSS | ready |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in fig.names:
        if name == "direct":
            lat = [_direct(fig, s, k) for s in (False, True) for k in ("p50_us", "p99_us")]
        else:
            lat = [_ms(fig.added(name, s, k)) for s in (False, True) for k in ("p50_us", "p99_us")]
        cells = [
            LABELS[name],
            *lat,
            _num(fig.rps(name, False)),
            _num(fig.rps(name, True)),
            _ms(fig.cpu(name, False)),
            _ms(fig.cpu(name, True)),
            "—" if math.isnan(fig.rss(name)) else f"{fig.rss(name):.0f} MB",
            "—" if math.isnan(fig.ready(name)) else f"{fig.ready(name):.2f} s",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _direct(fig: Figures, stream: bool, key: str) -> str:
    point = fig.at("direct", stream, 1)
    return "—" if point is None else f"({_ms(point[key] / 1000, 3)} itself)"


def targets_table(fig: Figures) -> tuple[list[str], list[str]]:
    """The issue's targets against llmdeck's figures; and the names of those missed."""
    rows = ["| target (issue 2) | llmdeck | met |", "| --- | ---: | :---: |"]
    missed: list[str] = []
    checks: list[tuple[str, float, Callable[[float], bool], str]] = [
        ("added p50 < 1 ms at c=1", fig.added("llmdeck", False), lambda v: v < 1, "ms"),
        ("added p50 < 1 ms at c=1, streaming", fig.added("llmdeck", True), lambda v: v < 1, "ms"),
        ("≥ 2,000 requests/s at c=64", fig.rps("llmdeck", False), lambda v: v >= 2000, "/s"),
        ("≥ 1,000 streams/s at c=64", fig.rps("llmdeck", True), lambda v: v >= 1000, "/s"),
        ("peak RSS < 120 MB", fig.rss("llmdeck"), lambda v: v < 120, "MB"),
        ("ready in < 2 s", fig.ready("llmdeck"), lambda v: v < 2, "s"),
    ]
    for label, value, ok, unit in checks:
        if math.isnan(value):
            shown, met = "—", "not measured"
        else:
            shown = f"{value:,.0f}{unit}" if unit == "/s" else f"{value:.2f} {unit}"
            met = "yes" if ok(value) else "**no**"
        if met != "yes":
            missed.append(label)
        rows.append(f"| {label} | {shown} | {met} |")
    return rows, missed


def _times(value: float) -> str:
    return "—" if math.isnan(value) or math.isinf(value) else f"{value:.1f}×"


def ratio_table(fig: Figures) -> list[str]:
    """llmdeck against the floor (how much more it costs) and against LiteLLM."""
    rows = [
        "| | thin proxy (floor) | llmdeck | LiteLLM | llmdeck ÷ floor | LiteLLM ÷ llmdeck |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    metrics: list[tuple[str, Callable[[str], float], Callable[[float], str]]] = [
        ("added p50, c=1", lambda n: fig.added(n, False), _ms),
        ("added p50 stream, c=1", lambda n: fig.added(n, True), _ms),
        ("CPU per request, c=64", lambda n: fig.cpu(n, False), _ms),
        ("CPU per stream, c=64", lambda n: fig.cpu(n, True), _ms),
        ("peak RSS (MB)", fig.rss, _num),
        ("requests/s, c=64", lambda n: fig.rps(n, False), _num),
        ("streams/s, c=64", lambda n: fig.rps(n, True), _num),
    ]
    for label, get, show in metrics:
        values = {n: get(n) if n in fig.names else math.nan for n in ("thin", "llmdeck", "litellm")}
        floor_ratio = values["llmdeck"] / values["thin"] if values["thin"] else math.nan
        rival = values["litellm"] / values["llmdeck"] if values["llmdeck"] else math.nan
        if label.endswith("/s, c=64"):  # more is better: keep ratios as "llmdeck is N×"
            rival = 1 / rival if rival else math.nan
            label += " (LiteLLM column: llmdeck ÷ LiteLLM)"
        cells = [show(values[n]) for n in ("thin", "llmdeck", "litellm")]
        rows.append(f"| {label} | {' | '.join(cells)} | {_times(floor_ratio)} | {_times(rival)} |")
    return rows


def detail_table(fig: Figures, stream: bool) -> list[str]:
    """Every point of one shape."""
    rows = [
        "| contender | c | req/s | p50 | p99 | proxy CPU/req | other load on core 0 | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name in fig.names:
        for (who, shape, concurrency), point in sorted(fig.best.items()):
            if who != name or shape != stream:
                continue
            errors = ", ".join(f"{k}: {v}" for k, v in point["errors"].items()) or "0"
            cells = [
                LABELS[name],
                str(concurrency),
                _num(point["rps"]),
                _ms(point["p50_us"] / 1000),
                _ms(point["p99_us"] / 1000),
                _ms(cpu_ms(point)),
                f"{other_load(point):.0%}",
                errors,
            ]
            rows.append("| " + " | ".join(cells) + " |")
    return rows


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
        f"{settings['rounds']} rounds (LiteLLM: one round of {settings['litellm_duration']:g} s); "
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
    lines.append(
        f"- At c=1 llmdeck adds {_ms(deck)} to a JSON call and {_ms(fig.added('llmdeck', True))} "
        f"to a stream; the thin proxy, which does nothing but forward, adds {_ms(floor)} and "
        f"{_ms(fig.added('thin', True))}. Most of a proxy's added latency on this machine is "
        "the two extra hops between cores, which any proxy pays."
    )
    lines.append(
        f"- At c=64 llmdeck serves {_num(fig.rps('llmdeck', False))} requests/s and "
        f"{_num(fig.rps('llmdeck', True))} streams/s on one core, spending "
        f"{_ms(fig.cpu('llmdeck', False))} of CPU per request and "
        f"{_ms(fig.cpu('llmdeck', True))} per stream, against the floor's "
        f"{_ms(fig.cpu('thin', False))} and {_ms(fig.cpu('thin', True))}: the difference is "
        "llmdeck's own work (parsing and validating the request and each chunk, auth, routing, "
        "cost, the span and its SQLite write)."
    )
    if "litellm" in fig.names:
        lines.append(
            f"- LiteLLM adds {_ms(fig.added('litellm', False))} at c=1 and serves "
            f"{_num(fig.rps('litellm', False))} requests/s ({_num(fig.rps('litellm', True))} "
            f"streams/s) at c=64, at {_ms(fig.cpu('litellm', False))} of CPU per request; it "
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


def write_section(path: Path, section: str) -> None:
    """Put `section` in place of the file's `## Gateway overhead` (kept: every other section)."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\nRun with `make bench`.\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip() + "\n\n", text, count=1)
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text.rstrip() + "\n")
