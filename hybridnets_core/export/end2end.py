"""Post-processing as ONNX: box decoding, score filter, class-wise NMS, per-image cap, seg labels.

The appended graph reproduces `postprocess.select_detections` and `segmentation_labels`:
best class per anchor, every anchor sorted by score, decode + clip, score > conf, ONNX
NonMaxSuppression per class (an anchor competes only in its best class), results sorted by
image then score and cut to `max_detections` per image. NMS sees each candidate's rank instead
of its score, so equal scores are visited in anchor order exactly as the numpy path does.
The thresholds are graph inputs (float conf_threshold[1], float iou_threshold[1], int64
max_detections[1]), so they can change at run time.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..decoding.boxes import anchor_geometry
from ..model.anchors import anchors_for
from ..model.config import ModelConfig
from ..runtime.onnx_format import (
    END2END_OUTPUTS,
    IMAGE_IDS,
    OUTPUT_NAMES,
    SEG_LABELS,
    THRESHOLD_INPUTS,
)

MIN_OPSET = 13  # Split/Squeeze/ReduceSum take their axes as inputs from opset 13 on


class _GraphBuilder:
    """Collects nodes and constant initializers with unique names under a prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.count = 0

    def const(self, value: np.ndarray | float | int | list, dtype: type = np.int64) -> str:
        """Add a constant tensor; returns its name."""
        name = f"{self.prefix}/const_{len(self.initializers)}"
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attributes: object) -> str | list:
        """Add a node; returns its output name, or the list of names for several outputs."""
        self.count += 1
        names = [f"{self.prefix}/{op_type}_{self.count}_{i}" for i in range(outputs)]
        self.nodes.append(
            helper.make_node(op_type, list(inputs), names, name=names[0], **attributes)
        )
        return names[0] if outputs == 1 else names

    def rename(self, tensor: str, name: str) -> None:
        """Give a tensor its public output name via Identity."""
        self.nodes.append(helper.make_node("Identity", [tensor], [name], name=f"{name}_out"))


def _decode_boxes(
    g: _GraphBuilder, regression: str, index: str, anchors: np.ndarray, size: tuple[int, int]
) -> str:
    """Decoded, clipped (x1, y1, x2, y2) boxes [B, K, 4] of the anchors picked by `index`."""
    centre_y, centre_x, height, width = (g.const(v, np.float32) for v in anchor_geometry(anchors))
    picked = g.op(
        "GatherElements",
        regression,
        g.op("Expand", g.op("Unsqueeze", index, g.const([2])), g.const([1, 1, 4])),
        axis=1,
    )
    deltas = g.op("Split", picked, g.const([1, 1, 1, 1]), outputs=4, axis=2)
    dy, dx, dh, dw = (g.op("Squeeze", d, g.const([2])) for d in deltas)
    anchor_cy, anchor_cx, anchor_h, anchor_w = (
        g.op("Gather", c, index) for c in (centre_y, centre_x, height, width)
    )
    box_cy = g.op("Add", g.op("Mul", dy, anchor_h), anchor_cy)
    box_cx = g.op("Add", g.op("Mul", dx, anchor_w), anchor_cx)
    half_h = g.op("Div", g.op("Mul", g.op("Exp", dh), anchor_h), g.const(2.0, np.float32))
    half_w = g.op("Div", g.op("Mul", g.op("Exp", dw), anchor_w), g.const(2.0, np.float32))
    zero = g.const(0.0, np.float32)
    max_x, max_y = g.const(size[1] - 1, np.float32), g.const(size[0] - 1, np.float32)
    corners = [
        g.op("Clip", g.op("Sub", box_cx, half_w), zero, max_x),
        g.op("Clip", g.op("Sub", box_cy, half_h), zero, max_y),
        g.op("Clip", g.op("Add", box_cx, half_w), zero, max_x),
        g.op("Clip", g.op("Add", box_cy, half_h), zero, max_y),
    ]
    return g.op("Concat", *(g.op("Unsqueeze", c, g.const([2])) for c in corners), axis=2)


def _rank_within_image(g: _GraphBuilder, image: str, batch: str) -> str:
    """0-based position of each row among the rows of its image (rows sorted by image)."""
    images = g.op("Range", g.const(0), batch, g.const(1))
    member = g.op(
        "Cast",
        g.op(
            "Equal", g.op("Unsqueeze", image, g.const([1])), g.op("Unsqueeze", images, g.const([0]))
        ),
        to=TensorProto.INT64,
    )
    running = g.op("Mul", g.op("CumSum", member, g.const(0)), member)
    return g.op("Sub", g.op("ReduceSum", running, g.const([1]), keepdims=0), g.const(1))


def _detections(g: _GraphBuilder, config: ModelConfig, size: tuple[int, int]) -> None:
    """Nodes from `regression`/`classification` to the det_* outputs."""
    anchors = anchors_for(config, size)
    candidates = len(anchors)  # every anchor is a candidate: no silent pre-NMS cap
    regression, classification = OUTPUT_NAMES[:2]
    best_class = g.op("ArgMax", classification, axis=2, keepdims=1)
    best_score = g.op(
        "Squeeze", g.op("GatherElements", classification, best_class, axis=2), g.const([2])
    )
    top_score, top_index = g.op(
        "TopK", best_score, g.const([candidates]), outputs=2, axis=1, largest=1, sorted=1
    )
    top_class = g.op("GatherElements", g.op("Squeeze", best_class, g.const([2])), top_index, axis=1)
    boxes = _decode_boxes(g, regression, top_index, anchors, size)
    conf, iou, max_det = THRESHOLD_INPUTS
    rank_score = (candidates - np.arange(candidates)) / candidates  # distinct, decreasing
    nms_score = g.op(
        "Where",
        g.op("Greater", top_score, conf),
        g.const(rank_score, np.float32),
        g.const(0.0, np.float32),
    )
    in_class = g.op(
        "Equal",
        g.op("Unsqueeze", top_class, g.const([1])),
        g.const(np.arange(config.num_classes).reshape(1, -1, 1)),
    )
    class_scores = g.op(
        "Where", in_class, g.op("Unsqueeze", nms_score, g.const([1])), g.const(0.0, np.float32)
    )
    below_any_rank = g.const([0.5 / candidates], np.float32)
    selected = g.op("NonMaxSuppression", boxes, class_scores, max_det, iou, below_any_rank)
    image, _, slot = (
        g.op("Squeeze", s, g.const([1]))
        for s in g.op("Split", selected, g.const([1, 1, 1]), outputs=3, axis=1)
    )
    # image * K + rank orders rows by image, then score (ties in anchor order).
    flat = g.op("Add", g.op("Mul", image, g.const(candidates)), slot)
    _, order = g.op("TopK", flat, g.op("Shape", flat), outputs=2, axis=0, largest=0, sorted=1)
    flat, image = g.op("Gather", flat, order), g.op("Gather", image, order)
    scores = g.op("Gather", g.op("Reshape", top_score, g.const([-1])), flat)
    batch = g.op("Gather", g.op("Shape", classification), g.const(0))
    keep = g.op("Less", _rank_within_image(g, image, batch), max_det)
    results = {
        "det_boxes": g.op("Gather", g.op("Reshape", boxes, g.const([-1, 4])), flat),
        "det_scores": scores,
        "det_classes": g.op("Gather", g.op("Reshape", top_class, g.const([-1])), flat),
        IMAGE_IDS: image,
    }
    for name, tensor in results.items():
        g.rename(g.op("Compress", tensor, keep, axis=0), name)


def _segmentation(g: _GraphBuilder, seg_mode: str) -> None:
    """Class map [B, H, W] (multiclass argmax, 0 = background) or 0/1 maps [B, C, H, W]."""
    logits = OUTPUT_NAMES[2]
    if seg_mode == "multiclass":
        labels = g.op("ArgMax", logits, axis=1, keepdims=0)
    else:
        labels = g.op("Greater", logits, g.const(0.0, np.float32))
    g.rename(g.op("Cast", labels, to=TensorProto.UINT8), SEG_LABELS)


def postprocess_graph(config: ModelConfig, opset: int) -> onnx.ModelProto:
    """A standalone model from raw outputs (+ threshold inputs) to the end-to-end outputs."""
    size = tuple(config.input_size)
    g = _GraphBuilder("postprocess")
    _detections(g, config, size)
    _segmentation(g, config.seg_mode)
    seg_shape = ["batch", config.seg_channels, *size]
    inputs = [
        helper.make_tensor_value_info(OUTPUT_NAMES[0], TensorProto.FLOAT, ["batch", "anchors", 4]),
        helper.make_tensor_value_info(
            OUTPUT_NAMES[1], TensorProto.FLOAT, ["batch", "anchors", config.num_classes]
        ),
        helper.make_tensor_value_info(OUTPUT_NAMES[2], TensorProto.FLOAT, seg_shape),
    ]
    conf, iou, max_det = THRESHOLD_INPUTS
    inputs += [
        helper.make_tensor_value_info(conf, TensorProto.FLOAT, [1]),
        helper.make_tensor_value_info(iou, TensorProto.FLOAT, [1]),
        helper.make_tensor_value_info(max_det, TensorProto.INT64, [1]),
    ]
    label_shape = ["batch", *size] if config.seg_mode == "multiclass" else seg_shape
    outputs = [
        helper.make_tensor_value_info("det_boxes", TensorProto.FLOAT, ["detections", 4]),
        helper.make_tensor_value_info("det_scores", TensorProto.FLOAT, ["detections"]),
        helper.make_tensor_value_info("det_classes", TensorProto.INT64, ["detections"]),
        helper.make_tensor_value_info(IMAGE_IDS, TensorProto.INT64, ["detections"]),
        helper.make_tensor_value_info(SEG_LABELS, TensorProto.UINT8, label_shape),
    ]
    graph = helper.make_graph(g.nodes, "hybridnets_postprocess", inputs, outputs, g.initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def append_postprocess(raw: onnx.ModelProto, config: ModelConfig) -> onnx.ModelProto:
    """Join a raw HybridNets graph and the post-processing graph into one end-to-end model."""
    opset = next(o.version for o in raw.opset_import if o.domain in ("", "ai.onnx"))
    post = postprocess_graph(config, opset)
    post.ir_version = raw.ir_version
    merged = onnx.compose.merge_models(
        raw, post, io_map=[(name, name) for name in OUTPUT_NAMES], outputs=list(END2END_OUTPUTS)
    )
    merged.graph.name = "hybridnets_end2end"
    return merged
