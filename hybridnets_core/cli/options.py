"""Argument types and option groups shared by several subcommands."""

from __future__ import annotations

import argparse

from ..backends import BACKENDS
from ..pipeline import Pipeline


def size_wh(text: str) -> tuple[int, int]:
    """Parse 'WIDTHxHEIGHT' (e.g. 640x384) into (height, width)."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT such as 640x384, got {text!r}"
        ) from None
    return height, width


def add_pipeline_options(parser: argparse.ArgumentParser, conf: float, iou: float) -> None:
    """--weights, thresholds, device and precision, as every inference command takes them."""
    parser.add_argument(
        "-w",
        "--weights",
        default=None,
        help="checkpoint (.pth), or an exported .onnx for --backend onnxruntime; "
        "default: the built-in model",
    )
    parser.add_argument(
        "--backend", choices=BACKENDS, default="torch", help="inference runtime (torch)"
    )
    parser.add_argument("--conf", type=float, default=conf, help=f"score threshold ({conf})")
    parser.add_argument("--iou", type=float, default=iou, help=f"NMS IoU threshold ({iou})")
    parser.add_argument("--max-det", type=int, default=100, help="detections kept per image")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--half", action="store_true", help="fp16 inference (CUDA/TensorRT only)")
    parser.add_argument(
        "--input-size",
        type=size_wh,
        default=None,
        metavar="WxH",
        help="network input size, multiples of 128 (default: the checkpoint's, e.g. 640x384)",
    )


def pipeline_from_args(args: argparse.Namespace) -> Pipeline:
    """Build the Pipeline described by `add_pipeline_options` arguments."""
    return Pipeline.from_weights(
        args.weights,
        backend=args.backend,
        device=args.device,
        half=args.half,
        conf_threshold=args.conf,
        iou_threshold=args.iou,
        max_detections=args.max_det,
        input_size=args.input_size,
    )
