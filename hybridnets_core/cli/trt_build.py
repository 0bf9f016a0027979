"""`hybridnets trt-build`: build an export's TensorRT engine on the target GPU before the drive.

A command of its own rather than an `export` flag: an engine belongs to one GPU and one TensorRT
version, so it is built on the vehicle from the .onnx file shipped there, where the checkpoint
and torch (which `export` needs) are usually absent.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..errors import ConfigError
from ..export.defaults import DEFAULT_CALIB_IMAGES
from ..fileio import scratch_folder
from .arg_types import positive_int

PRECISIONS = ("fp16", "int8", "fp32")
TENSORRT_PROVIDER = "TensorrtExecutionProvider"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `trt-build` subcommand."""
    parser = subparsers.add_parser(
        "trt-build",
        help="build and cache an export's TensorRT engine for this GPU (before the drive)",
        description="Creates an ONNX Runtime session on the TensorRT provider and runs one "
        "inference, which builds the engine, and caches it in a folder of --cache keyed by the "
        "model file's hash, the TensorRT version, the GPU name and compute capability, "
        "precision, batch and input size. The node and every onnxruntime Pipeline on cuda "
        "load it from there. The input size is the export's.",
    )
    parser.add_argument("onnx", type=Path, help="the .onnx file written by `hybridnets export`")
    parser.add_argument("--device", default="cuda", help="cuda or cuda:N (cuda)")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp16", help="(fp16)")
    calibration = parser.add_mutually_exclusive_group()
    calibration.add_argument(
        "--calib",
        type=Path,
        default=None,
        help="int8: calibrate on this folder of images or dataset root (imgs/train), on the "
        "fp32 export",
    )
    calibration.add_argument(
        "--calibration-table",
        type=Path,
        default=None,
        help="int8: a ready table in ONNX Runtime's TensorRT format (calibration.flatbuffers)",
    )
    parser.add_argument(
        "--calib-images",
        type=positive_int,
        default=DEFAULT_CALIB_IMAGES,
        help=f"calibration images used ({DEFAULT_CALIB_IMAGES})",
    )
    parser.add_argument(
        "--batch",
        type=positive_int,
        default=None,
        help="images per run: the most a dynamic-batch export's engine takes (default 1); a "
        "fixed-batch export's own batch otherwise",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="root of the engine cache (default $HYBRIDNETS_HOME/tensorrt, the node's default)",
    )
    parser.set_defaults(func=run)


def check_tensorrt(available: list[str]) -> None:
    """ConfigError naming the fix where ONNX Runtime has no TensorRT provider."""
    from ..runtime.tensorrt import INSTALL_HINT

    if TENSORRT_PROVIDER not in available:
        raise ConfigError(
            f"onnxruntime has no TensorRT provider (it has {', '.join(available)}); {INSTALL_HINT}"
        )


def check_batch(onnx: Path, batch: int | None) -> None:
    """ConfigError when a fixed-batch export is asked for another batch."""
    from ..runtime.onnx_runtime import read_info

    info = read_info(onnx)
    if not info.dynamic_batch and batch not in (None, info.batch_size):
        raise ConfigError(
            f"{onnx} was exported for batch {info.batch_size}, not {batch}; drop --batch, or "
            "export with --dynamic-batch (or --batch)"
        )


def run(args: argparse.Namespace) -> int:
    calibrated = args.calib is not None or args.calibration_table is not None
    if (args.precision == "int8") != calibrated:
        raise ConfigError(
            "--precision int8 needs --calib or --calibration-table, and only int8 takes them"
        )
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ConfigError(
            f"trt-build needs onnxruntime-gpu ({exc}); pip install 'hybridnets_ros[gpu]'"
        ) from None
    check_tensorrt(ort.get_available_providers())
    check_batch(args.onnx, args.batch)
    started = time.perf_counter()
    if args.calib is None:
        return _build(args, args.calibration_table, started)
    from ..export.quantize import calibration_images
    from ..export.trt_calibration import write_tensorrt_calibration

    with scratch_folder("hybridnets_trt_build") as work:
        images = calibration_images(args.calib, args.calib_images)
        return _build(args, write_tensorrt_calibration(args.onnx, images, work), started)


def _build(args: argparse.Namespace, table: Path | None, started: float) -> int:
    """Open the export on TensorRT (building or loading its engine) and report which."""
    from ..runtime.onnx_runtime import OnnxOptions, load_onnx_runtime

    options = OnnxOptions(trt_cache=args.cache, trt_calibration=table, trt_batch=args.batch)
    runtime = load_onnx_runtime(
        args.onnx, device=args.device, half=args.precision != "fp32", options=options
    )
    if runtime.provider != TENSORRT_PROVIDER or runtime.engine_note is None:
        raise ConfigError(
            f"TensorRT could not build an engine for {args.onnx} (onnxruntime runs it on "
            f"{runtime.provider}); see the warnings above"
        )
    print(f"{runtime.engine_note}; ready in {time.perf_counter() - started:.1f} s")
    return 0
