"""`hybridnets bag-from-images`: a folder of images or a video as a camera bag with camera_info,
so bag-eval (without labels) and live replay run on one's own frames.

Topics follow synth-bag: the images on `topic` (raw bgr8) or `topic/compressed` (jpeg), and
one camera_info per frame on the sibling `camera_info` topic, logged just before its image
with the same stamp, as the node and bag-eval pair them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..errors import ConfigError, InputError
from ..media import IMAGE_SUFFIXES, VideoReader, list_images, read_image
from ..outputs import messages
from .calibration import DEFAULT_HFOV_DEG, Calibration, guess_from_fov
from .replay import camera_info_topic
from .synth import CAMERA_FRAME, JPEG_QUALITY, START_NS, encode_image
from .typestore import RosbagsFactory
from .writer import BagWriter

IMAGES_FPS = 10.0  # a folder of images has no rate of its own
JPEG_SUFFIXES = {".jpg", ".jpeg"}


@dataclass(frozen=True)
class SourceFrame:
    """One input frame: where it came from (for errors), its BGR pixels and, for a jpeg file,
    the file's own bytes (a compressed bag keeps them as they are)."""

    name: str
    image: np.ndarray
    jpeg: bytes | None = None


@dataclass(frozen=True)
class BagSummary:
    """What was written: frame count and size, and the two topics."""

    frames: int
    width: int
    height: int
    image_topic: str
    camera_info_topic: str
    guessed_hfov_deg: float | None  # the field of view of a guessed camera_info, else None


def folder_frames(folder: Path, keep_jpeg: bool = False) -> Iterator[SourceFrame]:
    """The images of `folder` in file-name order; InputError for a missing or empty folder and
    for a file that does not decode."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"--images {folder} is not a folder; pass a folder of images or --video")
    files = list_images(folder)
    if not files:
        raise InputError(f"folder {folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    for path in files:
        image = read_image(path)
        jpeg = path.read_bytes() if keep_jpeg and path.suffix.lower() in JPEG_SUFFIXES else None
        yield SourceFrame(str(path), image, jpeg)


def open_video(path: Path) -> VideoReader:
    """A video opened for reading (its rate is `.fps`); InputError when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"video {path} does not exist; pass a video file or --images")
    return VideoReader(path)


def video_frames(video: VideoReader) -> Iterator[SourceFrame]:
    """The frames of an open video; InputError when it has none."""
    index = -1
    for index, frame in enumerate(video):
        yield SourceFrame(f"{video.path} frame {index}", frame.image)
    if index < 0:
        raise InputError(f"video {video.path} holds no frames OpenCV can decode")


def write_image_bag(
    out: Path,
    frames: Iterable[SourceFrame],
    fps: float,
    calibration: Calibration | None = None,
    hfov_deg: float | None = None,
    topic: str = "/camera/image_raw",
    frame_id: str = CAMERA_FRAME,
    compressed: bool = False,
    fmt: str = "mcap",
    start_ns: int = START_NS,
) -> BagSummary:
    """Write `frames` at `fps` from `start_ns` into a new bag at `out`, each with a camera_info:
    `calibration`, or else a pinhole guessed from `hfov_deg` (default DEFAULT_HFOV_DEG). All
    frames must share one size (the calibration's); on any error nothing is left at `out`."""
    if not fps > 0 or not np.isfinite(fps):
        raise ConfigError(f"--fps must be a positive number, got {fps:g}")
    if not topic.startswith("/") or topic.endswith("/"):
        raise ConfigError(
            f"--topic must be an absolute topic name such as /camera/image_raw, got {topic!r}"
        )
    image_topic = f"{topic}/compressed" if compressed else topic
    info_topic = camera_info_topic(topic)
    factory = RosbagsFactory()
    guessed = None if calibration else (DEFAULT_HFOV_DEG if hfov_deg is None else hfov_deg)
    first: SourceFrame | None = None
    count = 0
    with BagWriter(out, fmt) as bag:
        for index, frame in enumerate(tqdm(frames, desc="bag-from-images", unit="frame")):
            height, width = frame.image.shape[:2]
            if first is None:
                first = frame
                calibration = calibration_for(calibration, guessed, frame)
            elif frame.image.shape != first.image.shape:
                size = first.image.shape[1::-1]
                raise InputError(
                    f"{frame.name} is {width}x{height} but {first.name} is {size[0]}x{size[1]}; "
                    "a bag's frames share one size: resize them or write separate bags"
                )
            stamp = start_ns + round(index * messages.NS_PER_S / fps)
            header = messages.header(factory, stamp, frame_id)
            bag.write(info_topic, messages.CAMERA_INFO, stamp, calibration.message(factory, header))
            if compressed:
                jpeg = frame.jpeg or encode_image(
                    ".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
                )
                msg = messages.compressed_image(factory, jpeg, "jpeg", header)
                bag.write(image_topic, messages.COMPRESSED_IMAGE, stamp, msg)
            else:
                msg = messages.image(factory, frame.image, "bgr8", header)
                bag.write(image_topic, messages.IMAGE, stamp, msg)
            count += 1
        if first is None:
            raise InputError("no frames to write; pass a folder of images or a video")
    height, width = first.image.shape[:2]
    return BagSummary(count, width, height, image_topic, info_topic, guessed)


def calibration_for(
    calibration: Calibration | None, hfov_deg: float | None, frame: SourceFrame
) -> Calibration:
    """The given calibration, checked against the frame's size, or else the pinhole guess of
    `hfov_deg` for it."""
    height, width = frame.image.shape[:2]
    name = frame.name
    if calibration is None:
        return guess_from_fov(width, height, DEFAULT_HFOV_DEG if hfov_deg is None else hfov_deg)
    if (calibration.width, calibration.height) != (width, height):
        raise InputError(
            f"the camera_info is for {calibration.width}x{calibration.height} images but "
            f"{name} is {width}x{height}; pass the calibration of this camera at this size"
        )
    return calibration
