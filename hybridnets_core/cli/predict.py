"""`hybridnets predict`: overlays, JSON detections and mask PNGs for images, folders or videos."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..errors import InputError
from ..fileio import write_image, write_json
from ..inference.pipeline import Pipeline
from ..inference.results import FrameResult
from ..media import VideoReader, is_video, read_image, source_images
from ..outputs.overlay import draw_overlay
from .options import add_pipeline_options, pipeline_from_args


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="run the network on images, a folder or a video and save overlays + JSON",
        description="Writes <name>.jpg overlays, <name>.json detections and <name>_<class>.png "
        "masks per image; for a video, <name>_overlay.mp4 and <name>.jsonl (one line a frame).",
    )
    parser.add_argument("--source", type=Path, required=True, help="image, folder or video")
    parser.add_argument("--output", type=Path, default=Path("predictions"), help="output folder")
    add_pipeline_options(parser)
    parser.set_defaults(func=run)


def save_image_outputs(out_dir: Path, name: str, image: np.ndarray, result: FrameResult) -> None:
    """Overlay JPEG, detections JSON and one 0/255 PNG per segmentation class."""
    write_image(out_dir / f"{name}.jpg", draw_overlay(image, result))
    write_json(out_dir / f"{name}.json", {"name": name, **result.to_dict()})
    for seg_name, mask in result.masks.items():
        write_image(out_dir / f"{name}_{seg_name.replace(' ', '_')}.png", mask.view(np.uint8) * 255)


def predict_images(pipeline: Pipeline, paths: list[Path], out_dir: Path) -> int:
    """Process image files one by one; unreadable files are reported and skipped."""
    failures = 0
    for path in tqdm(paths, desc="predict", unit="img"):
        try:
            image = read_image(path)
        except InputError as exc:
            tqdm.write(f"skipped: {exc}", file=sys.stderr)
            failures += 1
            continue
        save_image_outputs(out_dir, path.stem, image, pipeline(image, color="bgr"))
    return failures


def predict_video(pipeline: Pipeline, path: Path, out_dir: Path) -> None:
    """Overlay video plus one JSON line of detections per frame (written under temp names)."""
    reader = VideoReader(path)
    video_path = out_dir / f"{path.stem}_overlay.mp4"
    lines_path = out_dir / f"{path.stem}.jsonl"
    partial_video = video_path.with_name(f".{video_path.name}.part.mp4")
    partial_lines = lines_path.with_name(f".{lines_path.name}.part")
    writer = None
    try:
        with partial_lines.open("w") as lines:
            for frame in tqdm(
                reader, total=reader.frame_count or None, desc="predict", unit="frame"
            ):
                result = pipeline(frame.image, color="bgr")
                if writer is None:
                    height, width = frame.image.shape[:2]
                    fourcc = cv2.VideoWriter_fourcc(*"mp4v")
                    writer = cv2.VideoWriter(
                        str(partial_video), fourcc, reader.fps, (width, height)
                    )
                writer.write(draw_overlay(frame.image, result))
                lines.write(json.dumps({"name": frame.name, **result.to_dict()}) + "\n")
        if writer is None:
            raise InputError(f"video {path} has no readable frames")
        writer.release()
        partial_video.replace(video_path)
        partial_lines.replace(lines_path)
    finally:
        if writer is not None:
            writer.release()
        for leftover in (partial_video, partial_lines):
            leftover.unlink(missing_ok=True)


def run(args: argparse.Namespace) -> int:
    source: Path = args.source
    if not source.exists():
        raise InputError(f"source {source} does not exist")
    paths = [] if is_video(source) else source_images(source)
    pipeline = pipeline_from_args(args)
    args.output.mkdir(parents=True, exist_ok=True)
    if is_video(source):
        predict_video(pipeline, source, args.output)
        print(f"wrote {args.output}/{source.stem}_overlay.mp4 and {source.stem}.jsonl")
        return 0
    failures = predict_images(pipeline, paths, args.output)
    print(f"wrote results for {len(paths) - failures} of {len(paths)} images to {args.output}")
    return 1 if failures else 0
