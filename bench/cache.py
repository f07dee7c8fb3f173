"""Caching benchmark: the semantic cache's quality and cost. Writes `## Caching` in
docs/benchmarks.md.

1. Quality: the labelled question pairs in bench/data/cache_pairs.jsonl (paraphrases that
   should hit; near-misses with other numbers, names, negation, opposites or topics that must
   not), embedded with the local model. Precision and recall of "serve a hit" over thresholds,
   with and without the agreement checks; the default threshold is chosen from that curve.
   Then a cache simulation at the default: every first question of a pair stored among SQuAD
   questions as distractors, every second question looked up as the gateway does (nearest
   candidates over the threshold, first one passing the checks); plus natural near-misses from
   SQuAD (two questions on one passage with different answers).
2. Lookup cost of the semantic index at 1k, 10k and 100k entries against a numpy scan of the
   whole float32 matrix (the baseline), and the index's recall of the scan's hits.
3. Gateway latency against the fake provider: a miss, an exact hit and a semantic hit, with an
   instant upstream and with a 300 ms one.

Run: `python bench/cache.py` (reads SQuAD questions from ../shared/data/squad; about 3 minutes).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from bench.report import write_section  # noqa: E402
from llmdeck.config import DEFAULT_THRESHOLD, Settings  # noqa: E402
from llmdeck.gateway.cache import VectorIndex, disagreement  # noqa: E402
from llmdeck.gateway.providers.local.embedding import get_embedder  # noqa: E402
from llmdeck.testing import FakeProvider  # noqa: E402
from llmdeck.testing.server import ServerThread  # noqa: E402

HEADING = "## Caching"
PAIRS = ROOT / "bench" / "data" / "cache_pairs.jsonl"
SQUAD_SAMPLE = 3000
MIN_PRECISION = 0.99
THRESHOLDS = [round(0.70 + 0.01 * i, 2) for i in range(29)]
Vectors = dict[str, np.ndarray]


def squad_questions() -> list[dict[str, Any]]:
    """SQuAD questions beside the checkout (or $LLMDECK_SHARED_DATA/squad)."""
    env = os.environ.get("LLMDECK_SHARED_DATA")
    bases = [Path(env)] if env else []
    bases += [ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]
    for base in bases:
        path = base / "squad" / "questions.jsonl"
        if path.exists():
            rows = [json.loads(line) for line in path.open(encoding="utf-8")]
            return rows[:SQUAD_SAMPLE]
    raise SystemExit("cannot find shared/data/squad; set LLMDECK_SHARED_DATA")


def embed(texts: Iterable[str]) -> Vectors:
    unique = sorted(set(texts))
    embedder = get_embedder()
    found: Vectors = {}
    for start in range(0, len(unique), 64):
        batch = unique[start : start + 64]
        for text, vector in zip(batch, embedder.embed(batch), strict=True):
            found[text] = vector
    return found


def prf(tp: int, fp: int, fn: int) -> tuple[float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall


def curve(pairs: list[dict[str, Any]], vectors: Vectors) -> list[dict[str, Any]]:
    """Precision and recall of serving a hit, per threshold, with and without the checks."""
    sims = [float(vectors[p["a"]] @ vectors[p["b"]]) for p in pairs]
    agree = [disagreement(p["b"], p["a"]) is None for p in pairs]
    truth = [p["label"] == "hit" for p in pairs]
    out = []
    for threshold in THRESHOLDS:
        row: dict[str, Any] = {"threshold": threshold}
        for name, checked in (("raw", False), ("checked", True)):
            served = [
                s >= threshold and (a or not checked) for s, a in zip(sims, agree, strict=True)
            ]
            tp = sum(s and t for s, t in zip(served, truth, strict=True))
            fp = sum(s and not t for s, t in zip(served, truth, strict=True))
            fn = sum(t and not s for s, t in zip(served, truth, strict=True))
            row[name] = prf(tp, fp, fn)
        out.append(row)
    return out


def choose(rows: list[dict[str, Any]]) -> float:
    """The threshold with the best recall at precision >= MIN_PRECISION (checks on)."""
    good = [r for r in rows if r["checked"][0] >= MIN_PRECISION]
    return max(good, key=lambda r: (r["checked"][1], -r["threshold"]))["threshold"]


def by_kind(pairs: list[dict[str, Any]], vectors: Vectors, threshold: float) -> list[str]:
    """False hits by kind of near-miss, without and with the checks."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for pair in pairs:
        if pair["label"] != "miss":
            continue
        over = float(vectors[pair["a"]] @ vectors[pair["b"]]) >= threshold
        counts[pair["kind"]][0] += 1
        counts[pair["kind"]][1] += over
        counts[pair["kind"]][2] += over and disagreement(pair["b"], pair["a"]) is None
    lines = ["| near-miss kind | pairs | served without checks | served with checks |"]
    lines.append("| --- | --- | --- | --- |")
    for kind, (n, raw, checked) in sorted(counts.items()):
        lines.append(f"| {kind} | {n} | {raw} | {checked} |")
    return lines


def serve(
    index: VectorIndex, texts: list[str], query: str, vector: np.ndarray, t: float
) -> int | None:
    """What the gateway would serve: the first candidate over `t` passing the checks."""
    for key, _ in index.search(vector, k=4, floor=t):
        if disagreement(query, texts[int(key)]) is None:
            return int(key)
    return None


def simulation(
    pairs: list[dict[str, Any]], squad: list[dict[str, Any]], vectors: Vectors, t: float
) -> list[str]:
    stored = sorted({p["a"] for p in pairs} | {q["question"] for q in squad})
    index = VectorIndex(384)
    for i, text in enumerate(stored):
        if index.add(str(i), vectors[text]):
            index.train()
    position = {text: i for i, text in enumerate(stored)}
    tp = fp = fn = 0
    for pair in pairs:
        served = serve(index, stored, pair["b"], vectors[pair["b"]], t)
        if pair["label"] == "hit":
            tp += served == position[pair["a"]]
            fp += served is not None and served != position[pair["a"]]
            fn += served is None
        else:
            fp += served is not None
    precision, recall = prf(tp, fp, fn)
    natural = squad_near_misses(squad, vectors)
    rows = ["| threshold | served without checks | served with checks |", "| --- | --- | --- |"]
    for level in (t, 0.85, 0.90, 0.95):
        close = [(a, b) for a, b in natural if float(vectors[a] @ vectors[b]) >= level]
        checked = sum(disagreement(b, a) is None for a, b in close)
        rows.append(f"| {level:.2f} | {len(close)} | {checked} |")
    return [
        f"Cache simulation at the default threshold {t:.2f}: the {len({p['a'] for p in pairs})} "
        f"first questions stored among {len(squad)} SQuAD questions, the {len(pairs)} second "
        f"questions looked up: precision **{precision:.3f}**, recall **{recall:.3f}** "
        f"({tp} right hits, {fp} wrong hits, {fn} misses of a paraphrase).",
        "",
        f"Natural near-misses from SQuAD: {len(natural)} pairs of questions on one passage whose "
        'answers share nothing, with similarity >= 0.75 ("How many touchdowns did Manning '
        'throw?" and "How many interceptions did Manning have?"). A few are paraphrases whose '
        "annotated answers differ, so these count an upper bound of the wrong hits. Questions "
        "about one subject that differ in several words are what the checks miss; a higher "
        "threshold is the remedy where such questions are common:",
        "",
        *rows,
        "",
    ]


def squad_near_misses(squad: list[dict[str, Any]], vectors: Vectors) -> list[tuple[str, str]]:
    """Questions on one passage whose answers share nothing (neither contains the other)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in squad:
        groups[row["passage_ids"][0]].append(row)
    found = []
    for rows in groups.values():
        for i, first in enumerate(rows):
            for second in rows[i + 1 :]:
                a, b = first["question"], second["question"]
                close = a != b and float(vectors[a] @ vectors[b]) >= 0.75
                if close and _different(first["answers"], second["answers"]):
                    found.append((a, b))
    return found


def _different(first: list[str], second: list[str]) -> bool:
    ones, others = [x.lower() for x in first], [x.lower() for x in second]
    return not any(x in y or y in x for x in ones for y in others)


def lookup_cost(base: np.ndarray, queries: np.ndarray, targets: np.ndarray, t: float) -> list[str]:
    """Search time of the index vs a full float32 scan, at 1k / 10k / 100k entries."""
    rng = np.random.default_rng(0)
    lines = [
        "| entries | numpy scan (baseline) | llmdeck index | speed-up "
        "| index recall of the scan's hits | build |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for size in (1_000, 10_000, 100_000):
        extra = size - len(targets)
        picks = base[rng.integers(0, len(base), extra)]
        synthetic = picks + rng.standard_normal(picks.shape).astype(np.float32) * 0.04
        synthetic /= np.linalg.norm(synthetic, axis=1, keepdims=True)
        matrix = np.vstack([targets, synthetic]).astype(np.float32)
        started = time.perf_counter()
        index = VectorIndex(matrix.shape[1])
        for i, row in enumerate(matrix):
            if index.add(str(i), row):
                index.train()
        build = time.perf_counter() - started
        scan_ms, scan_hits = timed(lambda q, m=matrix: _scan(m, q, t), queries)
        index_ms, index_hits = timed(lambda q, i=index: _top(i.search(q, k=4, floor=t)), queries)
        wanted = [h for h in scan_hits if h is not None]
        agreed = sum(a == b for a, b in zip(scan_hits, index_hits, strict=True) if a is not None)
        recall = agreed / len(wanted) if wanted else 1.0
        lines.append(
            f"| {size:,} | {scan_ms:.3f} ms | {index_ms:.3f} ms | {scan_ms / index_ms:.1f}x "
            f"| {recall:.3f} ({len(wanted)} queries) | {build:.1f} s |"
        )
    return [*lines, ""]


def _scan(matrix: np.ndarray, query: np.ndarray, t: float) -> int | None:
    scores = matrix @ query
    best = int(np.argmax(scores))
    return best if scores[best] >= t else None


def _top(hits: list[tuple[str, float]]) -> int | None:
    return int(hits[0][0]) if hits else None


def timed(search: Any, queries: np.ndarray) -> tuple[float, list[int | None]]:
    for query in queries[:10]:
        search(query)
    started = time.perf_counter()
    found = [search(query) for query in queries]
    return (time.perf_counter() - started) / len(queries) * 1000, found


def gateway_latency(pairs: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| upstream latency | path | median | p90 | requests |",
        "| --- | --- | --- | --- | --- |",
    ]
    for upstream in (0.0, 0.3):
        with FakeProvider(latency=upstream) as fake:
            settings = gateway_settings(fake, Path(os.environ.get("TMPDIR", "/tmp")))
            with (
                ServerThread(settings) as server,
                httpx.Client(base_url=server.url, timeout=30) as client,
            ):
                for path, times in measure(client, pairs, upstream).items():
                    p50, p90 = statistics.median(times), np.percentile(times, 90)
                    lines.append(
                        f"| {upstream * 1000:.0f} ms | {path} | {p50:.1f} ms | {p90:.1f} ms "
                        f"| {len(times)} |"
                    )
    return [*lines, ""]


def gateway_settings(fake: FakeProvider, tmp: Path) -> Settings:
    home = tmp / f"llmdeck-bench-cache-{os.getpid()}-{time.time_ns()}"
    oa = {"provider": "openai", "api_base": fake.openai_base, "api_key": "x", "model": "m"}
    models = [
        {"name": "plain", "deployments": [oa]},
        {"name": "exact", "cache": {"mode": "exact", "scope": "global"}, "deployments": [oa]},
        {"name": "sem", "cache": {"mode": "semantic", "scope": "global"}, "deployments": [oa]},
        {"name": "embed", "deployments": [{"provider": "local", "model": "default-embedding"}]},
    ]
    return Settings.model_validate({"home": home, "models": models})


def measure(
    client: httpx.Client, pairs: list[dict[str, Any]], upstream: float
) -> dict[str, list[float]]:
    rounds = 40 if upstream else 200
    times: dict[str, list[float]] = defaultdict(list)

    def call(model: str, text: str) -> tuple[float, str]:
        body = {"model": model, "messages": [{"role": "user", "content": text}]}
        started = time.perf_counter()
        response = client.post("/v1/chat/completions", json=body)
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        return elapsed, response.headers.get("x-llmdeck-cache", "none")

    for i in range(rounds):
        times["no cache (alias without cache)"].append(call("plain", f"plain {i}")[0])
        times["exact: miss"].append(call("exact", f"exact {i}")[0])
    for _ in range(rounds):
        times["exact: hit"].append(call("exact", "exact 0")[0])
    paraphrases = [p for p in pairs if p["label"] == "hit"][:rounds]
    for pair in paraphrases:
        elapsed, _ = call("sem", pair["a"])
        times["semantic: miss (embed, look up, call, store)"].append(elapsed)
    for pair in paraphrases:
        elapsed, outcome = call("sem", pair["b"])
        if outcome == "semantic-hit":
            times["semantic: hit (embed, look up)"].append(elapsed)
    return times


def main() -> int:
    pairs = [json.loads(line) for line in PAIRS.open(encoding="utf-8")]
    squad = squad_questions()
    texts = [p["a"] for p in pairs] + [p["b"] for p in pairs] + [q["question"] for q in squad]
    started = time.perf_counter()
    vectors = embed(texts)
    print(f"embedded {len(vectors)} texts in {time.perf_counter() - started:.0f} s")
    rows = curve(pairs, vectors)
    chosen = choose(rows)
    hits = sum(p["label"] == "hit" for p in pairs)
    section = [
        "Reproduce: `python bench/cache.py` (the labelled pairs are in",
        "`bench/data/cache_pairs.jsonl`; SQuAD questions come from `../shared/data/squad`).",
        "Embeddings: the local all-MiniLM-L6-v2.",
        "",
        f"### Semantic cache quality ({len(pairs)} labelled pairs: {hits} paraphrases, "
        f"{len(pairs) - hits} near-misses)",
        "",
        "Precision and recall of serving the cached answer of the first question to the second,",
        "by similarity threshold, without and with the agreement checks (numbers, names,",
        "negation, opposites):",
        "",
        "| threshold | precision (raw) | recall (raw) | precision (checked) | recall (checked) |",
        "| --- | --- | --- | --- | --- |",
        *[
            f"| {r['threshold']:.2f}{' **default**' if r['threshold'] == chosen else ''} "
            f"| {r['raw'][0]:.3f} | {r['raw'][1]:.3f} "
            f"| {r['checked'][0]:.3f} | {r['checked'][1]:.3f} |"
            for r in rows
        ],
        "",
        f"Chosen default: **{chosen:.2f}**, the best recall with precision >= {MIN_PRECISION} "
        "(checks on); the shipped default (`config.DEFAULT_THRESHOLD`) is "
        f"**{DEFAULT_THRESHOLD:.2f}**.",
        "",
        *by_kind(pairs, vectors, DEFAULT_THRESHOLD),
        "",
        *simulation(pairs, squad, vectors, DEFAULT_THRESHOLD),
        "### Semantic index lookup cost",
        "",
        "Stored questions: the labelled pairs' first questions, then synthetic neighbours of real",
        "SQuAD question vectors (Gaussian noise, cosine about 0.8 to their source) up to the size;",
        "queries: the paraphrases. One lookup, single-threaded, at the default threshold:",
        "",
        *lookup_cost(
            np.stack([vectors[q["question"]] for q in squad]),
            np.stack([vectors[p["b"]] for p in pairs if p["label"] == "hit"]),
            np.stack([vectors[p["a"]] for p in pairs if p["label"] == "hit"]),
            DEFAULT_THRESHOLD,
        ),
        "### Gateway latency, hit vs miss (fake provider, sequential requests)",
        "",
        *gateway_latency(pairs),
        "A semantic lookup embeds the question with the local model (the difference between the",
        "semantic and the exact rows); an exact hit needs no embedding. The machine is shared",
        "with other test runs, so single figures move by a few tenths of a millisecond.",
        "",
    ]
    write_section(HEADING, section)
    print("\n".join(section))
    return 0


if __name__ == "__main__":
    sys.exit(main())
