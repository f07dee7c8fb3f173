"""Fit the groundedness weights shipped in `llmdeck/guards/models/grounded.json`.

    pip install -e '.[train]'
    python scripts/train_grounded.py [--data DIR] [--out FILE] [--cv] [--no-embedding]

Reads only the `train` split of HaluEval QA (`halueval_qa.jsonl`, see SOURCE.md). Each answer
is judged against its knowledge passage and question. Features are deliberately about support
only: the answer's length separates this data set's classes almost perfectly (hallucinated
answers are full sentences, right ones short spans), and a detector that learned that would be
useless on real answers, so length is not a feature. With the local MiniLM embedder installed
a second weight set adds the similarity to the closest context sentence.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from llmdeck.guards.grounded import FEATURES, Weights, answer_features

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "llmdeck" / "guards" / "models" / "grounded.json"


def shared_data(name: str) -> Path:
    """`shared/data/NAME` beside the checkout (or its parent), or under $LLMDECK_SHARED_DATA."""
    env = os.environ.get("LLMDECK_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]
    for base in candidates:
        if (base / name).is_dir():
            return base / name
    raise SystemExit(f"cannot find shared/data/{name}; set LLMDECK_SHARED_DATA")


def embedder() -> object | None:
    """The local MiniLM embedder, if this checkout has it."""
    try:
        from llmdeck.gateway.providers.local.embedding import get_embedder
    except ImportError:
        return None
    return get_embedder()


def table(rows: list[dict], names: tuple[str, ...], embed: object | None) -> np.ndarray:
    """Per answer, each feature of its least supported sentence."""
    fn = getattr(embed, "embed", None)
    out = []
    for row in rows:
        values = answer_features(row["answer"], row["context"], row["question"], fn)
        out.append([min(v[n] for v in values) for n in names] if values else [1.0] * len(names))
    return np.array(out)


def fit(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> Weights:
    """Standardise, then fit a logistic regression (unsupported = 1). Every feature measures
    support, so more of it must never raise the risk: a feature that gets a positive weight
    (collinear with another) is dropped and the rest refitted."""
    keep = list(range(len(names)))
    while True:
        mean, scale = x[:, keep].mean(axis=0), x[:, keep].std(axis=0) + 1e-6
        model = LogisticRegression(C=1.0, max_iter=1000).fit((x[:, keep] - mean) / scale, y)
        worst = int(np.argmax(model.coef_[0]))
        if model.coef_[0][worst] <= 0 or len(keep) == 1:
            break
        keep.pop(worst)
    return Weights(tuple(names[i] for i in keep), tuple(float(c) for c in model.coef_[0]),
                   float(model.intercept_[0]), tuple(float(m) for m in mean),
                   tuple(float(s) for s in scale))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Fit and write the weights (or cross-validate with --cv)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--cv", action="store_true", help="cross-validate on train, write nothing")
    parser.add_argument("--no-embedding", action="store_true")
    args = parser.parse_args(argv)
    data = args.data or shared_data("hallucination")
    rows = [json.loads(line) for line in (data / "halueval_qa.jsonl").open(encoding="utf-8")]
    rows = [r for r in rows if r["split"] == "train"]
    y = np.array([r["label"] for r in rows])
    embed = None if args.no_embedding else embedder()
    sets = {"lexical": tuple(n for n in FEATURES if n != "similarity")}
    if embed is not None:
        sets["embedding"] = FEATURES
    weights = {}
    for key, names in sets.items():
        x = table(rows, names, embed if key == "embedding" else None)
        groups = [r["orig_index"] for r in rows]
        scores = np.zeros(len(rows))
        for train, held in GroupKFold(5).split(x, y, groups):
            w = fit(x[train], y[train], names)
            scores[held] = [w.risk(dict(zip(names, row, strict=True))) for row in x[held]]
        print(f"{key}: 5-fold AUROC on train {roc_auc_score(y, scores):.3f}; "
              f"F1 at 0.5 {_f1(y, scores >= 0.5):.3f}")  # fmt: skip
        fitted = fit(x, y, names)
        if key == "embedding" and "similarity" not in fitted.names:
            print("embedding: the similarity weight came out positive and was dropped; "
                  "not shipping a set that would embed for nothing")  # fmt: skip
            continue
        weights[key] = fitted.as_dict()
    if args.cv:
        return 0
    args.out.write_text(json.dumps({"weights": weights}, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def _f1(y: np.ndarray, predicted: np.ndarray) -> float:
    tp = int((predicted & (y == 1)).sum())
    return 2 * tp / max(1, int(predicted.sum()) + int((y == 1).sum()))


if __name__ == "__main__":
    sys.exit(main())
