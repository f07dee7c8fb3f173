"""Guards quality report: injection, PII and groundedness on the TEST splits of shared/data,
and CPU time per 1,000 characters of each detector. Writes `## Guards` in docs/benchmarks.md.

    python bench/guards.py            # about a minute on 2 cores
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from llmdeck.guards import (
    Detector,
    GroundednessDetector,
    IndirectInjectionDetector,
    InjectionDetector,
    PiiDetector,
    build_detector,
)
from llmdeck.guards.injection import default_model
from llmdeck.guards.normalize import normalize
from llmdeck.guards.signatures import DIRECT, scan

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.report import write_section

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Guards"
PII_TYPES = {
    "EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone", "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban", "US_SSN": "us_ssn", "IP_ADDRESS": "ip_address", "PERSON": "person",
    "STREET_ADDRESS": "street_address",
}  # fmt: skip


def shared_data(name: str) -> Path:
    """`shared/data/NAME` beside the checkout (or its parent), or under $LLMDECK_SHARED_DATA."""
    env = os.environ.get("LLMDECK_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]
    for base in candidates:
        if (base / name).is_dir():
            return base / name
    raise SystemExit(f"cannot find shared/data/{name}; set LLMDECK_SHARED_DATA")


def rows(name: str, file: str) -> list[dict[str, Any]]:
    """The rows of a shared data file."""
    with (shared_data(name) / file).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def prf(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 and false-positive rate."""
    tp = int((predicted & truth).sum())
    precision = tp / max(1, int(predicted.sum()))
    recall = tp / max(1, int(truth.sum()))
    f1 = 2 * precision * recall / max(1e-9, precision + recall)
    fpr = int((predicted & ~truth).sum()) / max(1, int((~truth).sum()))
    return {"precision": precision, "recall": recall, "f1": f1, "fpr": fpr}


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    positive, negative = scores[labels == 1], scores[labels == 0]
    greater = (positive[:, None] > negative[None, :]).sum()
    ties = (positive[:, None] == negative[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(positive) * len(negative)))


def injection_section() -> list[str]:
    """Direct injection per source: full detector vs signatures only vs classifier only."""
    test = [r for r in rows("prompt_injection", "prompts.jsonl") if r["split"] == "test"]
    detector = InjectionDetector()
    model = default_model()
    methods: dict[str, Callable[[str], float]] = {
        "llmdeck (all layers)": lambda t: detector.check(t).score,
        "signatures only": _signatures_only,
        "classifier only, raw text": lambda t: model.probability(t.lower()),
    }  # fmt: skip
    labels = np.array([r["label"] == 1 for r in test])
    out = [
        f"### Prompt injection (test split, {len(test)} prompts, threshold {detector.threshold})",
        "",
        "| method | source | precision | recall | F1 | benign FPR |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, method in methods.items():
        scores = np.array([method(r["text"]) for r in test])
        for source in [*sorted({r["source"] for r in test}), "overall"]:
            mask = np.array([source in ("overall", r["source"]) for r in test])
            m = prf(scores[mask] >= detector.threshold, labels[mask])
            out.append(f"| {name} | {source} | {m['precision']:.3f} | {m['recall']:.3f} | "
                       f"{m['f1']:.3f} | {m['fpr']:.3f} |")  # fmt: skip
    return [*out, "", *indirect_section(test)]


def _signatures_only(text: str) -> float:
    return max([h.signature.score for h in scan(normalize(text).text, DIRECT)] or [0.0])


def indirect_section(test: list[dict[str, Any]]) -> list[str]:
    """Indirect injection: benign SQuAD passages, and the same passages with a test-split
    injection inserted at a random sentence (seeded)."""
    passages = [r["text"] for r in rows("squad", "corpus.jsonl")][:400]
    attacks = [r["text"] for r in test if r["label"] == 1]
    short = np.array([r["source"].startswith("deepset") for r in test if r["label"] == 1])
    detector = IndirectInjectionDetector()
    rng = random.Random(0)
    poisoned = []
    for i, attack in enumerate(attacks):
        sentences = passages[i % len(passages)].split(". ")
        sentences.insert(rng.randrange(len(sentences) + 1), attack.strip().rstrip("."))
        poisoned.append(". ".join(sentences))
    benign = np.array([detector.check(p).score for p in passages])
    bad = np.array([detector.check(p).score for p in poisoned])
    t = detector.threshold
    return [
        f"Indirect injection (threshold {t}): false positives on {len(passages)} benign SQuAD "
        f"passages **{(benign >= t).mean():.3f}**; recall on the same passages with one of the "
        f"{len(attacks)} test-split attacks inserted at a random sentence "
        f"**{(bad >= t).mean():.3f}** "
        f"(deepset's short prompts {(bad[short] >= t).mean():.3f}, the long jailbreaks "
        f"{(bad[~short] >= t).mean():.3f}). This is "
        "a synthetic set built here, not a published one.",
        "",
    ]


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def pii_section() -> list[str]:
    """Per-type span precision and recall on the PII test split (overlap and exact match)."""
    test = [r for r in rows("pii", "pii.jsonl") if r["split"] == "test"]
    detector = PiiDetector()
    counts: dict[str, list[int]] = {t: [0, 0, 0, 0, 0] for t in PII_TYPES.values()}
    for row in test:
        found = [(f.type, f.start, f.end) for f in detector.check(row["text"]).findings]
        gold = [
            (PII_TYPES[s["type"]], s["start"], s["end"])
            for s in row["spans"]
            if s["type"] in PII_TYPES
        ]
        for kind, start, end in gold:
            c = counts[kind]
            c[0] += 1
            c[1] += any(k == kind and _overlap((s, e), (start, end)) for k, s, e in found)
            c[2] += (kind, start, end) in found
        for kind, start, end in found:
            if kind in counts:
                counts[kind][3] += 1
                counts[kind][4] += any(
                    k == kind and _overlap((s, e), (start, end)) for k, s, e in gold
                )
    out = [
        f"### PII (test split, {len(test)} texts)",
        "",
        "| type | gold spans | recall (overlap) | recall (exact) | precision (overlap) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind, (gold, hit, exact, predicted, correct) in counts.items():
        precision = f"{correct / predicted:.3f}" if predicted else "n/a"
        recall, exact_recall = hit / max(1, gold), exact / max(1, gold)
        out.append(f"| {kind} | {gold} | {recall:.3f} | {exact_recall:.3f} | {precision} |")
    return [*out, ""]


def grounded_section() -> list[str]:
    """AUROC and F1 at the default threshold; baselines: answer length, plain word overlap."""
    test = [r for r in rows("hallucination", "halueval_qa.jsonl") if r["split"] == "test"]
    detector = GroundednessDetector()
    labels = np.array([r["label"] for r in test])
    long = np.array([len(r["answer"].split()) >= 4 for r in test])
    scores = np.array(
        [detector.assess(r["answer"], r["context"], r["question"]).score for r in test]
    )
    length = np.array([len(r["answer"]) for r in test], dtype=float)
    overlap = np.array([_unigram_risk(r) for r in test])
    f1 = prf(scores >= detector.threshold, labels == 1)["f1"]
    out = [
        f"### Groundedness (HaluEval QA test split, {len(test)} answers, balanced)",
        "",
        "| method | AUROC | AUROC, answers of 4+ words | F1 at 0.5 |",
        "| --- | --- | --- | --- |",
        f"| llmdeck local ({'+'.join(detector.weights.names)}) | {auroc(scores, labels):.3f} | "
        f"{auroc(scores[long], labels[long]):.3f} | {f1:.3f} |",
        f"| baseline: share of answer words not in context | {auroc(overlap, labels):.3f} | "
        f"{auroc(overlap[long], labels[long]):.3f} | |",
        f"| baseline: answer length alone | {auroc(length, labels):.3f} | "
        f"{auroc(length[long], labels[long]):.3f} | |",
        "",
    ]
    return out


def _unigram_risk(row: dict[str, Any]) -> float:
    context = set(re.findall(r"\w+", (row["context"] + " " + row["question"]).lower()))
    words = re.findall(r"\w+", row["answer"].lower())
    return sum(w not in context for w in words) / max(1, len(words))


def timing_section() -> list[str]:
    """CPU seconds per 1,000 characters for each detector on the injection test prompts."""
    texts = [r["text"] for r in rows("prompt_injection", "prompts.jsonl") if r["split"] == "test"]
    context = " ".join(r["context"] for r in rows("hallucination", "halueval_qa.jsonl")[:20])
    detectors: dict[str, Detector] = {
        name: build_detector(name) for name in ("injection", "indirect_injection", "pii", "secrets")
    }
    detectors["grounded"] = GroundednessDetector()
    detectors["json"] = build_detector("json")
    chars = sum(len(t) for t in texts)
    out = [
        f"### CPU time ({len(texts)} test prompts, {chars:,} characters, one thread)",
        "",
        "| detector | ms per 1,000 characters |",
        "| --- | --- |",
    ]
    for name, detector in detectors.items():
        detector.check(texts[0], context)  # load the model outside the timing
        start = time.process_time()
        for text in texts:
            detector.check(text, context if name == "grounded" else None)
        elapsed = time.process_time() - start
        out.append(f"| {name} | {elapsed / chars * 1e6:.3f} |")
    return [*out, ""]


NOTES = [
    "### Reading these figures",
    "",
    "- Injection: the overall F1 and the benign false-positive rate meet the targets (F1 >= 0.90,",
    "  FPR < 5%); deepset/prompt-injections alone misses the F1 target on recall. Its test",
    "  injections include prompts with no injection wording at all (`Tell me a joke about a",
    "  woman`, `translate to polish`) and misspelt ones (`igmre what I said before`); the model",
    "  keeps precision instead. Lowering the threshold to 0.3 buys recall there at the cost of",
    "  about 4% benign false positives (5-fold on train: `scripts/train_injection.py --cv`).",
    "- PII: the test split is small for the structured types (3 e-mails, 3 IBANs, 1 IP), so a",
    "  recall of 1.000 there says little beyond 'no miss'; phone numbers come in many national",
    "  formats, and bare digit groups without a phone word or phone shape are left alone to",
    "  avoid flagging house numbers and ids. 196 of the 200 test texts share a template with the",
    "  train split, so the tagger's person and address figures are optimistic for other text.",
    "  Address spans are split differently in the gold data (house number, street, unit as",
    "  separate spans), hence the low exact-match recall.",
    "- Groundedness: answer length alone separates this data set (right answers are short",
    "  spans, hallucinated ones full sentences); llmdeck does not use length. On answers of",
    "  four words or more, where length gives little away, the local method keeps its AUROC.",
    "",
]


def main() -> int:
    """Run every part and write the report."""
    section = [
        "Reproduce: `python bench/guards.py` (reads `../shared/data`, test splits only; the "
        "models were fitted on the train splits by `scripts/train_*.py`).",
        "",
        *injection_section(),
        *pii_section(),
        *grounded_section(),
        *timing_section(),
        *NOTES,
    ]
    write_section(HEADING, section)
    print("\n".join(section))
    return 0


if __name__ == "__main__":
    sys.exit(main())
