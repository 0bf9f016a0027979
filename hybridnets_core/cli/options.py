"""Argument types and option groups shared by several subcommands.

Detection flags are made from `DetectionSettings`' own defaults, ranges and descriptions, and
every command spells the network input size `--input-size WxH`, so the commands, the node and
the settings cannot disagree.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..data import ProjectConfig
from ..errors import ConfigError, missing_torch
from ..inference.pipeline import Pipeline
from ..runtime.backends import BACKENDS
from ..runtime.threads import AUTO, ThreadSettings, use_torch_threads, use_wait_policy
from ..settings import DetectionSettings, setting_fields
from .arg_types import float_range, image_size, int_range, non_negative_int

INPUT_SIZE_HELP = "network input WIDTHxHEIGHT, multiples of 128 (default: {default})"
DEMO_FLAGS = ("--conf", "--iou", "--max-det")


def add_input_size_option(
    parser: argparse.ArgumentParser | Any, default: str, aliases: Sequence[str] = ()
) -> None:
    """`--input-size WxH` (dest input_size, (H, W) or None); `aliases` are older spellings."""
    parser.add_argument(
        "--input-size",
        *aliases,
        dest="input_size",
        type=image_size,
        default=None,
        metavar="WxH",
        help=INPUT_SIZE_HELP.format(default=default),
    )


def add_detection_options(
    parser: argparse.ArgumentParser | Any,
    flags: Sequence[str] = DEMO_FLAGS,
    defaults: DetectionSettings | None = DetectionSettings(),
    dest_prefix: str = "",
) -> None:
    """One flag per DetectionSettings field (conf, IoU, cap), with its range and description.

    `defaults` None leaves them unset (None), for commands whose defaults depend on another
    option (val's --protocol); `detection_from_args` then fills them in.
    """
    for (name, default, info), flag in zip(setting_fields(DetectionSettings), flags, strict=True):
        value = default if defaults is None else getattr(defaults, name)
        shown = "per --protocol" if defaults is None else f"{value:g}"
        ranged = float_range if isinstance(default, float) else int_range
        parser.add_argument(
            flag,
            dest=f"{dest_prefix}{name}",
            type=ranged(info.low, info.high),
            default=None if defaults is None else value,
            help=f"{info.description} [{info.low:g}, {info.high:g}] ({shown})",
        )


def detection_from_args(
    args: argparse.Namespace, base: DetectionSettings | None = None, dest_prefix: str = ""
) -> DetectionSettings:
    """The DetectionSettings of `add_detection_options` flags; unset ones come from `base`."""
    base = base or DetectionSettings()
    values = {}
    for name, _, _ in setting_fields(DetectionSettings):
        given = getattr(args, f"{dest_prefix}{name}")
        values[name] = getattr(base, name) if given is None else given
    return DetectionSettings(**values)


def add_native_ops_option(parser: argparse.ArgumentParser) -> None:
    """--native-ops / --no-native-ops: our INT8 operators or ONNX Runtime's own (export, bench)."""
    parser.add_argument(
        "--native-ops",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="INT8 swish, constant multiplies, SE gates and nearest upsampling as our native "
        "ops (fast; the model then needs hybridnets_core's op library wherever it runs) or, "
        "with --no-native-ops, ONNX Runtime's own operators only (default: native when built)",
    )


def add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    """--weights, thresholds, device, precision and input size, as inference commands take them."""
    add_model_options(parser)
    add_detection_options(parser)
    add_device_options(parser)
    add_thread_options(parser)
    add_input_size_option(parser, "the checkpoint's, e.g. 640x384")


def add_device_options(parser: argparse.ArgumentParser | Any) -> None:
    """--device and --half."""
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--half", action="store_true", help="fp16 inference (CUDA/TensorRT only)")


def add_thread_options(parser: argparse.ArgumentParser | Any) -> None:
    """--threads and --thread-spin: CPU threads of torch and ONNX Runtime alike."""
    parser.add_argument(
        "--threads",
        type=non_negative_int,
        default=AUTO,
        help="CPU threads of torch and onnxruntime; 0: one per core this process may use (0)",
    )
    parser.add_argument(
        "--thread-spin",
        action="store_true",
        help="let idle threads spin for the next run (a little faster on a CPU of its own, "
        "much slower when other processes use the cores)",
    )


def threads_from_args(args: argparse.Namespace) -> ThreadSettings:
    """The ThreadSettings of `add_thread_options` flags, with torch's OpenMP wait policy set
    now: a command calls this before it imports torch."""
    settings = ThreadSettings(args.threads, args.thread_spin)
    use_wait_policy(settings.spin)
    return settings


def pipeline_from_args(args: argparse.Namespace) -> Pipeline:
    """Build the Pipeline described by `add_pipeline_options` arguments."""
    return Pipeline.from_weights(
        args.weights,
        backend=args.backend,
        device=args.device,
        half=args.half,
        threads=threads_from_args(args),
        detection=detection_from_args(args),
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
    threads: ThreadSettings | None = None,
    **settings: Any,
) -> Pipeline:
    """A Pipeline whose outputs are scored against a project's labels.

    A checkpoint is read with the project's classes, anchors and image size (as training
    wrote it); an export keeps its own, which must name the project's classes. `threads`: the
    runtime's CPU threads (None: the libraries' defaults).
    """
    if backend == "torch":
        try:  # torch only for a checkpoint
            if threads is not None:  # before anything imports torch
                use_torch_threads(threads)
            from ..model.checkpoint import load_model
        except ImportError as exc:
            raise missing_torch("backend 'torch'", exc) from None

        overrides = project.model_settings(input_size) if project else {"input_size": input_size}
        model, config = load_model(weights, **overrides)
        return Pipeline.from_model(model, config, **settings)
    pipeline = Pipeline.from_weights(
        weights, backend=backend, input_size=input_size, threads=threads, **settings
    )
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
