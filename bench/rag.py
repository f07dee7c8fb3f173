"""RAG: retrieval quality (keyword-only vs vector-only vs hybrid) on SciFact and SQuAD,
ingestion throughput against the bare embedding model, and query latency by stage.

    .venv/bin/python -m bench.rag            # writes docs/benchmarks.md ("RAG") and docs/rag.md
    .venv/bin/python -m bench.rag --fresh    # re-ingest from scratch (else reuses /tmp state)

Everything runs through llmdeck's own pipeline (`RagService`: loaders, chunking, the gateway's
`local` int8 ONNX MiniLM embeddings, the embedded vector engine) with the embedded defaults.
Fusion (RRF, or weighted with alpha) is chosen on the SciFact *train* claims only, then applied
unchanged to the SciFact test claims and to SQuAD. The collections and a summary of the fresh
ingestion live under /tmp/llmdeck-bench-rag, so a rerun skips the ~5 minutes of embedding.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench.report import write_section
from llmdeck.config import RetrievalSettings, Settings
from llmdeck.rag import IngestReport, RagService
from llmdeck.rag.retrieve import Query, retrieve
from llmdeck.server.embedder import background_runtime
from llmdeck.vectors import Embeddings

ROOT = Path(__file__).resolve().parents[1]
WORK = Path("/tmp/llmdeck-bench-rag")
DATA = Path(os.environ.get("LLMDECK_BENCH_DATA", "/work/shared/data"))
RAG_DOC = ROOT / "docs" / "rag.md"
ALPHAS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
DEEP = 300  # SciFact: chunks retrieved per query, enough for 100 distinct documents


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def read_qrels(path: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for line in path.read_text().splitlines()[1:]:
        query, doc, score = line.split("\t")
        if int(score) > 0:
            out[query].add(doc)
    return out


class MemoEmbed:
    """The runtime's embedder, remembering single texts (the questions asked again per mode)."""

    def __init__(self, embed: Callable[[list[str], str], Embeddings]) -> None:
        self.embed = embed
        self.memo: dict[tuple[str, str], Embeddings] = {}

    def __call__(self, texts: list[str], model: str) -> Embeddings:
        if len(texts) != 1:
            return self.embed(texts, model)
        key = (model, texts[0])
        if key not in self.memo:
            self.memo[key] = self.embed(texts, model)
        return self.memo[key]


CHUNKING = {"max_tokens": 256, "overlap": 32}


def settings() -> Settings:
    pipelines = {
        name: {"source": str(DATA / name / "corpus.jsonl"), "chunking": CHUNKING}
        for name in ("scifact", "squad")
    }
    return Settings.model_validate(
        {
            "home": WORK / "home",
            "rag": {"pipelines": pipelines, "embed_batch": 64},
            "vectors": {"quality_interval": 0},
        }
    )


# -- ingestion ---------------------------------------------------------------------------------


def ingest(rag: RagService, name: str) -> dict[str, Any]:
    """Ingest a corpus (fresh: timed and saved; else the saved summary of the fresh run)."""
    saved = WORK / f"ingest-{name}.json"
    last = [0.0]

    def progress(report: IngestReport) -> None:
        if time.perf_counter() - last[0] > 5:
            last[0] = time.perf_counter()
            rate = report.chunks / max(report.elapsed, 1e-9)
            print(f"  {name}: {report.done:,} docs, {report.chunks:,} chunks, {rate:.1f} chunks/s")

    report = rag.ingest(name, progress=progress)
    if report.written == 0 and saved.exists():
        return dict(orjson.loads(saved.read_bytes()))
    summary = report.to_dict()
    saved.write_bytes(orjson.dumps(summary))
    return summary


class Recording:
    """The pipeline's embedder, keeping each batch it was given (to replay on the bare model)."""

    def __init__(self, embed: Callable[[list[str], str], Embeddings]) -> None:
        self.embed = embed
        self.batches: list[list[str]] = []

    def __call__(self, texts: list[str], model: str) -> Embeddings:
        self.batches.append(list(texts))
        return self.embed(texts, model)


def throughput(name: str, rounds: int = 4, per_round: int = 300) -> dict[str, Any]:
    """The pipeline against the bare model in alternating rounds on disjoint slices of the
    corpus (a fresh home: cold cache), each round's bare run replaying exactly the batches the
    pipeline embedded, so that load from other processes falls on both alike."""
    from llmdeck.gateway.providers.local.embedding import get_embedder

    home = WORK / "throughput"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    docs = read_jsonl(DATA / name / "corpus.jsonl")[1000:]
    pipelines = {}
    for i in range(rounds):
        path = home / f"round{i}.jsonl"
        part = docs[i * per_round : (i + 1) * per_round]
        path.write_bytes(b"\n".join(orjson.dumps(d) for d in part))
        pipelines[f"round{i}"] = {"source": str(path), "chunking": CHUNKING}
    config = {
        "home": home / "home",
        "rag": {"pipelines": pipelines, "embed_batch": 64},
        "vectors": {"quality_interval": 0},
    }
    embedder = get_embedder()
    embedder.embed(["warm up the model"] * 64)
    out: list[dict[str, float]] = []
    with background_runtime(Settings.model_validate(config)) as runtime:
        recording = Recording(runtime.embedder)
        runtime.rag.ingestor.embed = recording
        for i in range(rounds):
            recording.batches.clear()
            report = runtime.rag.ingest(f"round{i}")
            started = time.perf_counter()
            for batch in recording.batches:
                embedder.embed(batch)
            bare = report.chunks / (time.perf_counter() - started)
            pipeline = report.chunks / report.elapsed
            out.append({"chunks": report.chunks, "pipeline": pipeline, "bare": bare})
            print(f"  round {i}: pipeline {pipeline:.1f} chunks/s, bare {bare:.1f} chunks/s")
    ratios = sorted(r["pipeline"] / r["bare"] for r in out)
    return {"rounds": out, "median_ratio": statistics.median(ratios)}


# -- retrieval quality -------------------------------------------------------------------------


def ranked_docs(
    rag: RagService, name: str, text: str, mode: RetrievalSettings, depth: int = DEEP
) -> list[str]:
    """Distinct document ids in rank order (a document ranks by its best chunk)."""
    found = retrieve(rag.vectors, Query(name, text, depth, mode))
    return list(dict.fromkeys(c.document_id for c in found.chunks))


def ndcg(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    gain = sum(1 / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return gain / ideal


def recall(ranked: list[str], relevant: set[str], k: int) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant)


def mrr(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    return next((1 / (i + 1) for i, d in enumerate(ranked[:k]) if d in relevant), 0.0)


def mode(kind: str, alpha: float = 0.5) -> RetrievalSettings:
    if kind in ("keyword", "vector"):
        return RetrievalSettings(mode=kind, dedup=0)  # type: ignore[arg-type]
    return RetrievalSettings(mode="hybrid", fusion=kind, alpha=alpha, dedup=0)  # type: ignore[arg-type]


def scifact_scores(rag: RagService, split: str, settings: RetrievalSettings) -> dict[str, float]:
    suffix = "-train" if split == "train" else ""
    queries = read_jsonl(DATA / "scifact" / f"queries{suffix}.jsonl")
    qrels = read_qrels(DATA / "scifact" / f"qrels{suffix}.tsv")
    scores: dict[str, list[float]] = {"ndcg@10": [], "recall@100": []}
    for q in queries:
        relevant = qrels.get(str(q["id"]))
        if not relevant:
            continue
        ranked = ranked_docs(rag, "scifact", q["text"], settings)
        scores["ndcg@10"].append(ndcg(ranked, relevant))
        scores["recall@100"].append(recall(ranked, relevant, 100))
    return {k: statistics.fmean(v) for k, v in scores.items()}


def squad_scores(rag: RagService, settings: RetrievalSettings) -> dict[str, float]:
    scores: dict[str, list[float]] = {"recall@5": [], "mrr@10": []}
    for q in read_jsonl(DATA / "squad" / "questions.jsonl"):
        relevant = set(q["passage_ids"])
        ranked = ranked_docs(rag, "squad", q["question"], settings, depth=30)
        scores["recall@5"].append(recall(ranked, relevant, 5))
        scores["mrr@10"].append(mrr(ranked, relevant))
    return {k: statistics.fmean(v) for k, v in scores.items()}


def tune(rag: RagService) -> tuple[str, RetrievalSettings, list[list[str]]]:
    """The fusion with the best nDCG@10 on the SciFact train claims."""
    candidates = [("RRF (k=60)", mode("rrf"))]
    candidates += [(f"weighted, alpha {a}", mode("weighted", a)) for a in ALPHAS]
    rows, best = [], None
    for label, candidate in candidates:
        score = scifact_scores(rag, "train", candidate)["ndcg@10"]
        rows.append([label, f"{score:.3f}"])
        print(f"  train {label}: nDCG@10 {score:.3f}")
        if best is None or score > best[0]:
            best = (score, label, candidate)
    assert best is not None
    return best[1], best[2], rows


# -- query latency -----------------------------------------------------------------------------


def latency(rag: RagService, loop: Any, count: int = 200) -> dict[str, tuple[float, float]]:
    """p50 and p95 per stage (ms) of full queries (retrieve, answer, groundedness)."""
    queries = read_jsonl(DATA / "scifact" / "queries.jsonl")[:count]
    per_stage: dict[str, list[float]] = defaultdict(list)
    for q in queries:
        started = time.perf_counter()
        result = asyncio.run_coroutine_threadsafe(rag.query("scifact", q["text"]), loop).result()
        per_stage["total"].append((time.perf_counter() - started) * 1000)
        for stage, value in result.retrieval.timings.items():
            per_stage[stage].append(value)
    return {s: (_pct(v, 50), _pct(v, 95)) for s, v in per_stage.items()}


def _pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# -- the run -----------------------------------------------------------------------------------


def run(fresh: bool) -> dict[str, Any]:
    if fresh and WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    with background_runtime(settings()) as runtime:
        runtime.vectors.vectors.embed = MemoEmbed(runtime.embedder)
        rag = runtime.rag
        for name in ("scifact", "squad"):
            print(f"ingesting {name}")
            out[f"ingest_{name}"] = ingest(rag, name)
        out["bare_rate"] = {
            n: out[f"ingest_{n}"]["bare_chunks_per_s"] for n in ("scifact", "squad")
        }
        print("tuning fusion on the SciFact train claims")
        out["chosen"], chosen, out["tuning"] = tune(rag)
        quality: dict[str, dict[str, dict[str, float]]] = {"scifact": {}, "squad": {}}
        for label, settings_ in (
            ("keyword-only", mode("keyword")),
            ("vector-only", mode("vector")),
            (f"hybrid ({out['chosen']})", chosen),
        ):
            print(f"measuring {label}")
            quality["scifact"][label] = scifact_scores(rag, "test", settings_)
            quality["squad"][label] = squad_scores(rag, settings_)
        out["quality"] = quality
        out["retrieval"] = chosen.model_dump()
    tuned = settings().model_dump()
    for pipeline in tuned["rag"]["pipelines"].values():
        pipeline["retrieval"] = {**out["retrieval"], "k": 5, "dedup": 0.95}
    with background_runtime(Settings.model_validate(tuned)) as runtime:
        print("measuring query latency")
        out["latency"] = latency(runtime.rag, runtime.embedder.loop)
    print("measuring ingestion throughput against the bare model")
    out["throughput"] = throughput("scifact")
    return out


def _table(columns: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" if i == 0 else "---:" for i in range(len(columns))) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def quality_lines(out: dict[str, Any]) -> list[str]:
    sci, squad = out["quality"]["scifact"], out["quality"]["squad"]
    labels = list(sci)
    rows = [
        [
            label,
            f"{sci[label]['ndcg@10']:.3f}",
            f"{sci[label]['recall@100']:.3f}",
            f"{squad[label]['recall@5']:.3f}",
            f"{squad[label]['mrr@10']:.3f}",
        ]
        for label in labels
    ]
    hybrid, parts = labels[2], labels[:2]
    lines = _table(
        ["retrieval", "SciFact nDCG@10", "SciFact recall@100", "SQuAD recall@5", "SQuAD MRR@10"],
        rows,
    )
    lines.append("")
    for data, metric in (
        ("scifact", "ndcg@10"),
        ("scifact", "recall@100"),
        ("squad", "recall@5"),
        ("squad", "mrr@10"),
    ):
        scores = out["quality"][data]
        best_part = max(parts, key=lambda p: scores[p][metric])
        gain = scores[hybrid][metric] - scores[best_part][metric]
        verdict = "beats" if gain > 0 else "does not beat"
        lines.append(
            f"- {data} {metric}: hybrid {verdict} the better part ({best_part}) by "
            f"{gain:+.3f} ({gain / scores[best_part][metric]:+.1%})"
        )
    lines += [
        "",
        "Documents rank by their best chunk (256-token structure chunks, 32 overlapping; a "
        "record's title leads its text). The pipeline's default fusion is the one chosen here.",
        "",
        f"Anchors from the data set's notes: BM25 nDCG@10 0.665, MiniLM 0.645 "
        "(whole abstracts, exact search). Fusion chosen on the 809 SciFact train claims "
        f"(nDCG@10): **{out['chosen']}**.",
        "",
    ]
    lines += _table(["fusion (train claims)", "nDCG@10"], out["tuning"])
    return lines


def ingest_lines(out: dict[str, Any]) -> list[str]:
    rows = []
    for name in ("scifact", "squad"):
        s = out[f"ingest_{name}"]
        total = sum(s["stages"].values()) or 1.0
        shares = ", ".join(
            f"{k} {v / total:.0%}" for k, v in s["stages"].items() if v / total >= 0.005
        )
        rows.append(
            [
                name,
                f"{s['documents']:,}",
                f"{s['chunks']:,}",
                f"{s['seconds']:.0f} s",
                f"{s['docs_per_s']:.1f}",
                f"{s['chunks_per_s']:.1f}",
                shares,
            ]
        )
    lines = _table(
        ["corpus", "documents", "chunks", "time", "docs/s", "chunks/s", "share of time per stage"],
        rows,
    )
    found = out["throughput"]
    rounds = [
        [
            str(i + 1),
            f"{r['chunks']:,}",
            f"{r['pipeline']:.1f}",
            f"{r['bare']:.1f}",
            f"{r['pipeline'] / r['bare']:.0%}",
        ]
        for i, r in enumerate(found["rounds"])
    ]
    lines += [
        "",
        "Pipeline against the bare model (local int8 ONNX all-MiniLM-L6-v2 alone, "
        "replaying exactly the batches of 64 the pipeline embedded), in alternating rounds "
        "of 300 SciFact documents each with a cold cache: the load other processes put "
        "on the 2 shared cores drifts, and alternating lets it fall on both; single rounds "
        f"still swing, so the median counts: **{found['median_ratio']:.0%}** of the "
        "bare model's rate (target: at least 80%).",
        "",
    ]
    lines += _table(
        ["round", "chunks", "pipeline chunks/s", "bare model chunks/s", "pipeline vs bare"], rounds
    )
    lines += [
        "",
        "The pipeline's rate counts everything: reading, chunking, the embedding "
        "cache, the gateway call (traced), the vector engine and the per-document state; "
        "every stage but embedding stays under 10% of the time.",
    ]
    return lines


def latency_lines(out: dict[str, Any]) -> list[str]:
    order = ["embed", "search", "retrieve", "answer", "grounded", "total"]
    rows = [
        [stage, f"{p50:.1f}", f"{p95:.1f}"]
        for stage, (p50, p95) in sorted(
            out["latency"].items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 9
        )
    ]
    return [
        *_table(["stage", "p50 ms", "p95 ms"], rows),
        "",
        "200 SciFact test claims through `RagService.query` in process: the question "
        "embedded through the gateway (local model), hybrid search (k=5), the `local` "
        "extractive answer through the gateway, the groundedness score. `retrieve` "
        "includes `embed` and `search`.",
    ]


def write(out: dict[str, Any]) -> None:
    reproduce = [
        "Reproduce: `.venv/bin/python -m bench.rag --fresh` (2 cores shared; "
        f"run {time.strftime('%Y-%m-%d')}).",
        "",
    ]
    lines = [
        *reproduce,
        "### Retrieval quality",
        "",
        *quality_lines(out),
        "",
        "### Ingestion throughput",
        "",
        *ingest_lines(out),
        "",
        "### Query latency by stage",
        "",
        *latency_lines(out),
    ]
    write_section("## RAG", lines)
    write_section("## Benchmarks", lines, RAG_DOC)
    (WORK / "results.json").write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fresh", action="store_true", help="re-ingest from scratch")
    args = parser.parse_args()
    out = run(args.fresh)
    write(out)
    print("\n".join(quality_lines(out) + [""] + ingest_lines(out) + [""] + latency_lines(out)))


if __name__ == "__main__":
    main()
