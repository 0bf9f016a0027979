"""`hybridnets bag-eval`: replay a camera bag through the Pipeline, write the node's outputs as a
bag, score against labels like `hybridnets val`, and report."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import ModelConfig
from ..data import ProjectConfig, load_project
from ..errors import ConfigError, DatasetError
from ..evaluation import format_summary
from ..ground import CameraPose, GridSpec
from ..pipeline import MASK_RESOLUTIONS, Pipeline
from .options import add_model_options, scoring_pipeline, size_wh

if TYPE_CHECKING:
    from ..bag.reader import BagReader
    from ..bag.replay import ReplayOptions, ReplayResult

OUTPUT_BAG = "bag"  # the output bag's folder inside --out


def floats(count: int, what: str) -> Callable[[str], tuple[float, ...]]:
    """argparse type: `count` comma-separated numbers."""

    def parse(text: str) -> tuple[float, ...]:
        try:
            values = tuple(float(v) for v in text.split(","))
        except ValueError:
            values = ()
        if len(values) != count:
            raise argparse.ArgumentTypeError(f"expected {count} comma-separated numbers: {what}")
        return values

    return parse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `bag-eval` subcommand."""
    parser = subparsers.add_parser(
        "bag-eval",
        help="run a recorded camera bag through the perception; output bag, metrics, report",
    )
    parser.add_argument("--bag", type=Path, required=True, help="input bag folder or .mcap/.db3")
    parser.add_argument("--topic", required=True, help="Image or CompressedImage topic")
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
    parser.add_argument("--batch-size", type=int, default=4, help="frames per forward pass (4)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--half", action="store_true", help="fp16 inference (CUDA/TensorRT only)")
    parser.add_argument(
        "--input-size",
        type=size_wh,
        default=None,
        metavar="WxH",
        help="network input (default: the project's, else the checkpoint's or export's)",
    )
    node = parser.add_argument_group("outputs, as the node's parameters")
    node.add_argument("--conf", type=float, default=0.25, help="conf_threshold (0.25)")
    node.add_argument("--iou", type=float, default=0.3, help="iou_threshold (0.3)")
    node.add_argument("--max-det", type=int, default=100, help="max_detections (100)")
    node.add_argument(
        "--mask-resolution", choices=MASK_RESOLUTIONS, default="source", help="(source)"
    )
    node.add_argument("--node", default="/hybridnets_node", help="output topic prefix")
    node.add_argument(
        "--camera-info",
        default=None,
        help="CameraInfo topic (default: camera_info beside --topic, if present)",
    )
    node.add_argument(
        "--intrinsics",
        type=floats(4, "fx,fy,cx,cy"),
        default=None,
        metavar="FX,FY,CX,CY",
        help="used while no valid camera_info was seen",
    )
    node.add_argument(
        "--camera-pose",
        type=floats(6, "x,y,z,roll,pitch,yaw"),
        default=(0.0, 0.0, 1.5, 0.0, 0.0, 0.0),
        metavar="X,Y,Z,R,P,Y",
        help="camera in grid_frame, m and rad (0,0,1.5,0,0,0)",
    )
    node.add_argument(
        "--grid",
        type=floats(5, "x_min,x_max,y_min,y_max,resolution"),
        default=(0.0, 40.0, -10.0, 10.0, 0.2),
        metavar="X0,X1,Y0,Y1,RES",
        help="grid extent and cell size in m (0,40,-10,10,0.2)",
    )
    node.add_argument("--grid-frame", default="base_link", help="grid_frame (base_link)")
    live = parser.add_argument_group("live replay into a running hybridnets_node (needs rclpy)")
    live.add_argument(
        "--live",
        action="store_true",
        help="publish the bag over ROS topics to the running node and record its outputs",
    )
    live.add_argument("--rate", type=float, default=1.0, help="playback speed factor (1)")
    live.add_argument(
        "--publish-as",
        action="append",
        default=[],
        metavar="BAG_TOPIC:=ROS_TOPIC",
        help="publish a bag topic under another name (repeatable)",
    )
    live.add_argument(
        "--settle", type=float, default=5.0, help="s to wait for outputs after the last frame"
    )
    scoring = parser.add_argument_group("metrics, as `hybridnets val`")
    scoring.add_argument("--eval-conf", type=float, default=0.001, help="score threshold (0.001)")
    scoring.add_argument("--eval-iou", type=float, default=0.6, help="NMS IoU threshold (0.6)")
    scoring.add_argument("--eval-max-det", type=int, default=100, help="detections per image")
    parser.set_defaults(func=run)


def _project(args: argparse.Namespace) -> ProjectConfig | None:
    """The project naming classes and label folders: -p, else the label folder's own."""
    from ..bag.labels import labels_project

    if args.labels is not None:
        return labels_project(args.labels, args.project)
    return load_project(args.project) if args.project else None


def _pipelines(
    args: argparse.Namespace, project: ProjectConfig | None
) -> tuple[Pipeline, Pipeline]:
    """The node-like pipeline for the outputs and val's scorer sharing its runtime; with a
    project its classes, anchors and image size apply, as in `hybridnets val`."""
    pipeline = scoring_pipeline(
        args.weights,
        args.backend,
        project,
        args.input_size,
        device=args.device,
        half=args.half,
        conf_threshold=args.conf,
        iou_threshold=args.iou,
        max_detections=args.max_det,
        mask_resolution=args.mask_resolution,
    )
    scorer = Pipeline(
        pipeline.runtime,
        pipeline.config,
        conf_threshold=args.eval_conf,
        iou_threshold=args.eval_iou,
        max_detections=args.eval_max_det,
        mask_resolution="network",
    )
    return pipeline, scorer


def _node_settings(args: argparse.Namespace, config: ModelConfig) -> dict[str, Any]:
    """The output settings recorded with the published-output metrics."""
    return {
        "conf_threshold": args.conf,
        "iou_threshold": args.iou,
        "max_detections": args.max_det,
        "input_size": list(config.input_size),
    }


def _options(args: argparse.Namespace) -> ReplayOptions:
    """Replay settings from the node-like options."""
    from ..bag.outputs import GroundSettings
    from ..bag.replay import ReplayOptions

    x0, x1, y0, y1, resolution = args.grid
    ground = GroundSettings(
        args.grid_frame, CameraPose(*args.camera_pose), GridSpec(x0, x1, y0, y1, resolution)
    )
    return ReplayOptions(
        image_topic=args.topic,
        camera_info=args.camera_info,
        fallback_intrinsics=args.intrinsics,
        ground=ground,
        node=args.node,
        batch_size=args.batch_size,
        fmt=args.format,
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


def _run_live(args: argparse.Namespace, bag: BagReader) -> ReplayResult:
    """Play into the running node and record it; ConfigError when ROS is not installed."""
    try:
        from hybridnets_ros.bag_live import LiveOptions, play_and_record
    except ImportError as exc:
        raise ConfigError(
            f"--live needs ROS 2 (rclpy and vision_msgs): {exc}; source your ROS install or "
            "run scripts/setup_ros.sh"
        ) from None
    options = LiveOptions(
        image_topic=args.topic,
        node=args.node,
        camera_info=args.camera_info,
        publish_as=_renames(args.publish_as),
        rate=args.rate,
        settle_s=args.settle,
        fmt=args.format,
    )
    return play_and_record(bag, args.out / OUTPUT_BAG, options)


def run(args: argparse.Namespace) -> int:
    """Replay (offline or live), write the output bag and the report, print the headlines."""
    from ..bag.labels import FolderLabels, TopicLabels, default_project
    from ..bag.output_metrics import score_output_bag
    from ..bag.reader import BagReader
    from ..bag.replay import replay_bag
    from ..bag.report import write_bag_report

    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"--out {args.out} is a file; pass a folder for the report")
    project = _project(args)
    pipeline, scorer = _pipelines(args, project)
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
                bag, pipeline, args.out / OUTPUT_BAG, _options(args), labels, scorer
            )
    published = None
    if labels is not None and (args.live or args.mask_resolution == "source"):
        frames = {record.stamp_ns: record.index for record in result.frames}
        published = score_output_bag(
            result.output, args.node, config, labels, frames, _node_settings(args, config)
        )
    written = write_bag_report(result, config.obj_list, args.out, published)
    print(
        f"{len(result.frames)} frames in {result.wall_s:.1f} s, {len(result.skipped)} skipped; "
        f"outputs in {result.output}"
    )
    for path in written:
        print(f"wrote {path}")
    for title, evaluation in (("val protocol", result.evaluation), ("published", published)):
        if evaluation is not None:
            print(f"[{title}]\n{format_summary(evaluation)}")
    if labels is not None and result.evaluation is None and published is None:
        raise DatasetError(
            f"no frame of {args.topic} has labels in {labels.description} (looked up by frame "
            "index 000000/0 and header stamp in ns); outputs and report were written"
        )
    return 0
