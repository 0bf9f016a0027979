"""`hybridnets export`: ONNX for ONNX Runtime / TensorRT, raw or end-to-end, fp32/fp16/INT8."""

from __future__ import annotations

import argparse
import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError, missing_extra
from ..export.defaults import (
    CALIBRATION_METHODS,
    DEFAULT_CALIB_IMAGES,
    DEFAULT_CALIB_METHOD,
    DEFAULT_FLOAT_MODULES,
    DEFAULT_OPSET,
)
from ..limits import MAX_IMAGE_SIDE
from .arg_types import int_range, positive_int, unit_interval
from .options import add_input_size_option, add_native_ops_option

DEFAULT_INPUT_SIZE = (384, 640)


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
    add_input_size_option(parser, "640x384")
    side = int_range(128, MAX_IMAGE_SIDE)
    parser.add_argument("--height", type=side, default=None, help="older spelling of --input-size")
    parser.add_argument("--width", type=side, default=None, help="older spelling of --input-size")
    parser.add_argument("-o", "--output", type=Path, default=None, help="the .onnx file to write")
    parser.add_argument(
        "--end2end", action="store_true", help="box decoding, NMS and seg argmax inside the graph"
    )
    parser.add_argument("--half", action="store_true", help="fp16 weights (fp32 inputs/outputs)")
    parser.add_argument("--dynamic-batch", action="store_true", help="symbolic batch dimension")
    parser.add_argument(
        "--batch",
        type=positive_int,
        default=1,
        help="fixed batch of the graph, e.g. the number of cameras a node batches (1)",
    )
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"({DEFAULT_OPSET})")
    parser.add_argument("--int8", action="store_true", help="static INT8 quantization (CPU)")
    parser.add_argument(
        "--calib", type=Path, default=None, help="folder of images or dataset root (imgs/train)"
    )
    parser.add_argument(
        "--calib-images",
        type=positive_int,
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
        "--uint8-input",
        action="store_true",
        help="take uint8 [B, H, W, 3] RGB frames (letterboxed) and normalise them inside the "
        "graph, so a GPU does it and the CPU only copies the frame",
    )
    add_native_ops_option(parser)
    add_gate_options(parser)
    parser.set_defaults(func=run)


def add_gate_options(parser: argparse.ArgumentParser) -> None:
    """--gate-bag, --gate-topic, --max-drop: the accuracy gate on the new file."""
    from ..bag.export_gate import DEFAULT_MAX_DROP, DEFAULT_TOPIC

    gate = parser.add_argument_group(
        "accuracy gate: compare the new file with its weights on a bag before it is kept"
    )
    gate.add_argument("--gate-bag", type=Path, default=None, help="rosbag2 folder or file")
    gate.add_argument(
        "--gate-topic", default=DEFAULT_TOPIC, help=f"its image topic ({DEFAULT_TOPIC})"
    )
    gate.add_argument(
        "--max-drop",
        type=unit_interval,
        default=DEFAULT_MAX_DROP,
        help="refuse (exit 2, no file written) when the agreement, min of detection F1, drivable "
        f"IoU and lane IoU, falls more than this below 1.0 ({DEFAULT_MAX_DROP:g})",
    )


def input_size_of(args: argparse.Namespace) -> tuple[int, int]:
    """(H, W) from --input-size, or from the older --height/--width (640x384 by default)."""
    if args.input_size is not None:
        if args.height is not None or args.width is not None:
            raise ConfigError("give either --input-size or --height/--width, not both")
        return args.input_size
    height, width = DEFAULT_INPUT_SIZE
    return (args.height or height, args.width or width)


def run(args: argparse.Namespace) -> int:
    try:  # onnx and onnxruntime are optional: only exporting needs them
        from ..export.exporter import ExportOptions, default_output, export_model
        from ..model.checkpoint import load_model
    except ImportError as exc:
        raise missing_extra("hybridnets export", exc) from None
    options = ExportOptions(
        input_size=input_size_of(args),
        end2end=args.end2end,
        half=args.half,
        dynamic_batch=args.dynamic_batch,
        batch_size=args.batch,
        opset=args.opset,
        int8=args.int8,
        calib=args.calib,
        calib_images=args.calib_images,
        calib_method=args.calib_method,
        int8_float=tuple(args.int8_float),
        native_ops=args.native_ops,
        uint8_input=args.uint8_input,
    )
    options.validate()
    gate = _gate(args)
    model, config = load_model(args.weights, input_size=options.input_size)
    output = args.output or default_output(args.weights, options)
    verdict = None
    if gate is None:
        result = export_model(model, config, output, options)
    else:
        result, verdict = _gated_export(model, config, output, options, gate)
    info = result.info
    print(
        f"wrote {result.onnx_path} ({info.graph}, {info.precision}, input "
        f"{options.input_size[1]}x{options.input_size[0]}, "
        f"batch {'dynamic' if info.dynamic_batch else info.batch_size}, opset {args.opset}"
        f"{', native ops' if options.uses_native_ops else ''}"
        f"{', uint8 input' if options.uint8_input else ''}) "
        f"and {result.anchors_path}"
    )
    if verdict is not None:
        print(
            f"gate passed on {args.gate_bag}: agreement {verdict['score']} (detection F1 "
            f"{verdict['detection']['f1']}, mAP50 {verdict['detection']['mAP50']}, drivable IoU "
            f"{verdict['drivable_iou']}, lane IoU {verdict['lane_iou']}; {verdict['frames']} "
            f"frames), max drop {args.max_drop:g}"
        )
    return 0


def _gate(args: argparse.Namespace) -> Any:
    """The export gate asked for, or None; ConfigError for gate flags without --gate-bag."""
    from ..bag.export_gate import DEFAULT_MAX_DROP, DEFAULT_TOPIC, ExportGate

    if args.gate_bag is None:
        if args.gate_topic != DEFAULT_TOPIC or args.max_drop != DEFAULT_MAX_DROP:
            raise ConfigError("--gate-topic and --max-drop need --gate-bag BAG to compare on")
        return None
    return ExportGate(args.gate_bag, args.gate_topic, args.max_drop)


def _gated_export(model: Any, config: Any, output: Path, options: Any, gate: Any) -> tuple:
    """Export under a temporary name, compare it with the checkpoint (run at the export's
    input size) on the gate's bag, keep it only when it passes."""
    from ..bag.export_gate import gate_check, gated_write
    from ..export.exporter import export_model
    from ..inference.pipeline import Pipeline

    reference = Pipeline.from_model(copy.deepcopy(model), config)
    exported = []

    def write(path: Path) -> list[Path]:
        exported.append(export_model(model, config, path, options))
        return [exported[0].onnx_path, exported[0].anchors_path]

    (onnx_path, anchors_path), verdict = gated_write(
        write, output, lambda staged: gate_check(staged, reference, gate)
    )
    return replace(exported[0], onnx_path=onnx_path, anchors_path=anchors_path), verdict
