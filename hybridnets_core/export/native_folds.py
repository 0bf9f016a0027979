"""Fold the slow uint8 operators of an ORT-optimized INT8 graph into our native ops.

ONNX Runtime has no int8 swish: x * sigmoid(x) runs as QLinearSigmoid then QLinearMul, two
passes over every activation with a rounding of the sigmoid in between. BiFPN's weighted
feature fusion multiplies whole feature maps by constant weights (QLinearMul by a scalar).
Each is a function of one uint8 tensor, so `ai.hybridnets::Uint8Lookup` does it in one pass
through a 256-entry table. EfficientNet's squeeze-and-excitation multiplies each channel by
its gate, which QLinearMul runs through its general broadcasting path;
`ai.hybridnets::Uint8ChannelMul` does that one directly. BiFPN's nearest-neighbour
upsampling goes through ONNX Runtime's generic Resize; `ai.hybridnets::Uint8NearestUpsample`
copies rows (all in hybridnets_core.native).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..native import DOMAIN

LOOKUP_OP = "Uint8Lookup"
CHANNEL_MUL_OP = "Uint8ChannelMul"
UPSAMPLE_OP = "Uint8NearestUpsample"
NATIVE_OPS = (LOOKUP_OP, CHANNEL_MUL_OP, UPSAMPLE_OP)
MS_DOMAIN = "com.microsoft"
# ORT's operators with uint8 outputs in our INT8 graphs, which a Resize may read
UINT8_PRODUCERS = {"QLinearConv", "NhwcMaxPool", "QLinearAdd", "QLinearConcat", "QLinearMul"}
# Resize attributes of nn.Upsample(scale_factor=k, mode="nearest") as exported
NEAREST_RESIZE = {
    "mode": b"nearest",
    "coordinate_transformation_mode": b"asymmetric",
    "nearest_mode": b"floor",
}
# QLinearMul inputs: A, its scale and zero point, B, its scale and zero point, C's scale and
# zero point; QLinearSigmoid: X, its scale and zero point, Y's scale and zero point.
A, A_SCALE, A_ZERO, B, B_SCALE, B_ZERO, C_SCALE, C_ZERO = range(8)
OPERANDS = ((A, A_SCALE, A_ZERO), (B, B_SCALE, B_ZERO))
# how far above an SE gate's sigmoid its global pooling is: conv, swish, conv, pooling
SE_GATE_DEPTH = 4


@dataclass(frozen=True)
class Quantization:
    """Per-tensor uint8 quantization: real = (code - zero_point) * scale."""

    scale: float
    zero_point: int

    def dequantize(self, codes: np.ndarray) -> np.ndarray:
        return (codes.astype(np.float64) - self.zero_point) * self.scale

    def quantize(self, values: np.ndarray) -> np.ndarray:
        """Round half to even and saturate, as ONNX Runtime does."""
        return np.clip(np.rint(values / self.scale) + self.zero_point, 0, 255).astype(np.uint8)


def lookup_table(
    source: Quantization, target: Quantization, function: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """The output code of `function` for each of the 256 input codes."""
    return target.quantize(function(source.dequantize(np.arange(256))))


def swish(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Fold:
    """One node (plus a swish's sigmoid, removed with it) and the native op replacing it."""

    node: onnx.NodeProto
    removed: tuple[onnx.NodeProto, ...]
    op_type: str
    inputs: tuple[str, ...]
    constant: np.ndarray | None = None  # a last input stored as a new constant (table, factors)


class _Graph:
    """Producers, reader counts and constant values of a graph."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self.constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.producers = {name: node for node in graph.node for name in node.output}
        self.readers: dict[str, int] = {}
        for node in graph.node:
            for name in node.input:
                self.readers[name] = self.readers.get(name, 0) + 1

    def quantization(self, scale: str, zero_point: str) -> Quantization | None:
        """Per-tensor uint8 parameters, None for anything else."""
        scale_value, zero_value = self.constants.get(scale), self.constants.get(zero_point)
        if scale_value is None or zero_value is None or zero_value.dtype != np.uint8:
            return None
        if scale_value.size != 1 or zero_value.size != 1:
            return None
        return Quantization(float(scale_value.reshape(())), int(zero_value.reshape(())))

    def operand(self, mul: onnx.NodeProto, which: tuple[int, int, int]) -> Quantization | None:
        return self.quantization(mul.input[which[1]], mul.input[which[2]])

    def is_channel_gate(self, sigmoid: onnx.NodeProto) -> bool:
        """Whether a sigmoid gates channels: a channels-last global pooling feeds it."""
        node = sigmoid
        for _ in range(SE_GATE_DEPTH):
            node = self.producers.get(node.input[0])
            if node is None:
                return False
            if node.op_type == "QLinearGlobalAveragePool":
                layout = {a.name: helper.get_attribute_value(a) for a in node.attribute}
                return layout.get("channels_last") == 1
        return False


def _match_mul(graph: _Graph, mul: onnx.NodeProto) -> Fold | None:
    """What `mul` can become: a lookup (swish, or times a constant) or a channel multiply."""
    if mul.op_type != "QLinearMul" or mul.domain != MS_DOMAIN or len(mul.input) != 8:
        return None
    output = graph.quantization(mul.input[C_SCALE], mul.input[C_ZERO])
    if output is None or not all(graph.operand(mul, operand) for operand in OPERANDS):
        return None
    for operand, other in (OPERANDS, OPERANDS[::-1]):
        source, x_name = graph.operand(mul, operand), mul.input[operand[0]]
        lookup_input = (x_name,)
        gate = graph.producers.get(mul.input[other[0]])
        if gate is not None and gate.op_type == "QLinearSigmoid":
            if gate.input[0] == x_name and graph.readers[gate.output[0]] == 1:
                table = lookup_table(source, output, swish)
                return Fold(mul, (gate,), LOOKUP_OP, lookup_input, table)
            if gate.input[0] != x_name and graph.is_channel_gate(gate):
                inputs = [mul.input[index] for index in (*operand, *other, C_SCALE, C_ZERO)]
                return Fold(mul, (), CHANNEL_MUL_OP, tuple(inputs))
        constant = graph.constants.get(mul.input[other[0]])
        if constant is not None and constant.size == 1:
            weight = float(graph.operand(mul, other).dequantize(constant.reshape(1))[0])
            table = lookup_table(source, output, lambda x, w=weight: x * w)
            return Fold(mul, (), LOOKUP_OP, lookup_input, table)
    return None


def _match_upsample(graph: _Graph, resize: onnx.NodeProto) -> Fold | None:
    """A Resize that is nearest-neighbour upsampling of a uint8 NHWC tensor by whole factors."""
    if resize.op_type != "Resize" or resize.domain not in ("", "ai.onnx") or len(resize.input) != 3:
        return None
    attributes = {a.name: helper.get_attribute_value(a) for a in resize.attribute}
    if any(attributes.get(key) != value for key, value in NEAREST_RESIZE.items()):
        return None
    producer = graph.producers.get(resize.input[0])
    if producer is None or producer.op_type not in UINT8_PRODUCERS | set(NATIVE_OPS):
        return None
    scales = graph.constants.get(resize.input[2])
    if scales is None or scales.shape != (4,) or scales[0] != 1 or scales[3] != 1:
        return None
    factors = scales[1:3]
    if np.any(factors < 1) or np.any(factors != np.round(factors)):
        return None
    return Fold(resize, (), UPSAMPLE_OP, (resize.input[0],), factors.astype(np.int64))


def fold_native_ops(model: onnx.ModelProto) -> dict[str, int]:
    """Replace the foldable nodes of `model` (in place); returns how many, per native op."""
    graph = model.graph
    index = _Graph(graph)
    folds = [
        fold
        for node in graph.node
        if (fold := _match_mul(index, node) or _match_upsample(index, node))
    ]
    counts = dict.fromkeys(NATIVE_OPS, 0)
    if not folds:
        return counts
    replacements: dict[int, onnx.NodeProto] = {}
    removed: set[int] = set()
    for fold in folds:
        inputs = list(fold.inputs)
        if fold.constant is not None:
            name = f"{fold.node.output[0]}/{fold.op_type}_constant"
            graph.initializer.append(numpy_helper.from_array(fold.constant, name))
            inputs.append(name)
        replacements[id(fold.node)] = helper.make_node(
            fold.op_type,
            inputs,
            list(fold.node.output),
            name=f"{fold.node.name}/native",
            domain=DOMAIN,
        )
        removed.update(id(node) for node in fold.removed)
        counts[fold.op_type] += 1
    nodes = [replacements.get(id(node), node) for node in graph.node if id(node) not in removed]
    del graph.node[:]
    graph.node.extend(nodes)
    _drop_unread_initializers(graph)
    model.opset_import.append(helper.make_opsetid(DOMAIN, 1))
    return counts


def _drop_unread_initializers(graph: onnx.GraphProto) -> None:
    """Remove constants no node reads any more (the folded ops' scales and zero points)."""
    read = {name for node in graph.node for name in node.input}
    kept = [tensor for tensor in graph.initializer if tensor.name in read]
    del graph.initializer[:]
    graph.initializer.extend(kept)
