"""`hybridnets export`: ONNX for ONNX Runtime / TensorRT, raw or end-to-end, fp32/fp16/INT8."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..checkpoint import load_model
from ..errors import missing_extra
from ..export.defaults import (
    CALIBRATION_METHODS,
    DEFAULT_CALIB_IMAGES,
    DEFAULT_CALIB_METHOD,
    DEFAULT_FLOAT_MODULES,
    DEFAULT_OPSET,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `export` subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="export a checkpoint to ONNX (raw or end-to-end, fp32/fp16/INT8) with metadata",
        description="Writes OUTPUT.onnx (inputs/outputs named like the official export, or the "
        "end-to-end graph with decoding, NMS and seg labels inside) and anchor_H_W.npy beside "
        "it. Class names, seg classes, input size, mean/std, anchors and the letterbox rule "
        "are stored in the ONNX metadata.",
    )
    parser.add_argument(
        "-w", "--weights", default=None, help="checkpoint (.pth); default: the built-in model"
    )
    parser.add_argument("--height", type=int, default=384, help="network input height (384)")
    parser.add_argument("--width", type=int, default=640, help="network input width (640)")
    parser.add_argument("-o", "--output", type=Path, default=None, help="the .onnx file to write")
    parser.add_argument(
        "--end2end", action="store_true", help="box decoding, NMS and seg argmax inside the graph"
    )
    parser.add_argument("--half", action="store_true", help="fp16 weights (fp32 inputs/outputs)")
    parser.add_argument("--dynamic-batch", action="store_true", help="symbolic batch dimension")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"({DEFAULT_OPSET})")
    parser.add_argument("--int8", action="store_true", help="static INT8 quantization (CPU)")
    parser.add_argument(
        "--calib", type=Path, default=None, help="folder of images or dataset root (imgs/train)"
    )
    parser.add_argument(
        "--calib-images",
        type=int,
        default=DEFAULT_CALIB_IMAGES,
        help=f"calibration images used ({DEFAULT_CALIB_IMAGES})",
    )
    parser.add_argument(
        "--calib-method",
        choices=CALIBRATION_METHODS,
        default=DEFAULT_CALIB_METHOD,
        help=f"activation ranges from ({DEFAULT_CALIB_METHOD})",
    )
    parser.add_argument(
        "--int8-float",
        nargs="*",
        default=list(DEFAULT_FLOAT_MODULES),
        metavar="MODULE",
        help="top-level modules kept in float, e.g. bifpndecoder segmentation_head "
        "(default: none, every layer in int8)",
    )
    parser.add_argument(
        "--native-ops",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="INT8 swish, constant multiplies, SE gates and nearest upsampling as our native "
        "ops (fast; the model then needs hybridnets_core's op library wherever it runs) or, "
        "with --no-native-ops, ONNX Runtime's own operators only (default: native when built)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:  # onnx and onnxruntime are optional: only exporting needs them
        from ..export.exporter import ExportOptions, default_output, export_model
    except ImportError as exc:
        raise missing_extra("hybridnets export", exc) from None
    options = ExportOptions(
        input_size=(args.height, args.width),
        end2end=args.end2end,
        half=args.half,
        dynamic_batch=args.dynamic_batch,
        opset=args.opset,
        int8=args.int8,
        calib=args.calib,
        calib_images=args.calib_images,
        calib_method=args.calib_method,
        int8_float=tuple(args.int8_float),
        native_ops=args.native_ops,
    )
    options.validate()
    model, config = load_model(args.weights, input_size=options.input_size)
    output = args.output or default_output(args.weights, options)
    result = export_model(model, config, output, options)
    info = result.info
    print(
        f"wrote {result.onnx_path} ({info.graph}, {info.precision}, input {args.width}x"
        f"{args.height}, batch {'dynamic' if info.dynamic_batch else 1}, opset {args.opset}"
        f"{', native ops' if options.uses_native_ops else ''}) "
        f"and {result.anchors_path}"
    )
    return 0
