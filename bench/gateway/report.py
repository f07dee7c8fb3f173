"""The figures of a run (best round of each point) and the tables made of them."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

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
    """Share of core 0 busy with something other than the contender (noise from the machine);
    not given for the direct calls, which do not use core 0."""
    if point.get("core_busy_s") is None or not point["seconds"] or point["contender"] == "direct":
        return math.nan
    return max(0.0, point["core_busy_s"] - point["target_cpu_s"]) / point["seconds"]


def proxy_share(point: Point) -> float:
    """Share of core 0 the contender used: near 100% minus the other load, it was CPU-bound."""
    if point["contender"] == "direct" or not point["seconds"]:
        return math.nan
    return float(point["target_cpu_s"]) / point["seconds"]


def point_line(point: Point) -> str:
    """One progress line."""
    shape = "stream" if point["stream"] else "json"
    errors = f" errors {point['errors']}" if point["errors"] else ""
    return (
        f"r{point['round']} {point['contender']:>8} {shape:>6} c={point['concurrency']:<3}"
        f" {point['rps']:8.0f}/s p50 {point['p50_us'] / 1000:7.2f} ms"
        f" p99 {point['p99_us'] / 1000:7.2f} ms cpu {cpu_ms(point):6.2f} ms/req{errors}"
    )


def fmt_ms(value: float | None, digits: int = 2) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.{digits}f} ms"


def fmt_share(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.0%}"


def fmt_num(value: float | None) -> str:
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
            lat = [
                fmt_ms(fig.added(name, s, k)) for s in (False, True) for k in ("p50_us", "p99_us")
            ]
        cells = [
            LABELS[name],
            *lat,
            fmt_num(fig.rps(name, False)),
            fmt_num(fig.rps(name, True)),
            fmt_ms(fig.cpu(name, False)),
            fmt_ms(fig.cpu(name, True)),
            "—" if math.isnan(fig.rss(name)) else f"{fig.rss(name):.0f} MB",
            "—" if math.isnan(fig.ready(name)) else f"{fig.ready(name):.2f} s",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _direct(fig: Figures, stream: bool, key: str) -> str:
    point = fig.at("direct", stream, 1)
    return "—" if point is None else f"({fmt_ms(point[key] / 1000, 3)} itself)"


def targets_table(fig: Figures) -> tuple[list[str], list[str]]:
    """The issue's targets against llmdeck's figures; and the names of those missed.

    Throughput is also given as 1 / CPU per request: what a core of its own would serve, since
    the proxy is CPU-bound and other work on the machine may have taken part of core 0.
    """
    rows = [
        "| target (issue 2) | llmdeck | on a core of its own (1 / CPU per request) | met |",
        "| --- | ---: | ---: | :---: |",
    ]
    missed: list[str] = []
    nan = math.nan
    checks: list[tuple[str, float, float, Callable[[float], bool], str]] = [
        ("added p50 < 1 ms at c=1", fig.added("llmdeck", False), nan, lambda v: v < 1, "ms"),
        (
            "added p50 < 1 ms at c=1, streaming",
            fig.added("llmdeck", True),
            nan,
            lambda v: v < 1,
            "ms",
        ),
        (
            "≥ 2,000 requests/s at c=64",
            fig.rps("llmdeck", False),
            1000 / fig.cpu("llmdeck", False),
            lambda v: v >= 2000,
            "/s",
        ),
        (
            "≥ 1,000 streams/s at c=64",
            fig.rps("llmdeck", True),
            1000 / fig.cpu("llmdeck", True),
            lambda v: v >= 1000,
            "/s",
        ),
        ("peak RSS < 120 MB", fig.rss("llmdeck"), nan, lambda v: v < 120, "MB"),
        ("ready in < 2 s", fig.ready("llmdeck"), nan, lambda v: v < 2, "s"),
    ]
    for label, value, alone, ok, unit in checks:
        if math.isnan(value):
            shown, met = "—", "not measured"
        else:
            shown = f"{value:,.0f}{unit}" if unit == "/s" else f"{value:.2f} {unit}"
            met = "yes" if ok(value) else "**no**"
        if met == "**no**" and not math.isnan(alone) and ok(alone):
            met = "**no** (yes on a core of its own)"
        if met != "yes":
            missed.append(label)
        free = "—" if math.isnan(alone) else f"{alone:,.0f}/s"
        rows.append(f"| {label} | {shown} | {free} | {met} |")
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
        ("added p50, c=1", lambda n: fig.added(n, False), fmt_ms),
        ("added p50 stream, c=1", lambda n: fig.added(n, True), fmt_ms),
        ("CPU per request, c=64", lambda n: fig.cpu(n, False), fmt_ms),
        ("CPU per stream, c=64", lambda n: fig.cpu(n, True), fmt_ms),
        ("peak RSS (MB)", fig.rss, fmt_num),
        ("requests/s, c=64", lambda n: fig.rps(n, False), fmt_num),
        ("streams/s, c=64", lambda n: fig.rps(n, True), fmt_num),
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
        "| contender | c | req/s | p50 | p99 | proxy CPU/req | proxy's share of core 0 "
        "| other load on core 0 | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name in fig.names:
        for (who, shape, concurrency), point in sorted(fig.best.items()):
            if who != name or shape != stream:
                continue
            errors = ", ".join(f"{k}: {v}" for k, v in point["errors"].items()) or "0"
            cells = [
                LABELS[name],
                str(concurrency),
                fmt_num(point["rps"]),
                fmt_ms(point["p50_us"] / 1000),
                fmt_ms(point["p99_us"] / 1000),
                fmt_ms(cpu_ms(point)),
                fmt_share(proxy_share(point)),
                fmt_share(other_load(point)),
                errors,
            ]
            rows.append("| " + " | ".join(cells) + " |")
    return rows
