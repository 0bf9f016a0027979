"""`hybridnets bench`: median/p90 of preprocess, forward and postprocess, and FPS."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..benchmark import STAGES, benchmark_pipeline
from ..config import ModelConfig
from ..errors import ConfigError
from ..fileio import write_json
from ..media import read_image
from ..model import HybridNets
from ..pipeline import Pipeline
from .options import size_wh

SOURCE_SIZE = (720, 1280)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="time the whole pipeline stage by stage")
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument("-w", "--weights", help="checkpoint; default: the built-in model")
    weights.add_argument("--random", action="store_true", help="random-initialised network")
    parser.add_argument("-c", "--coef", type=int, default=3, help="coefficient for --random")
    parser.add_argument("--size", type=size_wh, default=(384, 640), metavar="WxH")
    parser.add_argument("--image", type=Path, help="frame to use (default: 1280x720 noise)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--conf", type=float, default=0.25)
    parser.add_argument("--iou", type=float, default=0.3)
    parser.add_argument("--max-det", type=int, default=100)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--half", action="store_true")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.set_defaults(func=run)


def build_pipeline(args: argparse.Namespace) -> Pipeline:
    options = {
        "conf_threshold": args.conf,
        "iou_threshold": args.iou,
        "max_detections": args.max_det,
        "input_size": args.size,
    }
    if args.random:
        config = ModelConfig(compound_coef=args.coef, input_size=args.size)
        model = HybridNets.from_config(config)
        return Pipeline.from_model(model, config, device=args.device, half=args.half, **options)
    return Pipeline.from_weights(args.weights, device=args.device, half=args.half, **options)


def run(args: argparse.Namespace) -> int:
    if args.runs < 1 or args.warmup < 0:
        raise ConfigError("--runs must be at least 1 and --warmup at least 0")
    if args.image:
        image = read_image(args.image)
    else:
        image = np.random.default_rng(0).integers(0, 256, (*SOURCE_SIZE, 3), dtype=np.uint8)
    pipeline = build_pipeline(args)
    report = benchmark_pipeline(pipeline, image, args.runs, args.warmup)
    report["weights"] = "random" if args.random else str(args.weights or "default")
    report["compound_coef"] = pipeline.config.compound_coef
    report["source_size"] = list(image.shape[:2])
    for stage in (*STAGES, "total"):
        stats = report["stages"][stage]
        print(f"{stage:12s} median {stats['median_ms']:8.2f} ms   p90 {stats['p90_ms']:8.2f} ms")
    print(f"FPS {report['fps']:.2f}   pre+post / forward {report['pre_post_share_of_forward']:.1%}")
    if args.json:
        write_json(args.json, report)
    else:
        print(json.dumps(report))
    return 0
