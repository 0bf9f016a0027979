"""fp16 weights and activations with fp32 inputs/outputs, for CUDA and TensorRT."""

from __future__ import annotations

import heapq
import logging

import onnx
from onnxruntime.transformers.float16 import convert_float_to_float16


def to_half(model: onnx.ModelProto) -> onnx.ModelProto:
    """Convert a raw fp32 graph to fp16 keeping float32 graph inputs and outputs."""
    quiet = logging.getLogger("onnxruntime.transformers.float16")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        converted = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=False)
    finally:
        quiet.setLevel(level)
    topological_sort(converted.graph)
    return converted


def topological_sort(graph: onnx.GraphProto) -> None:
    """Reorder nodes so every input is produced before use (the converter appends its Casts).

    Kahn's algorithm, taking ready nodes in their original order.
    """
    nodes = list(graph.node)
    producer = {name: index for index, node in enumerate(nodes) for name in node.output}
    waiting = [0] * len(nodes)
    consumers: dict[int, list[int]] = {}
    for index, node in enumerate(nodes):
        for source in {producer[name] for name in node.input if name in producer}:
            waiting[index] += 1
            consumers.setdefault(source, []).append(index)
    ready = [index for index, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        index = heapq.heappop(ready)
        order.append(index)
        for consumer in consumers.get(index, []):
            waiting[consumer] -= 1
            if waiting[consumer] == 0:
                heapq.heappush(ready, consumer)
    if len(order) != len(nodes):
        raise ValueError("ONNX graph has a cycle; cannot order its nodes")
    copies = [onnx.NodeProto() for _ in order]
    for copy, index in zip(copies, order):
        copy.CopyFrom(nodes[index])
    del graph.node[:]
    graph.node.extend(copies)
