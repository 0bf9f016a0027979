"""Writes synthetic scenes as a HybridNets/BDD100K-layout dataset, optionally in parallel."""

from __future__ import annotations

import json
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..errors import ConfigError, OutputError
from ..fileio import remove_stale, write_bytes_atomic
from ..limits import MAX_IMAGE_SIDE
from .scene import Scene, render_scene

SPLITS = ("train", "val")
IMAGE_DIR, DET_DIR, DRIVABLE_DIR, LANE_DIR = "imgs", "det_annot", "da_seg_annot", "ll_seg_annot"
JPEG_QUALITY = 90
MIN_SIDE = 32
MANIFEST = "synth.json"  # seed and size a folder was generated with


def frame_stem(split: str, index: int) -> str:
    """File stem shared by an image and its labels."""
    return f"{split}_{index:06d}"


def frame_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """Generator for one frame, independent of how many frames are made or by which worker."""
    return np.random.default_rng([seed, SPLITS.index(split), index])


def bdd_record(stem: str, scene: Scene) -> dict:
    """The BDD100K per-image detection record of a scene."""
    objects = [
        {
            "category": box.category,
            "id": i,
            "box2d": {"x1": box.x1, "y1": box.y1, "x2": box.x2, "y2": box.y2},
        }
        for i, box in enumerate(scene.boxes)
    ]
    return {"name": f"{stem}.jpg", "frames": [{"objects": objects}]}


def _encode(ext: str, img: np.ndarray, params: list[int]) -> bytes:
    """Encode an image to file bytes."""
    ok, buf = cv2.imencode(ext, img, params)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {ext} image")
    return buf.tobytes()


def write_frame(out_dir: Path, seed: int, size: tuple[int, int], task: tuple[str, int]) -> None:
    """Render frame (split, index) and write its image, boxes and masks; the image goes last."""
    split, index = task
    scene = render_scene(frame_rng(seed, split, index), size)
    stem = frame_stem(split, index)
    png = [cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
    record = json.dumps(bdd_record(stem, scene)).encode()
    write_bytes_atomic(out_dir / DET_DIR / split / f"{stem}.json", record)
    write_bytes_atomic(
        out_dir / DRIVABLE_DIR / split / f"{stem}.png", _encode(".png", scene.drivable, png)
    )
    write_bytes_atomic(out_dir / LANE_DIR / split / f"{stem}.png", _encode(".png", scene.lane, png))
    jpeg = _encode(".jpg", scene.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    write_bytes_atomic(out_dir / IMAGE_DIR / split / f"{stem}.jpg", jpeg)


def _prepare_dirs(out_dir: Path) -> None:
    """Create the layout's folders and drop temporary files that killed runs left behind (not
    those of live processes: another run adding frames to the same folder keeps its own)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"output path {out_dir} exists and is not a folder; choose another --out")
    for kind in (IMAGE_DIR, DET_DIR, DRIVABLE_DIR, LANE_DIR):
        for split in SPLITS:
            folder = out_dir / kind / split
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(
                    f"cannot create {folder}: {exc.strerror or exc}; choose a writable --out"
                ) from None
            remove_stale(folder, untagged=True)


def _claim(out_dir: Path, seed: int, size: tuple[int, int]) -> None:
    """Record seed and size in the folder, refusing one made with others (no mixed datasets).

    Adding frames to a folder made with the same seed and size is fine: frames do not depend on
    how many are made.
    """
    manifest = {"seed": seed, "size": list(size)}
    path = out_dir / MANIFEST
    if path.exists():
        try:
            existing = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot read {path} ({exc}); delete it or choose another --out"
            ) from exc
        if existing != manifest:
            raise ConfigError(
                f"{out_dir} holds synthetic data made with {existing}, not {manifest}; "
                "choose another --out or delete that folder"
            )
        return
    write_bytes_atomic(path, json.dumps(manifest).encode())


def _init_worker() -> None:
    """One core per worker; Ctrl-C is left to the parent, which stops the pool cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)


def check_image_size(size: tuple[int, int]) -> None:
    """ConfigError unless a (W, H) size for rendered scenes is MIN_SIDE..MAX_IMAGE_SIDE a side."""
    if min(size) < MIN_SIDE or max(size) > MAX_IMAGE_SIDE:
        raise ConfigError(
            f"image size must be {MIN_SIDE}..{MAX_IMAGE_SIDE} pixels per side, got "
            f"{size[0]}x{size[1]}"
        )


def generate_dataset(
    out_dir: Path,
    train: int,
    val: int,
    seed: int,
    size: tuple[int, int] = (1280, 720),
    workers: int = 1,
) -> None:
    """Write `train` + `val` synthetic frames of size (W, H) under out_dir in the BDD layout.

    Frame i of a split depends only on (seed, split, i), so results are identical for any
    worker count and any number of frames requested.
    """
    if train < 0 or val < 0:
        raise ConfigError(f"--train and --val must be >= 0, got {train} and {val}")
    if seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {seed}")
    if workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    check_image_size(size)
    out_dir = Path(out_dir)
    size = (int(size[0]), int(size[1]))
    _prepare_dirs(out_dir)
    _claim(out_dir, seed, size)
    tasks = [("train", i) for i in range(train)] + [("val", i) for i in range(val)]
    job = partial(write_frame, out_dir, seed, size)
    with tqdm(total=len(tasks), desc="synth", unit="img") as bar:
        if workers == 1:
            for task in tasks:
                job(task)
                bar.update()
            return
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker)
        try:
            for _ in pool.map(job, tasks, chunksize=8):
                bar.update()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
