"""Hashed n-gram features with numpy only: the same code featurises training and inference.

Character n-grams come from a rolling polynomial hash over code points; words from a stable
CRC of each word. Each block is sublinear-TF weighted (optionally times IDF) and L2-normalised,
as scikit-learn's `TfidfVectorizer(sublinear_tf=True)` would, into one hashed space.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
Sparse = tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]

_P = np.uint64(0x100000001B3)  # FNV prime: odd, so the hash mixes every code point
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing multiplier for the bucket pick
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Featurizer:
    """Which n-grams are hashed into `2**bits` buckets."""

    bits: int = 18
    char_min: int = 1
    char_max: int = 5
    word_max: int = 2

    @property
    def size(self) -> int:
        """The number of buckets."""
        return 1 << self.bits

    def char_hashes(self, text: str) -> U64:
        """Hashes of every character n-gram of ` text ` (padded so word edges count)."""
        codes = np.frombuffer(f" {text} ".encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        out: list[U64] = []
        rolling = np.zeros(len(codes), dtype=np.uint64)
        for n in range(1, self.char_max + 1):
            if len(codes) < n:
                break
            rolling = rolling[: len(codes) - n + 1] * _P + codes[n - 1 :]
            if n >= self.char_min:
                out.append(rolling ^ np.uint64(n * 0x51ED27))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.uint64)

    def word_hashes(self, text: str) -> U64:
        """Hashes of word 1..word_max-grams."""
        words = np.array(
            [zlib.crc32(w.encode()) for w in _WORD.findall(text)], dtype=np.uint64
        ) + np.uint64(1)
        out = [words * np.uint64(0xC2B2AE3D27D4EB4F)]
        gram = words
        for n in range(2, self.word_max + 1):
            if len(words) < n:
                break
            gram = gram[:-1] * _P + words[n - 1 :]
            out.append(gram * np.uint64(0x165667B19E3779F9) ^ np.uint64(n))
        return np.concatenate(out)

    def buckets(self, hashes: U64) -> npt.NDArray[np.int64]:
        """Bucket index of each hash."""
        return ((hashes * _MIX) >> np.uint64(64 - self.bits)).astype(np.int64)

    def transform(self, text: str, idf: npt.NDArray[np.floating] | None = None) -> Sparse:
        """The sparse feature vector of `text`: (bucket indices, values)."""
        blocks = [self._block(self.char_hashes(text), idf)]
        if self.word_max:
            blocks.append(self._block(self.word_hashes(text), idf))
        index = np.concatenate([b[0] for b in blocks])
        value = np.concatenate([b[1] for b in blocks])
        return index, value

    def _block(self, hashes: U64, idf: npt.NDArray[np.floating] | None) -> Sparse:
        index, counts = np.unique(self.buckets(hashes), return_counts=True)
        value = (1.0 + np.log(counts)).astype(np.float32)
        if idf is not None:
            value *= idf[index]
        norm = float(np.sqrt(np.dot(value, value)))
        return index, value / norm if norm else value


@dataclass(frozen=True)
class LinearModel:
    """A logistic model over hashed features, loaded from an `.npz` artefact (no pickle)."""

    featurizer: Featurizer
    weights: npt.NDArray[np.float32]
    bias: float
    idf: npt.NDArray[np.float32] | None = None

    def probability(self, text: str) -> float:
        """P(positive | text)."""
        index, value = self.featurizer.transform(text, self.idf)
        margin = float(np.dot(self.weights[index], value)) + self.bias
        return float(1.0 / (1.0 + np.exp(-margin)))

    @classmethod
    def load(cls, path: str) -> LinearModel:
        """Read an artefact written by `save`."""
        with np.load(path, allow_pickle=False) as data:
            config = data["config"].tolist()
            featurizer = Featurizer(*config)
            index = data["index"] if "index" in data else slice(None)
            weights = np.zeros(featurizer.size, dtype=np.float32)
            weights[index] = data["weight"].astype(np.float32)
            idf = None
            if "idf" in data:
                idf = np.ones(featurizer.size, dtype=np.float32)
                idf[index] = data["idf"].astype(np.float32)
            return cls(featurizer, weights, float(data["bias"]), idf)

    def save(self, path: str) -> None:
        """Write the weights as float16 (only the non-zero ones when those are few) and the
        featurizer's settings."""
        f = self.featurizer
        nonzero = np.flatnonzero(self.weights).astype(np.uint32)
        sparse = len(nonzero) * 3 < f.size  # an index costs two float16s
        index = nonzero if sparse else slice(None)
        arrays = {
            "config": np.array([f.bits, f.char_min, f.char_max, f.word_max], dtype=np.int64),
            "weight": self.weights[index].astype(np.float16),
            "bias": np.array(self.bias, dtype=np.float64),
        }
        if sparse:
            arrays["index"] = nonzero
        if self.idf is not None:
            arrays["idf"] = self.idf[index].astype(np.float16)
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
