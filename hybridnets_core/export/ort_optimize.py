"""ONNX Runtime's CPU graph optimisations, applied once at export instead of at every load."""

from __future__ import annotations

import tempfile
from pathlib import Path

import onnx
import onnxruntime as ort

# NCHWc blocking depends on the exporting CPU's vector width; everything else ORT_ENABLE_ALL
# does (QDQ fusion into QLinear ops, NHWC int8 convolutions, activation fusion) runs anywhere.
HARDWARE_SPECIFIC = ["NchwcTransformer"]
QUIET = 3


def optimize_for_cpu(model: onnx.ModelProto) -> onnx.ModelProto:
    """The graph ONNX Runtime's CPU provider would run: QDQ pairs fused into NHWC QLinear ops.

    Custom-op passes (native_folds) match these fused ops, which only exist after ORT's fusion.
    """
    with tempfile.TemporaryDirectory(prefix="hybridnets_ort_") as folder:
        source, optimized = Path(folder) / "graph.onnx", Path(folder) / "optimized.onnx"
        onnx.save(model, source)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.optimized_model_filepath = str(optimized)
        options.log_severity_level = QUIET
        ort.InferenceSession(
            str(source),
            options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=HARDWARE_SPECIFIC,
        )
        graph = onnx.load(optimized)
    _drop_unused_opsets(graph)
    return graph


def _drop_unused_opsets(model: onnx.ModelProto) -> None:
    """ORT saves every domain it knows of; keep the ONNX one and those the nodes use."""
    used = {node.domain for node in model.graph.node} | {""}
    kept = [opset for opset in model.opset_import if opset.domain in used]
    del model.opset_import[:]
    model.opset_import.extend(kept)
