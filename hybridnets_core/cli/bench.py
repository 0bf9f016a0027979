"""`hybridnets bench`: per-stage latency and FPS of one or more backends side by side."""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError
from ..fileio import write_json
from ..inference.pipeline import Pipeline
from ..media import read_image
from ..model.config import ModelConfig
from ..runtime.backends import ONNX_SUFFIX
from .arg_types import non_negative_int, positive_int
from .options import (
    add_detection_options,
    add_device_options,
    add_input_size_option,
    add_native_ops_option,
    add_thread_options,
    detection_from_args,
    threads_from_args,
)

if TYPE_CHECKING:
    from ..model import HybridNets

SOURCE_SIZE = (720, 1280)
DEFAULT_INPUT_SIZE = (384, 640)
BENCH_BACKENDS = (
    "torch",
    "torch-reference",
    "onnxruntime",
    "onnxruntime-cuda",
    "onnxruntime-int8",
)
TORCH_BACKENDS = ("torch", "torch-reference")
SYNTHETIC_CALIB_FRAMES = 16


def backend_list(text: str) -> list[str]:
    """Parse 'torch,onnxruntime[,...]' into distinct names from BENCH_BACKENDS."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in BENCH_BACKENDS]
    if not names or unknown or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of distinct backends from {BENCH_BACKENDS}, "
            f"got {text!r}"
        )
    return names


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="time the whole pipeline stage by stage, for one or more backends side by side",
        description="Checkpoints are exported to ONNX in a temporary folder for the "
        "onnxruntime backends; onnxruntime-int8 calibrates on --calib (default: synthetic "
        "scenes): a static INT8 export on the CPU, a TensorRT INT8 engine on cuda. Backends "
        "take turns on the same frame.",
    )
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument(
        "-w", "--weights", help="checkpoint, or an exported .onnx; default: the built-in model"
    )
    weights.add_argument("--random", action="store_true", help="random-initialised network")
    parser.add_argument("-c", "--coef", type=int, default=3, help="coefficient for --random")
    parser.add_argument(
        "--backend",
        type=backend_list,
        default=["torch"],
        help="comma-separated: torch, torch-reference (unfolded, NCHW, as the reference "
        "implementation runs it), onnxruntime (TensorRT first on cuda), onnxruntime-cuda "
        "(ONNX Runtime's CUDA provider, no TensorRT), onnxruntime-int8 (torch)",
    )
    parser.add_argument("--end2end", action="store_true", help="end-to-end ONNX graphs")
    parser.add_argument(
        "--uint8-input",
        action="store_true",
        help="ONNX exports take uint8 frames and normalise inside the graph (export --uint8-input)",
    )
    parser.add_argument("--calib", type=Path, default=None, help="INT8 calibration images")
    add_native_ops_option(parser)
    add_input_size_option(parser, "640x384", aliases=("--size",))
    parser.add_argument("--image", type=Path, help="frame to use (default: 1280x720 noise)")
    parser.add_argument(
        "--batch",
        type=positive_int,
        default=1,
        help="images per forward pass (the frame repeated); exports get this fixed batch, and "
        "times are per image (1)",
    )
    parser.add_argument("--runs", type=positive_int, default=20)
    parser.add_argument("--warmup", type=non_negative_int, default=3)
    add_detection_options(parser)
    add_device_options(parser)
    add_thread_options(parser)
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.set_defaults(func=run)


def _network(args: argparse.Namespace) -> tuple[HybridNets, ModelConfig]:
    from ..model import (
        HybridNets,  # torch: imported when the command runs, not when its parser is built
    )
    from ..model.checkpoint import load_model

    if args.random:
        config = ModelConfig(compound_coef=args.coef, input_size=args.input_size)
        return HybridNets.from_config(config).eval(), config
    return load_model(args.weights, input_size=args.input_size)


def _calibration_folder(args: argparse.Namespace, scratch: Path) -> Path:
    """--calib, or a few synthetic driving scenes written to the scratch folder."""
    if args.calib is not None:
        return args.calib
    from ..synth import generate_dataset

    generate_dataset(scratch / "calib", train=SYNTHETIC_CALIB_FRAMES, val=0, seed=0)
    return scratch / "calib"


def _tensorrt_int8(args: argparse.Namespace) -> bool:
    """onnxruntime-int8 on cuda is a TensorRT INT8 engine (the CPU's QDQ export is for CPUs)."""
    return args.device.startswith("cuda")


def _trt_table(args: argparse.Namespace, export: Path, scratch: Path) -> Path:
    """The TensorRT INT8 calibration table of an fp32 export, from --calib or synthetic scenes;
    ConfigError where ONNX Runtime has no TensorRT provider to use it."""
    import onnxruntime as ort

    from ..export.quantize import calibration_images
    from ..export.trt_calibration import write_tensorrt_calibration
    from .trt_build import check_tensorrt

    check_tensorrt(ort.get_available_providers())
    images = calibration_images(_calibration_folder(args, scratch), SYNTHETIC_CALIB_FRAMES)
    return write_tensorrt_calibration(export, images, scratch / "trt_int8")


def build_pipelines(args: argparse.Namespace, scratch: Path) -> dict[str, Pipeline]:
    """One Pipeline per backend; ONNX files are exported into `scratch` first."""
    from ..export.exporter import ExportOptions, export_model
    from ..runtime.onnx_runtime import OnnxOptions
    from ..runtime.threads import ThreadSettings

    options = {"detection": detection_from_args(args), "input_size": args.input_size}
    device = {"device": args.device, "half": args.half}
    threads = ThreadSettings(args.threads, args.thread_spin)
    onnx_options = OnnxOptions(threads=threads.count, spinning=threads.spin, trt_batch=args.batch)
    onnx = {"onnx_options": onnx_options}
    if args.weights and Path(args.weights).suffix.lower() == ONNX_SUFFIX:
        if args.backend != ["onnxruntime"]:
            raise ConfigError("an .onnx file can only be benchmarked with --backend onnxruntime")
        pipeline = Pipeline.from_weights(
            args.weights, backend="onnxruntime", **device, **onnx, **options
        )
        return {"onnxruntime": pipeline}
    model, config = _network(args)
    pipelines = {}
    exported: dict[str, Path] = {}  # one file per distinct export (onnxruntime and -cuda share)
    for backend in args.backend:
        if backend in TORCH_BACKENDS:
            continue
        int8 = backend == "onnxruntime-int8"
        cpu_int8 = int8 and not _tensorrt_int8(args)
        export = ExportOptions(
            args.input_size,
            end2end=args.end2end,
            half=args.half and not int8,
            batch_size=args.batch,
            int8=cpu_int8,
            calib=_calibration_folder(args, scratch) if cpu_int8 else None,
            native_ops=args.native_ops if cpu_int8 else None,
            uint8_input=args.uint8_input,
        )
        if repr(export) not in exported:
            target = scratch / f"{backend}.onnx"
            exported[repr(export)] = export_model(model, config, target, export).onnx_path
        path = exported[repr(export)]
        backend_options = onnx_options
        if backend == "onnxruntime-cuda":
            backend_options = replace(onnx_options, tensorrt=False)
        if int8 and not cpu_int8:
            backend_options = replace(onnx_options, trt_calibration=_trt_table(args, path, scratch))
        pipelines[backend] = Pipeline.from_weights(
            path, backend="onnxruntime", onnx_options=backend_options, **device, **options
        )
    for backend in set(args.backend) & set(TORCH_BACKENDS):
        as_trained = backend == "torch-reference"
        pipelines[backend] = Pipeline.from_model(
            model, config, as_trained=as_trained, **device, **options
        )
    return {name: pipelines[name] for name in args.backend}


def print_report(report: dict) -> None:
    """Stage table per backend, then the ratios when there are several."""
    from ..inference.benchmark import STAGES

    for name, backend in report["backends"].items():
        provider = f" ({backend['provider']})" if backend["provider"] else ""
        print(f"{name}{provider} on {backend['device']}:")
        for stage in (*STAGES, "total"):
            stats = backend["stages"][stage]
            median, p90 = stats["median_ms"], stats["p90_ms"]
            print(f"  {stage:12s} median {median:8.2f} ms   p90 {p90:8.2f} ms")
        share = backend["pre_post_share_of_forward"]
        print(f"  FPS {backend['fps']:.2f}   pre+post / forward {share:.1%}")
    if len(report["backends"]) > 1:
        reference = next(iter(report["backends"]))
        for key, values in report["ratios"].items():
            ratios = ", ".join(f"{name} {value:.2f}x" for name, value in values.items())
            print(f"{key} (vs {reference}): {ratios}")


def run(args: argparse.Namespace) -> int:
    threads = threads_from_args(args)  # sets torch's OpenMP wait policy: before torch loads
    from ..inference.benchmark import benchmark_pipelines
    from ..runtime.threads import use_torch_threads

    args.input_size = args.input_size or DEFAULT_INPUT_SIZE
    if args.runs < 1 or args.warmup < 0:
        raise ConfigError("--runs must be at least 1 and --warmup at least 0")
    if args.native_ops is not None and "onnxruntime-int8" not in args.backend:
        raise ConfigError(
            "--native-ops / --no-native-ops choose the onnxruntime-int8 backend's ops"
        )
    if args.uint8_input and set(args.backend) <= set(TORCH_BACKENDS):
        raise ConfigError("--uint8-input changes ONNX exports: add an onnxruntime backend")
    if "onnxruntime-cuda" in args.backend and not args.device.startswith("cuda"):
        raise ConfigError("backend onnxruntime-cuda needs --device cuda[:N]")
    use_torch_threads(threads)
    if args.image:
        image = read_image(args.image)
    else:
        image = np.random.default_rng(0).integers(0, 256, (*SOURCE_SIZE, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory(prefix="hybridnets_bench_") as scratch:
        pipelines = build_pipelines(args, Path(scratch))
    report = benchmark_pipelines(pipelines, image, args.runs, args.warmup, args.batch)
    report["weights"] = "random" if args.random else str(args.weights or "default")
    report["compound_coef"] = next(iter(pipelines.values())).config.compound_coef
    report["source_size"] = list(image.shape[:2])
    report["threads"] = {"count": threads.count, "spin": threads.spin}
    report["uint8_input"] = args.uint8_input
    if "onnxruntime-int8" in args.backend and not _tensorrt_int8(args):
        from ..export.exporter import ExportOptions

        int8 = ExportOptions(args.input_size, int8=True, native_ops=args.native_ops)
        report["int8_native_ops"] = int8.uses_native_ops
    print_report(report)
    if args.json:
        write_json(args.json, report)
    else:
        print(json.dumps(report))
    return 0
