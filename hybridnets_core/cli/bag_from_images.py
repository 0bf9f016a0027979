"""`hybridnets bag-from-images`: a folder of images or a video as a rosbag2 with camera_info."""

from __future__ import annotations

import argparse
from pathlib import Path

from .arg_types import float_range, non_negative_finite_float, positive_finite_float

START_S = 1_700_000_000.0  # synth-bag's fixed epoch: same frames, same bag


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `bag-from-images` subcommand."""
    parser = subparsers.add_parser(
        "bag-from-images",
        help="write a folder of images or a video as a camera bag with camera_info",
        description="Write frames as a rosbag2 with a camera_info per frame, for bag-eval "
        "(with or without labels) and live replay into the node.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--images", type=Path, help="folder of images (jpg, png, ...), taken in file-name order"
    )
    source.add_argument("--video", type=Path, help="video file, read with OpenCV")
    parser.add_argument("--out", type=Path, required=True, help="bag folder to create")
    parser.add_argument(
        "--fps",
        type=positive_finite_float,
        default=None,
        help="frame rate of the stamps (10 for images, the video's own for a video)",
    )
    parser.add_argument(
        "--start",
        type=non_negative_finite_float,
        default=START_S,
        help=f"stamp of the first frame in seconds ({START_S:.0f})",
    )
    parser.add_argument(
        "--topic", default="/camera/image_raw", help="image topic (/camera/image_raw); "
        "camera_info goes to the sibling camera_info topic (/camera/camera_info)",
    )  # fmt: skip
    parser.add_argument("--frame-id", default="camera", help="header frame_id (camera)")
    parser.add_argument(
        "--compressed",
        action="store_true",
        help="jpeg CompressedImage on TOPIC/compressed instead of raw bgr8 (jpeg files are "
        "stored as they are)",
    )
    parser.add_argument(
        "--format", choices=("mcap", "sqlite3"), default="mcap", help="storage (mcap)"
    )
    calibration = parser.add_mutually_exclusive_group()
    calibration.add_argument(
        "--camera-info",
        type=Path,
        default=None,
        help="camera calibration YAML as ROS camera_calibration writes it (image_width, "
        "camera_matrix, distortion_model, ...); its size must be the frames'",
    )
    calibration.add_argument(
        "--hfov",
        type=float_range(0.0, 180.0, above_minimum=True),
        default=None,
        help="without --camera-info: horizontal field of view in degrees of a pinhole guess "
        "with the principal point at the centre (65); only for trying things out, the ground "
        "outputs need the real calibration",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read the frames into the bag and say what was written."""
    from ..bag.calibration import read_camera_yaml
    from ..bag.from_images import (
        IMAGES_FPS,
        folder_frames,
        open_video,
        video_frames,
        write_image_bag,
    )
    from ..outputs.messages import NS_PER_S

    calibration = None if args.camera_info is None else read_camera_yaml(args.camera_info)
    if args.images is not None:
        frames, fps = folder_frames(args.images, keep_jpeg=args.compressed), IMAGES_FPS
    else:
        video = open_video(args.video)
        frames, fps = video_frames(video), video.fps
    fps = args.fps or fps
    summary = write_image_bag(
        args.out,
        frames,
        fps,
        calibration=calibration,
        hfov_deg=args.hfov,
        topic=args.topic,
        frame_id=args.frame_id,
        compressed=args.compressed,
        fmt=args.format,
        start_ns=round(args.start * NS_PER_S),
    )
    guess = summary.guessed_hfov_deg
    print(
        f"wrote {summary.frames} frames of {summary.width}x{summary.height} at {fps:g} Hz to "
        f"{args.out} ({args.format}): {summary.image_topic}, {summary.camera_info_topic}"
        + ("" if guess is None else f" (a pinhole guess: {guess:g} deg horizontal field of view)")
    )
    return 0
