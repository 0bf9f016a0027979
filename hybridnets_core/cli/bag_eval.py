"""`hybridnets bag-eval`: replay a camera bag through the Pipeline, write the node's outputs as a
bag, score against labels like `hybridnets val`, and report."""

from __future__ import annotations

import argparse
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from ..data import ProjectConfig, load_project
from ..errors import ConfigError, DatasetError
from ..evaluation import detection_record, format_summary
from ..fileio import discard_unfinished, folder_lock
from ..inference.pipeline import Pipeline
from ..runtime.threads import AUTO
from ..scene.calibration_check import CalibrationCheckSettings
from ..settings import EVALUATION_DETECTION, DetectionSettings
from .arg_types import non_negative_finite_float, positive_finite_float, positive_int
from .options import (
    add_detection_options,
    add_device_options,
    add_input_size_option,
    add_model_options,
    add_thread_options,
    detection_from_args,
    scoring_pipeline,
    threads_from_args,
)
from .output_options import (
    add_output_options,
    changed_output_flags,
    output_settings_from_args,
)
from .val import add_protocol_option

EVAL_FLAGS = ("--eval-conf", "--eval-iou", "--eval-max-det")

if TYPE_CHECKING:
    from ..bag.agreement import ReferenceRun
    from ..bag.reader import BagReader
    from ..bag.replay import ReplayOptions, ReplayResult

# --live plays into a running node: that needs rclpy, so its implementation is part of the ROS
# package, which builds on this one; the core looks it up by name only when --live is given.
LIVE_REPLAY = "hybridnets_ros.bag_live"
OUTPUT_BAG = "bag"  # the output bag's folder inside --out
DEFAULT_BATCH_SIZE = 4
REPORT_DONE = "report.md"  # written last: without it, an output bag is a killed run's
WHOLE_BAG = 100_000  # the pose check's window in frames: every frame of a bag is pooled


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `bag-eval` subcommand."""
    parser = subparsers.add_parser(
        "bag-eval",
        help="run a recorded camera bag through the perception; output bag, metrics, report",
    )
    parser.add_argument("--bag", type=Path, required=True, help="input bag folder or .mcap/.db3")
    parser.add_argument(
        "--topic",
        action="append",
        default=[],
        help="Image or CompressedImage topic; once per camera for a camera rig",
    )
    parser.add_argument(
        "--rig",
        action="store_true",
        help="replay every camera of the bag (/<camera>/image_raw beside /<camera>/camera_info, "
        "poses from /tf_static) as the node's camera rig: fused objects and surround grid",
    )
    parser.add_argument("--out", type=Path, required=True, help="report folder (bag inside)")
    add_model_options(parser)
    parser.add_argument(
        "--format", choices=("mcap", "sqlite3"), default="mcap", help="output bag storage (mcap)"
    )
    parser.add_argument(
        "--labels",
        type=Path,
        default=None,
        help="HybridNets-layout label folder, files named by frame index or "
        "stamp (ns); default: <gt-prefix>/* topics when the bag has them",
    )
    parser.add_argument(
        "-p",
        "--project",
        type=Path,
        default=None,
        help="project YAML: classes (obj_combine) and label folders "
        "(default: <labels>/project.yaml, else the checkpoint's classes)",
    )
    parser.add_argument("--gt-prefix", default="/ground_truth", help="ground-truth topic prefix")
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=DEFAULT_BATCH_SIZE,
        help=f"frames per forward pass ({DEFAULT_BATCH_SIZE}; offline only)",
    )
    add_device_options(parser)
    add_thread_options(parser)
    add_input_size_option(parser, "the project's, else the checkpoint's or export's")
    node = parser.add_argument_group(
        "outputs of the offline replay, as the node's parameters (with --live, the node's own)"
    )
    add_detection_options(node)
    add_output_options(node)
    node.add_argument("--node", default="/hybridnets_node", help="output topic prefix")
    node.add_argument(
        "--camera-info",
        default=None,
        help="CameraInfo topic (default: camera_info beside --topic, if present)",
    )
    live = parser.add_argument_group("live replay into a running hybridnets_node (needs rclpy)")
    live.add_argument(
        "--live",
        action="store_true",
        help="publish the bag over ROS topics to the running node and record its outputs",
    )
    live.add_argument(
        "--rate", type=positive_finite_float, default=1.0, help="playback speed factor (1)"
    )
    live.add_argument(
        "--publish-as",
        action="append",
        default=[],
        metavar="BAG_TOPIC:=ROS_TOPIC",
        help="publish a bag topic under another name (repeatable)",
    )
    live.add_argument(
        "--settle",
        type=non_negative_finite_float,
        default=5.0,
        help="s to wait for outputs after the last frame",
    )
    add_reference_option(parser)
    scoring = parser.add_argument_group("metrics, as `hybridnets val`")
    add_protocol_option(scoring)
    add_detection_options(scoring, EVAL_FLAGS, defaults=None, dest_prefix="eval_")
    add_calibration_options(parser)
    parser.set_defaults(func=run)


def add_reference_option(parser: argparse.ArgumentParser) -> None:
    """--reference: a second model as pseudo-truth for the first (no labels needed)."""
    parser.add_argument(
        "--reference",
        default=None,
        metavar="WEIGHTS",
        help="compare -w with this model (checkpoint, or .onnx export) on the same frames, "
        "its outputs as truth: report.json agreement.*",
    )


def _reference(args: argparse.Namespace, candidate: Pipeline) -> ReferenceRun | None:
    """The reference model's run beside the replay: a .onnx on ONNX Runtime, else a checkpoint
    at the candidate's input size; the candidate's thresholds and mask resolution."""
    if args.reference is None:
        return None
    if args.live:
        raise ConfigError("--reference compares two models offline; leave out --live")
    from ..bag.agreement import ReferenceRun

    onnx = str(args.reference).lower().endswith(".onnx")
    pipeline = Pipeline.from_weights(
        args.reference,
        backend="onnxruntime" if onnx else "torch",
        device=args.device,
        detection=candidate.detection,
        mask_resolution=candidate.mask_resolution,
        input_size=None if onnx else candidate.input_size,
        threads=threads_from_args(args),
    )
    settings = output_settings_from_args(args)
    return ReferenceRun(pipeline, settings, candidate.class_names, str(args.reference))


def add_calibration_options(parser: argparse.ArgumentParser) -> None:
    """The camera pose check's lane width and frames; the pose checked is --camera-pose."""
    check = parser.add_argument_group(
        "camera pose check from the ego lane (calibration.* in the report; checks --camera-pose)"
    )
    defaults = CalibrationCheckSettings()
    check.add_argument(
        "--calibration-lane-width",
        type=non_negative_finite_float,
        default=defaults.lane_width_m,
        help=f"the real ego lane width (m) for the height estimate; 0: unknown "
        f"({defaults.lane_width_m:g})",
    )
    check.add_argument(
        "--calibration-min-frames",
        type=positive_int,
        default=defaults.min_frames,
        help=f"frame estimates before problems are reported ({defaults.min_frames})",
    )


def _project(args: argparse.Namespace) -> ProjectConfig | None:
    """The project naming classes and label folders: -p, else the label folder's own."""
    from ..bag.labels import labels_project

    if args.labels is not None:
        return labels_project(args.labels, args.project)
    return load_project(args.project) if args.project else None


def _pipeline(args: argparse.Namespace, project: ProjectConfig | None) -> Pipeline:
    """The node-like pipeline for the outputs, with val's thresholds as its scoring set; with
    a project its classes, anchors and image size apply, as in `hybridnets val`."""
    scoring = detection_from_args(args, EVALUATION_DETECTION[args.protocol], "eval_")
    return scoring_pipeline(
        args.weights,
        args.backend,
        project,
        args.input_size,
        device=args.device,
        half=args.half,
        detection=detection_from_args(args),
        mask_resolution=args.mask_resolution,
        scoring=scoring,
        threads=threads_from_args(args),
    )


def _options(args: argparse.Namespace) -> ReplayOptions:
    """Replay settings from the node-like options."""
    from ..bag.replay import ReplayOptions

    return ReplayOptions(
        image_topic=args.topic,
        camera_info=args.camera_info,
        outputs=output_settings_from_args(args),
        node=args.node,
        batch_size=args.batch_size,
        fmt=args.format,
        gt_prefix=args.gt_prefix,
        calibration=CalibrationCheckSettings(
            lane_width_m=args.calibration_lane_width,
            min_frames=args.calibration_min_frames,
            window=WHOLE_BAG,
            every_n_frames=1,
        ),
    )


def _renames(pairs: list[str]) -> dict[str, str]:
    """--publish-as BAG:=ROS pairs as a mapping."""
    renames = {}
    for pair in pairs:
        source, sep, target = pair.partition(":=")
        if not (sep and source and target):
            raise ConfigError(f"--publish-as expects BAG_TOPIC:=ROS_TOPIC, got {pair!r}")
        renames[source] = target
    return renames


def _refuse_node_flags(args: argparse.Namespace) -> None:
    """--live records what the running node publishes under its own parameters: ConfigError
    naming the flags given for the offline replay's outputs, which would not apply."""
    given = changed_output_flags(args)
    if detection_from_args(args) != DetectionSettings():
        given.append("--conf/--iou/--max-det")
    if args.batch_size != DEFAULT_BATCH_SIZE:
        given.append("--batch-size")
    if args.threads != AUTO or args.thread_spin:
        given.append("--threads/--thread-spin")
    if given:
        raise ConfigError(
            f"{', '.join(given)} set the offline replay's outputs; with --live the running "
            "node's parameters apply (ros2 param set on the node, or leave them out)"
        )


def _run_live(args: argparse.Namespace, bag: BagReader) -> ReplayResult:
    """Play into the running node and record it; ConfigError when ROS is not installed."""
    try:
        live = import_module(LIVE_REPLAY)
    except ImportError as exc:
        raise ConfigError(
            f"--live needs ROS 2 (rclpy and vision_msgs): {exc}; source your ROS install or "
            "run scripts/setup_ros.sh"
        ) from None
    options = live.LiveOptions(
        image_topic=args.topic,
        node=args.node,
        camera_info=args.camera_info,
        publish_as=_renames(args.publish_as),
        rate=args.rate,
        settle_s=args.settle,
        fmt=args.format,
    )
    return live.play_and_record(bag, args.out / OUTPUT_BAG, options)


def run(args: argparse.Namespace) -> int:
    """Replay (offline or live), write the output bag and the report, print the headlines."""
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"--out {args.out} is a file; pass a folder for the report")
    rig = args.rig or len(args.topic) > 1
    if not rig:
        if not args.topic:
            raise ConfigError("bag-eval needs --topic (the camera's image topic), or --rig")
        args.topic = args.topic[0]
    with folder_lock(args.out):
        if discard_unfinished(args.out / OUTPUT_BAG, args.out / REPORT_DONE):
            print(f"removed {args.out / OUTPUT_BAG}: an interrupted run left it without a report")
        if rig:
            _evaluate_rig(args)
        else:
            _evaluate(args)
    return 0


def _evaluate_rig(args: argparse.Namespace) -> None:
    """Replay every camera of the rig, fused as the node fuses them, and report."""
    from ..bag.reader import BagReader
    from ..bag.rig_replay import RigReplayOptions, replay_rig, rig_image_topics
    from ..bag.rig_report import write_rig_report

    if args.live or args.labels is not None:
        raise ConfigError(
            "--live and --labels replay one camera; leave them out with --rig or several --topic"
        )
    pipeline = _pipeline(args, _project(args))
    with BagReader(args.bag) as bag:
        topics = args.topic or rig_image_topics(bag)
        options = RigReplayOptions(
            image_topics=topics,
            outputs=output_settings_from_args(args),
            node=args.node,
            fmt=args.format,
            gt_prefix=args.gt_prefix,
        )
        result = replay_rig(bag, pipeline, args.out / OUTPUT_BAG, options)
    written = write_rig_report(result, args.out, REPORT_DONE)
    print(
        f"{result.frames} frames of {len(result.cameras)} cameras in {result.wall_s:.1f} s; "
        f"outputs in {result.output}"
    )
    for path in written:
        print(f"wrote {path}")
    if result.metrics is not None:
        summary = result.metrics.summary()
        fusion, tracking = summary["fusion"], summary["tracking"]
        print(
            f"duplicates/frame {fusion['duplicates_per_frame']}, cross-camera id consistency "
            f"{fusion['cross_camera_id_consistency']}, fused IDF1 {tracking['idf1']} "
            f"(observed this frame {tracking['idf1_observed']}) "
            f"(per camera {tracking['idf1_per_camera']}), grid IoU {summary['grid']['iou']}"
        )


def _evaluate(args: argparse.Namespace) -> None:
    """The replay and report, with the output folder locked against concurrent runs."""
    from ..bag.labels import FolderLabels, TopicLabels, default_project
    from ..bag.output_metrics import score_output_bag
    from ..bag.reader import BagReader
    from ..bag.replay import replay_bag
    from ..bag.report import write_bag_report

    if args.live:
        _refuse_node_flags(args)
    project = _project(args)
    pipeline = _pipeline(args, project)
    reference = _reference(args, pipeline)
    config = pipeline.config
    with BagReader(args.bag) as bag:
        labels = None
        if args.labels is not None:
            labels = FolderLabels(args.labels, project or default_project(config, args.labels))
        elif TopicLabels.present(bag, args.gt_prefix):
            labels = TopicLabels(
                bag, args.gt_prefix, project or default_project(config), config.input_size
            )
        if args.live:
            result = _run_live(args, bag)
        else:
            result = replay_bag(
                bag,
                pipeline,
                args.out / OUTPUT_BAG,
                _options(args),
                labels,
                protocol=args.protocol,
                reference=reference,
            )
    published = None
    if labels is not None and (args.live or args.mask_resolution == "source"):
        frames = {record.stamp_ns: record.index for record in result.frames}
        published = score_output_bag(
            result.output,
            args.node,
            config,
            labels,
            frames,
            detection_record(result.node_detection or pipeline.detection, pipeline.input_size),
            args.protocol,
        )
    written = write_bag_report(result, config.obj_list, args.out, published)
    print(
        f"{len(result.frames)} frames in {result.wall_s:.1f} s, {len(result.skipped)} skipped; "
        f"outputs in {result.output}"
    )
    for path in written:
        print(f"wrote {path}")
    if result.agreement is not None:
        print(_agreement_line(result.agreement.summary()))
    for title, evaluation in (("val protocol", result.evaluation), ("published", published)):
        if evaluation is not None:
            print(f"[{title}]\n{format_summary(evaluation)}")
    if labels is not None and result.evaluation is None and published is None:
        raise DatasetError(
            f"no frame of {args.topic} has labels in {labels.description} (looked up by frame "
            "index 000000/0 and header stamp in ns); outputs and report were written"
        )


def _agreement_line(agreement: dict) -> str:
    """One line of the headline agreement numbers."""
    det = agreement["detection"]
    return (
        f"agreement with {agreement['reference']}: score {agreement['score']}, detection F1 "
        f"{det['f1']} (P {det['precision']}, R {det['recall']}, mAP50 {det['mAP50']}), "
        f"drivable IoU {agreement['drivable_iou']}, lane IoU {agreement['lane_iou']}"
    )
