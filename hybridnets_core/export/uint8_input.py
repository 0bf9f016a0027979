"""uint8 frames in: the normalisation and the HWC -> CHW layout change inside the graph.

The exported graph then takes the letterboxed uint8 RGB frames as [B, H, W, 3], a quarter of
the float input's bytes; the device (a GPU with TensorRT or CUDA) transposes, casts and
normalises, and the CPU only copies the frame. The arithmetic is the Pipeline's own
(`ImageTransform.scale_shift`: pixel * scale - shift in float32), so both inputs agree.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..inference.transform import ImageTransform
from ..runtime.onnx_format import INPUT_NAME

PREFIX = "uint8_input/"  # names no exporter step uses (quantization names `input_scale`)
NORMALISED = f"{PREFIX}normalised"  # the float NCHW tensor the network read as its input
NHWC_TO_NCHW = (0, 3, 1, 2)


def take_uint8_input(graph: onnx.ModelProto, transform: ImageTransform) -> None:
    """Change `graph` in place: its input becomes uint8 [B, H, W, 3] RGB (B as before),
    transposed, cast and normalised in front of the nodes that read the float input."""
    source = next(value for value in graph.graph.input if value.name == INPUT_NAME)
    batch, channels, height, width = source.type.tensor_type.shape.dim
    for node in graph.graph.node:
        for index, name in enumerate(node.input):
            if name == INPUT_NAME:
                node.input[index] = NORMALISED
    scale, shift = (value.reshape(1, 3, 1, 1) for value in transform.scale_shift)
    constants = [
        numpy_helper.from_array(scale.astype(np.float32), f"{PREFIX}scale"),
        numpy_helper.from_array(shift.astype(np.float32), f"{PREFIX}shift"),
    ]
    nchw, floats, scaled = (f"{PREFIX}{name}" for name in ("nchw", "float", "scaled"))
    nodes = [
        helper.make_node("Transpose", [INPUT_NAME], [nchw], name=nchw, perm=list(NHWC_TO_NCHW)),
        helper.make_node("Cast", [nchw], [floats], name=floats, to=TensorProto.FLOAT),
        helper.make_node("Mul", [floats, f"{PREFIX}scale"], [scaled], name=scaled),
        helper.make_node("Sub", [scaled, f"{PREFIX}shift"], [NORMALISED], name=NORMALISED),
    ]
    graph.graph.initializer.extend(constants)
    for node in reversed(nodes):
        graph.graph.node.insert(0, node)
    shape = source.type.tensor_type.shape
    del shape.dim[:]
    shape.dim.extend([batch, height, width, channels])
    source.type.tensor_type.elem_type = TensorProto.UINT8
