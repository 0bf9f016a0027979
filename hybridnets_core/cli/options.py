"""Argument types and option groups shared by several subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..backends import BACKENDS
from ..checkpoint import load_model
from ..data import ProjectConfig
from ..errors import ConfigError
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
    add_model_options(parser)
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


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """-w/--weights and --backend: eager torch on a checkpoint or ONNX Runtime on an export."""
    parser.add_argument(
        "-w",
        "--weights",
        default=None,
        help="checkpoint (.pth), or an exported .onnx for --backend onnxruntime; "
        "default: the built-in model",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="torch",
        help="torch (a .pth checkpoint) or onnxruntime (an exported .onnx, e.g. the INT8 one "
        "a vehicle runs) (torch)",
    )


def scoring_pipeline(
    weights: str | Path | None,
    backend: str,
    project: ProjectConfig | None,
    input_size: tuple[int, int] | None,
    **settings: Any,
) -> Pipeline:
    """A Pipeline whose outputs are scored against a project's labels.

    A checkpoint is read with the project's classes, anchors and image size (as training
    wrote it); an export keeps its own, which must name the project's classes.
    """
    if backend == "torch":
        overrides = project.model_settings(input_size) if project else {"input_size": input_size}
        model, config = load_model(weights, **overrides)
        return Pipeline.from_model(model, config, **settings)
    pipeline = Pipeline.from_weights(weights, backend=backend, input_size=input_size, **settings)
    config = pipeline.config
    if project is not None and (config.obj_list, config.seg_list, config.seg_mode) != (
        project.obj_list,
        project.seg_list,
        project.seg_mode,
    ):
        raise ConfigError(
            f"{weights} detects {config.obj_list} and segments {config.seg_list} "
            f"({config.seg_mode}), the project {project.obj_list} and {project.seg_list} "
            f"({project.seg_mode}); export a checkpoint trained on this project"
        )
    return pipeline
