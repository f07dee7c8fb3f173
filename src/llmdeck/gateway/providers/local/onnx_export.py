"""Build an ONNX graph of a BERT sentence encoder straight from its safetensors weights.

No torch: the graph is written node by node with the `onnx` helper API, from the
weights (`model.safetensors`), the architecture (`config.json`) and the pooling
settings (`1_Pooling/config.json`) of a sentence-transformers model folder. The graph
takes `input_ids` and `attention_mask` (int64, `[batch, sequence]`) and returns
`embedding` (float32, `[batch, hidden]`): mean-pooled over the real tokens and
L2-normalised, as sentence-transformers' Transformer -> Pooling -> Normalize does.

`quantize` turns the float graph into a dynamically quantised int8 one: weights int8
per output channel, activations quantised per call by onnxruntime.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import quantize_dynamic
from onnxruntime.quantization.quant_utils import add_pre_process_metadata
from safetensors.numpy import load_file

from llmdeck.errors import LlmdeckError

BUILDER_VERSION = "1"  # bump whenever the graph or its quantisation changes: it keys the cache
OPSET = 17  # the first with LayerNormalization
MASK_BIAS = -10000.0  # added to attention scores of padding; exp() of it is 0 in float32

Array = NDArray[np.float32]


class ModelFormatError(LlmdeckError):
    """The model folder is not a BERT mean-pooling sentence encoder this builder supports."""


@dataclass(frozen=True)
class BertConfig:
    """The architecture numbers the graph needs, read from `config.json`."""

    hidden: int
    heads: int
    layers: int
    intermediate: int
    max_positions: int
    eps: float

    @classmethod
    def read(cls, model_dir: Path) -> BertConfig:
        """Read and check `config.json` and `1_Pooling/config.json` in `model_dir`."""
        raw = json.loads((model_dir / "config.json").read_text())
        if raw.get("model_type") != "bert" or raw.get("hidden_act") != "gelu":
            raise ModelFormatError(f"{model_dir}: only BERT encoders with exact GELU are supported")
        pooling_file = model_dir / "1_Pooling" / "config.json"
        pooling = json.loads(pooling_file.read_text()) if pooling_file.exists() else {}
        if not pooling.get("pooling_mode_mean_tokens", True):
            raise ModelFormatError(f"{model_dir}: only mean pooling is supported")
        return cls(
            hidden=int(raw["hidden_size"]),
            heads=int(raw["num_attention_heads"]),
            layers=int(raw["num_hidden_layers"]),
            intermediate=int(raw["intermediate_size"]),
            max_positions=int(raw["max_position_embeddings"]),
            eps=float(raw["layer_norm_eps"]),
        )


class _Graph:
    """Collects nodes and initialisers, naming every value uniquely."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value: NDArray[Any]) -> str:
        """Add a constant tensor and return its name."""
        name = self._name(hint)
        self.initializers.append(numpy_helper.from_array(np.array(value, order="C"), name))
        return name

    def op(self, op_type: str, *inputs: str, hint: str = "", **attrs: Any) -> str:
        """Add a node with one output, named after `hint` or the op, and return the output."""
        output = self._name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], output, **attrs))
        return output

    def linear(self, x: str, weight: Array, bias: Array, hint: str) -> str:
        """`x @ weight.T + bias`, with `weight` as stored by torch (`[out, in]`)."""
        product = self.op("MatMul", x, self.const(f"{hint}.weight", weight.T), hint=hint)
        return self.op("Add", product, self.const(f"{hint}.bias", bias))

    def layer_norm(self, x: str, weights: dict[str, Array], prefix: str, eps: float) -> str:
        """LayerNorm over the last axis with `prefix.weight` and `prefix.bias`."""
        scale = self.const(f"{prefix}.weight", weights[f"{prefix}.weight"])
        shift = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return self.op("LayerNormalization", x, scale, shift, axis=-1, epsilon=eps)


def _embeddings(g: _Graph, w: dict[str, Array], cfg: BertConfig, ids: str) -> str:
    words = g.op("Gather", g.const("word_embeddings", w["embeddings.word_embeddings.weight"]), ids)
    # Every token has type 0, so the type embedding folds into the position table.
    table = (
        w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    )
    length = g.op("Shape", ids, start=1, end=2)
    positions = g.op(
        "Slice",
        g.const("positions", table),
        g.const("zero", np.array([0])),
        length,
        g.const("axis0", np.array([0])),
    )
    return g.layer_norm(g.op("Add", words, positions), w, "embeddings.LayerNorm", cfg.eps)


def _split_heads(g: _Graph, x: str, cfg: BertConfig, perm: list[int]) -> str:
    head_dim = cfg.hidden // cfg.heads
    shaped = g.op("Reshape", x, g.const("heads_shape", np.array([0, 0, cfg.heads, head_dim])))
    return g.op("Transpose", shaped, perm=perm)


def _attention(
    g: _Graph, w: dict[str, Array], cfg: BertConfig, x: str, mask_bias: str, p: str
) -> str:
    scale = np.float32(1.0 / math.sqrt(cfg.hidden // cfg.heads))
    q_w, q_b = w[f"{p}.self.query.weight"] * scale, w[f"{p}.self.query.bias"] * scale
    query = _split_heads(g, g.linear(x, q_w, q_b, f"{p}.query"), cfg, [0, 2, 1, 3])
    key_in = g.linear(x, w[f"{p}.self.key.weight"], w[f"{p}.self.key.bias"], f"{p}.key")
    key = _split_heads(g, key_in, cfg, [0, 2, 3, 1])
    value_in = g.linear(x, w[f"{p}.self.value.weight"], w[f"{p}.self.value.bias"], f"{p}.value")
    value = _split_heads(g, value_in, cfg, [0, 2, 1, 3])
    scores = g.op("Add", g.op("MatMul", query, key), mask_bias)
    context = g.op("MatMul", g.op("Softmax", scores, axis=-1), value)
    merged = g.op(
        "Reshape",
        g.op("Transpose", context, perm=[0, 2, 1, 3]),
        g.const("merge_shape", np.array([0, 0, cfg.hidden])),
    )
    out = g.linear(
        merged, w[f"{p}.output.dense.weight"], w[f"{p}.output.dense.bias"], f"{p}.output"
    )
    return g.layer_norm(g.op("Add", out, x), w, f"{p}.output.LayerNorm", cfg.eps)


def _feed_forward(g: _Graph, w: dict[str, Array], cfg: BertConfig, x: str, p: str) -> str:
    h = g.linear(
        x, w[f"{p}.intermediate.dense.weight"], w[f"{p}.intermediate.dense.bias"], f"{p}.up"
    )
    # Exact GELU, 0.5 * h * (1 + erf(h / sqrt(2))); onnxruntime fuses this into one Gelu.
    erf = g.op("Erf", g.op("Div", h, g.const("sqrt2", np.array(math.sqrt(2.0), np.float32))))
    half = g.op("Mul", h, g.const("half", np.array(0.5, np.float32)))
    gelu = g.op("Mul", half, g.op("Add", erf, g.const("one", np.array(1.0, np.float32))))
    out = g.linear(gelu, w[f"{p}.output.dense.weight"], w[f"{p}.output.dense.bias"], f"{p}.down")
    return g.layer_norm(g.op("Add", out, x), w, f"{p}.output.LayerNorm", cfg.eps)


def _mean_pool_normalise(g: _Graph, x: str, mask: str) -> str:
    weights = g.op("Unsqueeze", mask, g.const("axis2", np.array([2])))
    axis1 = g.const("axis1", np.array([1]))
    summed = g.op("ReduceSum", g.op("Mul", x, weights), axis1, keepdims=0)
    count = g.op(
        "Max",
        g.op("ReduceSum", weights, axis1, keepdims=0),
        g.const("tiny", np.array(1e-9, np.float32)),
    )
    mean = g.op("Div", summed, count)
    norm = g.op("ReduceL2", mean, axes=[1], keepdims=1)  # axes is an attribute until opset 18
    return g.op("Div", mean, g.op("Max", norm, g.const("eps", np.array(1e-12, np.float32))))


def build_encoder(model_dir: Path) -> onnx.ModelProto:
    """Return the float32 ONNX graph of the sentence encoder in `model_dir`."""
    cfg = BertConfig.read(model_dir)
    weights: dict[str, Array] = load_file(model_dir / "model.safetensors")
    g = _Graph()
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    padding = g.op("Sub", g.const("one", np.array(1.0, np.float32)), mask)
    bias = g.op("Mul", padding, g.const("mask_bias", np.array(MASK_BIAS, np.float32)))
    mask_bias = g.op("Unsqueeze", bias, g.const("axes12", np.array([1, 2])))
    x = _embeddings(g, weights, cfg, "input_ids")
    for i in range(cfg.layers):
        x = _attention(g, weights, cfg, x, mask_bias, f"encoder.layer.{i}.attention")
        x = _feed_forward(g, weights, cfg, x, f"encoder.layer.{i}")
    out = _mean_pool_normalise(g, x, mask)
    g.nodes.append(helper.make_node("Identity", [out], ["embedding"], "embedding"))
    tokens = ["batch", "sequence"]
    graph = helper.make_graph(
        g.nodes,
        "sentence_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, tokens),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, tokens),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", cfg.hidden])],
        g.initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="llmdeck"
    )
    onnx.checker.check_model(model)
    return model


def quantize_encoder(model: onnx.ModelProto, output: Path) -> None:
    """Write `model` to `output` with its weight matrices in int8, one scale per output channel.

    Only the MatMuls with constant weights are quantised; their activations are quantised
    per call by onnxruntime (dynamic quantisation), so no calibration data is needed. The
    word embedding table stays float32: a per-tensor int8 table loses more than it saves.
    """
    # onnxruntime's pre-processing is shape inference plus graph optimisations; the latter
    # change nothing in this graph (measured: identical output), so only the former runs.
    # The mark also keeps the quantiser from logging its advice through the root logger.
    model = onnx.shape_inference.infer_shapes(model)
    add_pre_process_metadata(model)
    quantize_dynamic(model, output, op_types_to_quantize=["MatMul"], per_channel=True)
