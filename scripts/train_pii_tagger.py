"""Train the person/street-address token tagger shipped in `llmdeck/guards/models/pii_tagger.npz`.

    pip install -e '.[train]'
    python scripts/train_pii_tagger.py [--data DIR] [--out FILE] [--cv]

Reads only the `train` split of `pii.jsonl` (presidio-research synthetic texts, see SOURCE.md).
`--cv` prints 5-fold cross-validated span recall/precision on the train split.
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
from sklearn.model_selection import KFold

from llmdeck.guards.pii.tagger import LABELS, Tagger, hash_features, token_features, tokenize

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "llmdeck" / "guards" / "models" / "pii_tagger.npz"
BITS = 15
C = 3.0
GOLD = {"PERSON": "person", "STREET_ADDRESS": "street_address"}


def shared_data(name: str) -> Path:
    """`shared/data/NAME` beside the checkout (or its parent), or under $LLMDECK_SHARED_DATA."""
    env = os.environ.get("LLMDECK_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]
    for base in candidates:
        if (base / name).is_dir():
            return base / name
    raise SystemExit(f"cannot find shared/data/{name}; set LLMDECK_SHARED_DATA")


def load(data: Path) -> list[dict]:
    """Rows of the train split."""
    rows = [json.loads(line) for line in (data / "pii.jsonl").open(encoding="utf-8")]
    return [r for r in rows if r["split"] == "train"]


def examples(rows: list[dict]) -> tuple[csr_matrix, np.ndarray]:
    """One row per token: hashed features, label index."""
    indptr, indices, labels = [0], [], []
    for row in rows:
        tokens = tokenize(row["text"])
        for (_, start, end), names in zip(tokens, token_features(row["text"], tokens), strict=True):
            label = 0
            for span in row["spans"]:
                if span["type"] in GOLD and span["start"] <= start and end <= span["end"]:
                    label = LABELS.index(GOLD[span["type"]])
            index = np.unique(hash_features(names, BITS))
            indices.append(index)
            indptr.append(indptr[-1] + len(index))
            labels.append(label)
    flat = np.concatenate(indices)
    x = csr_matrix(
        (np.ones(len(flat), dtype=np.float32), flat, indptr), shape=(len(labels), 1 << BITS)
    )
    return x, np.array(labels)


def fit(rows: list[dict]) -> Tagger:
    """Fit the multinomial logistic model."""
    x, y = examples(rows)
    model = LogisticRegression(C=C, max_iter=3000)
    model.fit(x, y)
    return Tagger(BITS, model.coef_.astype(np.float32), model.intercept_.astype(np.float32))


def cross_validate(rows: list[dict]) -> None:
    """Overlap-matched span recall and precision per type, 5 folds."""
    counts = {t: [0, 0, 0, 0] for t in GOLD.values()}  # hit, gold, correct, predicted
    for train, held in KFold(5, shuffle=True, random_state=0).split(rows):
        tagger = fit([rows[i] for i in train])
        for i in held:
            row = rows[i]
            predicted = [s for s in tagger.spans(row["text"]) if s.score >= 0.5]
            gold = [
                (GOLD[s["type"]], s["start"], s["end"]) for s in row["spans"] if s["type"] in GOLD
            ]
            for kind, start, end in gold:
                counts[kind][1] += 1
                counts[kind][0] += any(
                    p.type == kind and p.start < end and start < p.end for p in predicted
                )
            for p in predicted:
                counts[p.type][3] += 1
                counts[p.type][2] += any(
                    k == p.type and p.start < e and s < p.end for k, s, e in gold
                )
    for kind, (hit, gold, correct, predicted) in counts.items():
        print(
            f"{kind}: recall {hit / gold:.3f} ({hit}/{gold}),"
            f" precision {correct / max(1, predicted):.3f}"
        )


def main(argv: list[str] | None = None) -> int:
    """Train and write the artefact (or cross-validate with --cv)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--cv", action="store_true", help="cross-validate on train, write nothing")
    args = parser.parse_args(argv)
    rows = load(args.data or shared_data("pii"))
    if args.cv:
        cross_validate(rows)
        return 0
    tagger = fit(rows)
    tagger.save(str(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KB) from {len(rows)} train rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
