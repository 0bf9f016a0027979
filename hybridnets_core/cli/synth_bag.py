"""`hybridnets synth-bag`: a labelled synthetic drive as a rosbag2 (MCAP or sqlite3)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ConfigError
from ..synth.writer import MIN_SIDE
from .arg_types import non_negative_int, positive_finite_float, positive_int, size_wh

# bag.scenarios.SCENARIOS, spelled out: the bag package needs rosbags, the parser must not
SCENARIOS = ("drive", "braking-lead", "cut-in")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `synth-bag` subcommand."""
    parser = subparsers.add_parser(
        "synth-bag",
        help="write a synthetic drive with camera_info and ground-truth topics as a rosbag2",
    )
    parser.add_argument("--out", type=Path, required=True, help="bag folder to create")
    parser.add_argument("--frames", type=positive_int, default=100, help="number of frames (100)")
    parser.add_argument("--fps", type=positive_finite_float, default=10.0, help="frame rate (10)")
    parser.add_argument(
        "--compressed", action="store_true", help="jpeg CompressedImage instead of raw bgr8"
    )
    parser.add_argument(
        "--format", choices=("mcap", "sqlite3"), default="mcap", help="storage (mcap)"
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="same seed, same drive (0)"
    )
    parser.add_argument(
        "--size",
        type=size_wh(MIN_SIDE),
        default=(360, 640),
        metavar="WxH",
        help="image size (640x360)",
    )
    parser.add_argument(
        "--dataset",
        type=Path,
        default=None,
        help="also write the frames as a HybridNets-layout dataset with project.yaml here",
    )
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default="drive",
        help="traffic: the sampled drive, a lead car braking ahead, or a car cutting in (drive)",
    )
    parser.add_argument(
        "--rig",
        default=None,
        metavar="CAMERAS|FILE.yaml",
        help="render the drive from several cameras: names of the built-in rig "
        "(front,front_left,front_right,rear) separated by commas, or a rig YAML file; "
        "topics /<camera>/image_raw, /<camera>/camera_info, /tf_static (default: one camera)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render the drive into the bag and say what was written."""
    from ..bag.synth import SynthTopics, write_synth_bag
    from ..bag.truth_topics import EGO_SIDES

    if args.rig is not None:
        return _run_rig(args)

    height, width = args.size
    write_synth_bag(
        args.out,
        args.frames,
        args.fps,
        seed=args.seed,
        size=(width, height),
        compressed=args.compressed,
        fmt=args.format,
        dataset=args.dataset,
        scenario=args.scenario,
    )
    topics = SynthTopics()
    print(
        f"wrote {args.frames} frames of {width}x{height} at {args.fps:g} Hz to {args.out} "
        f"({args.format}, {args.scenario}): {topics.image_topic(args.compressed)}, "
        f"{topics.camera_info}, {topics.tf}, {topics.odometry}, "
        f"{topics.gt_prefix}/{{detections,drivable_mask,lane_mask,objects,tracked_objects,"
        f"tracked_objects_relative,lead,ego_lane/{{{','.join(EGO_SIDES)}}},lane_lines}}"
    )
    if args.dataset is not None:
        print(f"wrote the same frames and labels to {args.dataset} (project.yaml inside)")
    return 0


def _run_rig(args: argparse.Namespace) -> int:
    """Render the drive from every camera of --rig into the bag and say what was written."""
    from ..bag.rig import TF_STATIC, parse_rig
    from ..bag.synth_rig import write_rig_bag

    if args.dataset is not None:
        raise ConfigError("--dataset writes one camera's frames; leave it out with --rig")
    cameras = parse_rig(args.rig)
    height, width = args.size
    write_rig_bag(
        args.out,
        cameras,
        args.frames,
        args.fps,
        seed=args.seed,
        size=(width, height),
        compressed=args.compressed,
        fmt=args.format,
        scenario=args.scenario,
    )
    suffix = "/compressed" if args.compressed else ""
    print(
        f"wrote {args.frames} frames of {width}x{height} at {args.fps:g} Hz from "
        f"{len(cameras)} cameras to {args.out} ({args.format}, {args.scenario}): "
        + ", ".join(f"{c.image_topic}{suffix}, {c.info_topic}" for c in cameras)
        + f", {TF_STATIC}, /ground_truth/<camera>/{{detections,drivable_mask,lane_mask}}, "
        "/ground_truth/{objects,tracked_objects,lead,ego_lane/*,lane_lines}"
    )
    return 0
