"""Train the prompt-injection classifier shipped in `llmdeck/guards/models/injection.npz`.

    pip install -e '.[train]'
    python scripts/train_injection.py [--data DIR] [--out FILE] [--cv]

Reads only the `train` split of `prompts.jsonl` (see its SOURCE.md). Features are llmdeck's
own numpy featurizer over the normalised text, so training and inference see the same vectors;
scikit-learn fits the logistic regression. `--cv` prints 5-fold cross-validated figures on the
train split (to choose settings and the default threshold) and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from llmdeck.guards.features import Featurizer, LinearModel
from llmdeck.guards.normalize import normalize

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "llmdeck" / "guards" / "models" / "injection.npz"
FEATURIZER = Featurizer(bits=16, char_min=1, char_max=5, word_max=2)
C = 10.0


def shared_data(name: str) -> Path:
    """`shared/data/NAME` beside the checkout (or its parent), or under $LLMDECK_SHARED_DATA."""
    env = os.environ.get("LLMDECK_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]
    for base in candidates:
        if (base / name).is_dir():
            return base / name
    raise SystemExit(f"cannot find shared/data/{name}; set LLMDECK_SHARED_DATA")


def load(data: Path) -> tuple[list[str], np.ndarray, list[str]]:
    """Normalised texts, labels and sources of the train split."""
    rows = [json.loads(line) for line in (data / "prompts.jsonl").open(encoding="utf-8")]
    train = [r for r in rows if r["split"] == "train"]
    texts = [normalize(r["text"]).text for r in train]
    return texts, np.array([r["label"] for r in train]), [r["source"] for r in train]


def matrix(texts: list[str], featurizer: Featurizer, idf: np.ndarray | None = None) -> csr_matrix:
    """The feature matrix of `texts`."""
    indptr, indices, values = [0], [], []
    for text in texts:
        index, value = featurizer.transform(text, idf)
        indices.append(index)
        values.append(value)
        indptr.append(indptr[-1] + len(index))
    return csr_matrix(
        (np.concatenate(values), np.concatenate(indices), np.array(indptr)),
        shape=(len(texts), featurizer.size),
    )


def fit(texts: list[str], labels: np.ndarray, featurizer: Featurizer) -> LinearModel:
    """Fit a logistic regression (balanced classes) on the hashed features."""
    x = matrix(texts, featurizer)
    model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
    model.fit(x, labels)
    weights = model.coef_[0].astype(np.float32)
    return LinearModel(featurizer, weights, float(model.intercept_[0]))


def cross_validate(texts: list[str], labels: np.ndarray, sources: list[str]) -> None:
    """Print 5-fold cross-validated precision/recall/F1/FPR at several thresholds."""
    scores = np.zeros(len(texts))
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    for train, held in folds.split(texts, labels):
        model = fit([texts[i] for i in train], labels[train], FEATURIZER)
        scores[held] = [model.probability(texts[i]) for i in held]
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
        for source in sorted(set(sources)) + ["all"]:
            mask = np.array([source in ("all", s) for s in sources])
            predicted, truth = scores[mask] >= threshold, labels[mask] == 1
            tp = int((predicted & truth).sum())
            precision = tp / max(1, predicted.sum())
            recall = tp / max(1, truth.sum())
            f1 = 2 * precision * recall / max(1e-9, precision + recall)
            fpr = (predicted & ~truth).sum() / max(1, (~truth).sum())
            print(f"t={threshold} {source:40} P={precision:.3f} R={recall:.3f} F1={f1:.3f} "
                  f"FPR={fpr:.3f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Train and write the artefact (or cross-validate with --cv)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--cv", action="store_true", help="cross-validate on train, write nothing")
    args = parser.parse_args(argv)
    texts, labels, sources = load(args.data or shared_data("prompt_injection"))
    if args.cv:
        cross_validate(texts, labels, sources)
        return 0
    model = fit(texts, labels, FEATURIZER)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(args.out))
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1024:.0f} KB) from {len(texts)} train rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
