"""Person names and street addresses: a token tagger (multinomial logistic model over hashed
token and neighbourhood features), trained by `scripts/train_pii_tagger.py` on the PII train
split. Rules cannot tell `Linda` from `Linux`; a light model with context does well enough."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt

LABELS = ("O", "person", "street_address")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_JOIN = {
    "person": re.compile(r"^[ \t]*(?:[.\-'][ \t]*)?$"),
    "street_address": re.compile(r"^[\s,.\-/#]{0,4}$"),
}


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """Words and punctuation marks with their offsets."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _shape(token: str) -> str:
    shape = re.sub(r"[A-Z]", "X", token)
    shape = re.sub(r"[a-z]", "x", shape)
    shape = re.sub(r"\d", "d", shape)
    shape = re.sub(r"[^\x00-\x7f]", "u", shape)
    return re.sub(r"(.)\1{2,}", r"\1\1", shape)


def token_features(text: str, tokens: list[tuple[str, int, int]]) -> list[list[str]]:
    """The feature names of each token: itself, its shape and its neighbours."""
    words = [t[0] for t in tokens]
    lower = [w.lower() for w in words]
    shapes = [_shape(w) for w in words]
    out = []
    for i, (word, start, _) in enumerate(tokens):
        line_start = start == 0 or text[text.rfind("\n", 0, start) + 1 : start].strip() == ""
        feats = [
            "b", f"w={lower[i]}", f"s={shapes[i]}", f"p3={lower[i][:3]}", f"x3={lower[i][-3:]}",
            f"t={word.istitle()}", f"ls={line_start}", f"n={len(word) > 3}",
        ]  # fmt: skip
        for offset in (-3, -2, -1, 1, 2, 3):
            j = i + offset
            if 0 <= j < len(tokens):
                feats.append(f"w{offset}={lower[j]}")
                if abs(offset) == 1:
                    feats.append(f"s{offset}={shapes[j]}")
                    feats.append(f"ws{offset}={lower[i]}|{shapes[j]}")
            else:
                feats.append(f"w{offset}=<edge>")
        out.append(feats)
    return out


def hash_features(names: list[str], bits: int) -> npt.NDArray[np.int64]:
    """Bucket index of each feature name."""
    mask = (1 << bits) - 1
    return np.array([zlib.crc32(n.encode()) & mask for n in names], dtype=np.int64)


@dataclass(frozen=True)
class Span:
    """A tagged span and the model's mean confidence in it."""

    type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Tagger:
    """Weights (labels x 2**bits) and biases of the token model."""

    bits: int
    weights: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32]

    def probabilities(
        self, text: str, tokens: list[tuple[str, int, int]]
    ) -> npt.NDArray[np.float64]:
        """(tokens x labels) probabilities."""
        index_lists = [hash_features(names, self.bits) for names in token_features(text, tokens)]
        owner = np.repeat(np.arange(len(tokens)), [len(x) for x in index_lists])
        flat = np.concatenate(index_lists)
        logits = np.stack(
            [np.bincount(owner, weights=row[flat], minlength=len(tokens)) for row in self.weights],
            axis=1,
        ) + self.bias.astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def spans(self, text: str) -> list[Span]:
        """Person and address spans: runs of tokens with the same label, joined across the
        spaces and punctuation that belong inside such a span."""
        tokens = tokenize(text)
        if not tokens:
            return []
        probs = self.probabilities(text, tokens)
        labels = [int(x) for x in probs.argmax(axis=1)]
        spans: list[Span] = []
        i = 0
        while i < len(tokens):
            if not labels[i]:
                i += 1
                continue
            last = self._run_end(text, tokens, labels, i)
            run = [k for k in range(i, last + 1) if labels[k] == labels[i]]
            spans.append(Span(LABELS[labels[i]], tokens[i][1], tokens[last][2],
                              float(np.mean(probs[run, labels[i]]))))  # fmt: skip
            i = last + 1
        return spans

    @staticmethod
    def _run_end(
        text: str, tokens: list[tuple[str, int, int]], labels: list[int], first: int
    ) -> int:
        label, last = labels[first], first
        while True:
            k = last + 1
            while k < len(tokens) and k - last <= 2 and labels[k] != label:
                if tokens[k][0].isalnum():
                    break
                k += 1
            if k >= len(tokens) or labels[k] != label:
                return last
            if not _JOIN[LABELS[label]].match(text[tokens[last][2] : tokens[k][1]]):
                return last
            last = k

    @classmethod
    def load(cls, path: str) -> Tagger:
        """Read the `.npz` artefact."""
        with np.load(path, allow_pickle=False) as data:
            bits = int(data["bits"])
            weights = np.zeros((len(LABELS), 1 << bits), dtype=np.float32)
            weights[:, data["index"]] = data["weight"].astype(np.float32)
            return cls(bits, weights, data["bias"].astype(np.float32))

    def save(self, path: str) -> None:
        """Write the columns with any non-zero weight, as float16."""
        index = np.flatnonzero(np.abs(self.weights).sum(axis=0)).astype(np.uint32)
        np.savez_compressed(
            path,
            bits=np.array(self.bits),
            index=index,
            weight=self.weights[:, index].astype(np.float16),
            bias=self.bias,
        )


@cache
def default_tagger() -> Tagger:
    """The tagger shipped in the package."""
    path = resources.files("llmdeck.guards") / "models" / "pii_tagger.npz"
    with resources.as_file(path) as file:
        return Tagger.load(str(file))
