"""A cached answer, as every backend stores it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from llmdeck.gateway.wire.openai import ChatResponse


@dataclass(slots=True, eq=False)
class Entry:
    """One cached chat response and what it took to make it.

    `key` is the exact key of the request that produced it. Semantic entries also carry their
    `namespace` (everything about the request except the question), the `question` itself (for
    the agreement checks) and its unit `vector`.
    """

    key: str
    alias: str
    response: dict[str, Any]
    prompt_tokens: int
    completion_tokens: int
    cost: float
    created_at: float
    expires_at: float
    namespace: str | None = None
    question: str | None = None
    vector: np.ndarray | None = None
    hits: int = 0
    last_used: float = 0.0

    def expired(self, now: float | None = None) -> bool:
        """Whether the entry is past its time to live."""
        return (time.time() if now is None else now) >= self.expires_at

    @property
    def saved_tokens(self) -> int:
        """Tokens a hit on this entry saves."""
        return self.prompt_tokens + self.completion_tokens

    def chat_response(self) -> ChatResponse:
        """The cached response, as a new object each time."""
        return ChatResponse.model_validate(self.response)

    def meta(self) -> bytes:
        """Everything but the vector and the hit count, as JSON."""
        return orjson.dumps(
            {
                "alias": self.alias,
                "response": self.response,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "cost": self.cost,
                "created_at": self.created_at,
                "expires_at": self.expires_at,
                "namespace": self.namespace,
                "question": self.question,
            }
        )

    @classmethod
    def from_meta(
        cls, key: str, meta: bytes | str, vector: bytes | None = None, hits: int = 0
    ) -> Entry:
        """The entry stored as `meta()` (and its vector as float32 bytes)."""
        data = orjson.loads(meta)
        return cls(
            key=key,
            alias=data["alias"],
            response=data["response"],
            prompt_tokens=int(data["prompt_tokens"]),
            completion_tokens=int(data["completion_tokens"]),
            cost=float(data["cost"]),
            created_at=float(data["created_at"]),
            expires_at=float(data["expires_at"]),
            namespace=data.get("namespace"),
            question=data.get("question"),
            vector=vector_from_bytes(vector) if vector else None,
            hits=hits,
        )


def vector_bytes(vector: np.ndarray) -> bytes:
    """A vector as little-endian float32 bytes."""
    return np.asarray(vector, dtype="<f4").tobytes()


def vector_from_bytes(raw: bytes) -> np.ndarray:
    """The inverse of `vector_bytes`."""
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)
