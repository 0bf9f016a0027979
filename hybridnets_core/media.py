"""Reading images and videos from disk with clear errors for bad files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import InputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"}


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file to BGR uint8, or raise InputError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"image {path} does not exist")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise InputError(f"cannot decode image {path}: the file is empty, corrupt or not an image")
    return image


@dataclass
class Frame:
    """One input frame: its name (file stem or video frame index) and BGR pixels."""

    name: str
    image: np.ndarray


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def is_video(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES


class VideoReader:
    """Iterate BGR frames of a video file; exposes fps, size and frame count."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.capture = cv2.VideoCapture(str(path))
        if not self.capture.isOpened():
            raise InputError(f"cannot open video {path}: unsupported codec or corrupt file")
        self.fps = self.capture.get(cv2.CAP_PROP_FPS) or 30.0
        self.frame_count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT))

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        try:
            while True:
                ok, image = self.capture.read()
                if not ok:
                    break
                yield Frame(f"{self.path.stem}_{index:06d}", image)
                index += 1
        finally:
            self.capture.release()


def source_images(source: Path) -> list[Path]:
    """Image files named by a file or folder source (videos are handled by VideoReader)."""
    if source.is_dir():
        images = list_images(source)
        if not images:
            raise InputError(
                f"folder {source} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        return images
    if source.is_file() and source.suffix.lower() in IMAGE_SUFFIXES:
        return [source]
    if not source.exists():
        raise InputError(f"source {source} does not exist")
    raise InputError(
        f"source {source} is neither an image, a folder of images nor a video "
        f"({', '.join(sorted(VIDEO_SUFFIXES))})"
    )
