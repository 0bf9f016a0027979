"""The contract of an exported ONNX file: tensor names and the metadata stored inside it.

The exporter writes it and the ONNX Runtime backend reads it, so both import this module; it
needs neither torch nor onnx, so running an exported file never loads the exporter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import CheckpointError
from ..model.config import PAD_VALUE, ModelConfig

INPUT_NAME = "input"
OUTPUT_NAMES = ("regression", "classification", "segmentation")  # the raw graph's outputs
BATCH_AXIS = "batch"
THRESHOLD_INPUTS = ("conf_threshold", "iou_threshold", "max_detections")  # end-to-end only
IMAGE_IDS = "det_image"  # the output naming each detection's image in the batch
SEG_LABELS = "seg_labels"
END2END_OUTPUTS = ("det_boxes", "det_scores", "det_classes", IMAGE_IDS, SEG_LABELS)

FORMAT = "hybridnets_ros.onnx/1"
GRAPH_KINDS = ("raw", "end2end")
PRECISIONS = ("fp32", "fp16", "int8")
LETTERBOX = {
    "color": "RGB",
    "resize": "scale the long side to fit, keep aspect; cv2.INTER_AREA when shrinking",
    "pad": "centred, constant value",
    "pad_value": PAD_VALUE,
    "normalise": "(pixel / 255 - mean) / std",
    "boxes": "x1, y1, x2, y2 in network input pixels; subtract the padding, divide by the scale",
}


@dataclass(frozen=True)
class OnnxInfo:
    """What an exported file says about itself: network config, graph kind, precision, batch
    and input type."""

    config: ModelConfig
    graph: str
    precision: str
    dynamic_batch: bool
    batch_size: int = 1  # the graph's fixed batch (ignored with dynamic_batch)
    uint8_input: bool = False  # input: uint8 [B, H, W, 3] RGB frames, normalised in the graph

    @property
    def end_to_end(self) -> bool:
        return self.graph == "end2end"

    def to_properties(self) -> dict[str, str]:
        """String key/value pairs for ModelProto.metadata_props."""
        config = self.config
        return {
            "hybridnets.format": FORMAT,
            "hybridnets.graph": self.graph,
            "hybridnets.precision": self.precision,
            "hybridnets.dynamic_batch": json.dumps(self.dynamic_batch),
            "hybridnets.batch_size": json.dumps(self.batch_size),
            "hybridnets.uint8_input": json.dumps(self.uint8_input),
            "hybridnets.config": json.dumps(config.to_dict()),
            "hybridnets.strides": json.dumps(config.strides),
            "hybridnets.letterbox": json.dumps(LETTERBOX),
            "class_names": json.dumps(config.obj_list),
            "seg_list": json.dumps(config.seg_list),
            "seg_mode": config.seg_mode,
            "input_size_hw": json.dumps(list(config.input_size)),
        }

    @classmethod
    def from_properties(cls, properties: dict[str, str], source: str) -> OnnxInfo:
        """Parse metadata_props; CheckpointError when the file was not written by our exporter."""
        if properties.get("hybridnets.format") != FORMAT:
            raise CheckpointError(
                f"{source} has no HybridNets metadata ({FORMAT}); export it with "
                "`hybridnets export -w WEIGHTS`"
            )
        try:
            info = cls(
                config=ModelConfig.from_dict(json.loads(properties["hybridnets.config"])),
                graph=properties["hybridnets.graph"],
                precision=properties["hybridnets.precision"],
                dynamic_batch=bool(json.loads(properties["hybridnets.dynamic_batch"])),
                batch_size=int(json.loads(properties.get("hybridnets.batch_size", "1"))),
                uint8_input=bool(json.loads(properties.get("hybridnets.uint8_input", "false"))),
            )
        except (KeyError, ValueError) as exc:
            raise CheckpointError(
                f"{source}: damaged HybridNets metadata ({exc}); export the model again"
            ) from exc
        if info.graph not in GRAPH_KINDS or info.precision not in PRECISIONS:
            raise CheckpointError(
                f"{source}: unknown graph kind {info.graph!r} or precision {info.precision!r}; "
                "export the model again with this version"
            )
        return info


def set_properties(model: Any, properties: dict[str, str]) -> None:
    """Replace an onnx.ModelProto's metadata_props with `properties`."""
    del model.metadata_props[:]
    for key, value in properties.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
