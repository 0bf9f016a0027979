"""Trace the network into a raw ONNX graph named like the official export."""

from __future__ import annotations

import copy
import io
import warnings

import onnx
import torch

from ..model import HybridNets
from ..runtime.onnx_format import BATCH_AXIS, INPUT_NAME, OUTPUT_NAMES


def export_raw(
    model: HybridNets,
    input_size: tuple[int, int],
    opset: int,
    dynamic_batch: bool,
    batch_size: int = 1,
) -> onnx.ModelProto:
    """Trace `model` at a fixed HxW (batch `batch_size`, or a symbolic batch) into fp32 ONNX.

    Height and width are fixed: the 'same' max-pool padding depends on them and is traced as
    constants, which is exact for the exported size.
    """
    model = copy.deepcopy(model).eval().float().to("cpu")  # the caller's model stays as it is
    example = torch.zeros(batch_size, 3, *input_size)
    dynamic_axes = None
    if dynamic_batch:
        dynamic_axes = {name: {0: BATCH_AXIS} for name in (INPUT_NAME, *OUTPUT_NAMES)}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Shape arithmetic traced as constants is intended: H and W are fixed by design.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(
            model,
            (example,),
            buffer,
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    return onnx.load_from_string(buffer.getvalue())
