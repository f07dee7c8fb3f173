"""Benchmark the local embedding model: passages/s for the float32 and int8 ONNX graphs.

    python bench/embedding.py [--passages 500] [--rounds 5] [--reference bench/.work/reference.npz]

Embeds ~500 SQuAD passages of 100-160 tokens (about 128 on average), float32 and int8 in
turn, and prints a Markdown table: passages/s (best of the rounds: other work on a small
machine only ever slows a round down), the time to embed one short query, the first build
of each graph, and the cosine agreement of int8 with float32. With `--reference`, a file from
`bench/embedding_reference.py`, it adds the agreement of both with sentence-transformers.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from tokenizers import Tokenizer

from llmdeck.gateway.providers.local.embedding import LocalEmbedder, installed_model_dir

CORPUS = Path("/work/shared/data/squad/corpus.jsonl")
QUERY = "Which NFL team represented the AFC at Super Bowl 50?"
Vectors = NDArray[np.float32]


def load_passages(corpus: Path, count: int) -> list[str]:
    """The first `count` passages of 100 to 160 tokens."""
    tokenizer = Tokenizer.from_file(str(installed_model_dir() / "tokenizer.json"))
    with corpus.open() as f:
        texts = [json.loads(line)["text"] for line in f]
    sizes = [len(e.ids) for e in tokenizer.encode_batch(texts)]
    return [text for text, size in zip(texts, sizes, strict=True) if 100 <= size <= 160][:count]


def best_seconds(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """The fastest of `rounds` timed calls of each run, taking turns so all see the same load."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def cosine(a: Vectors, b: Vectors) -> Vectors:
    """Row-wise cosine of unit vectors."""
    return np.asarray((a * b).sum(axis=1), dtype=np.float32)


def speed_rows(embedders: dict[str, LocalEmbedder], passages: list[str], rounds: int) -> list[str]:
    """One table row per graph: passages/s, tokens/s, one-query latency."""
    for embedder in embedders.values():
        embedder.embed(passages[:32])  # warm up
    batch = best_seconds({n: partial(e.embed, passages) for n, e in embedders.items()}, rounds)
    query = best_seconds({n: partial(e.embed, [QUERY]) for n, e in embedders.items()}, rounds * 20)
    tokens = sum(next(iter(embedders.values())).count_tokens(passages))
    return [
        f"| {name} | {len(passages) / batch[name]:.1f} | {tokens / batch[name]:,.0f} "
        f"| {query[name] * 1000:.1f} |"
        for name in embedders
    ]


def reference_rows(embedders: dict[str, LocalEmbedder], reference: Path) -> list[str]:
    """Agreement of each graph with sentence-transformers' own vectors and token counts."""
    data = np.load(reference)
    texts = [str(t) for t in data["texts"]]
    rows = []
    for name, embedder in embedders.items():
        agreement = cosine(embedder.embed(texts), data["vectors"])
        same_tokens = embedder.count_tokens(texts) == data["tokens"].tolist()
        rows.append(
            f"| {name} vs sentence-transformers ({len(texts)} texts) | {agreement.mean():.6f} "
            f"| {agreement.min():.6f} | token counts {'equal' if same_tokens else 'DIFFER'} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--passages", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reference", type=Path, help="from bench/embedding_reference.py")
    args = parser.parse_args()
    passages = load_passages(args.corpus, args.passages)
    with tempfile.TemporaryDirectory() as cache:
        embedders, builds = {}, {}
        for name, quantized in (("fp32", False), ("int8", True)):
            start = time.perf_counter()
            embedders[name] = LocalEmbedder(cache_dir=Path(cache), quantized=quantized)
            builds[name] = time.perf_counter() - start
        rows = speed_rows(embedders, passages, args.rounds)
        fp32, int8 = embedders["fp32"].embed(passages), embedders["int8"].embed(passages)
        extra = reference_rows(embedders, args.reference) if args.reference else []
    agreement = cosine(fp32, int8)
    print(f"{len(passages)} passages, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}\n")
    print("| graph | passages/s | tokens/s | one query (ms) |\n| --- | ---: | ---: | ---: |")
    print("\n".join(rows))
    print("\n| comparison | mean cosine | min cosine | notes |\n| --- | ---: | ---: | --- |")
    print(
        f"| int8 vs fp32 ({len(passages)} passages) | {agreement.mean():.6f} "
        f"| {agreement.min():.6f} | first build: fp32 {builds['fp32']:.1f} s, "
        f"int8 {builds['int8']:.1f} s |"
    )
    print("\n".join(extra))


if __name__ == "__main__":
    main()
