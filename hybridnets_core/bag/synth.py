"""`hybridnets synth-bag`: a labelled synthetic drive as a rosbag2, optionally also as a dataset.

Topics: camera images (raw bgr8, or jpeg CompressedImage), camera_info, the ego motion (TF
odom -> base_link and nav_msgs/Odometry), and ground truth as the node's own message types
(Detection2DArray with score 1 and persistent vehicle ids, mono8 drivable and lane masks) and,
in base_link, the planner outputs' truth (`truth_topics`: vehicles on the ground with their
velocities and lanes, the lead vehicle, the ego lane's paths, every lane line).
The optional dataset folder holds the same frames in the HybridNets layout (stems are frame
indices; png images for raw bags, the bag's jpeg bytes for compressed ones) with a project
file, so `hybridnets val` and `hybridnets bag-eval --labels` score identical pixels and labels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml
from tqdm import tqdm

from ..errors import ConfigError, InputError
from ..fileio import write_bytes_atomic
from ..outputs import messages
from ..synth import Scene
from ..synth.writer import bdd_record, check_image_size
from .drive import SyntheticDrive
from .truth_topics import ego_messages, truth_messages
from .typestore import RosbagsFactory
from .writer import BagWriter

START_NS = 1_700_000_000 * messages.NS_PER_S  # fixed epoch: same seed, same bag
CAMERA_FRAME = "camera"
GRID_FRAME = "base_link"  # the node's default grid_frame: the truth is where its outputs are
ODOM_FRAME = "odom"
JPEG_QUALITY = 90
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1]  # fast, lossless
DATASET_SPLIT = "val"
SYNTH_CLASSES = ("car", "truck", "bus")


@dataclass(frozen=True)
class SynthTopics:
    """Topic names of a synthetic bag."""

    image: str = "/camera/image_raw"
    camera_info: str = "/camera/camera_info"
    gt_prefix: str = "/ground_truth"
    tf: str = "/tf"
    odometry: str = "/odom"

    def image_topic(self, compressed: bool) -> str:
        """image_transport naming: the compressed stream is `<image>/compressed`."""
        return f"{self.image}/compressed" if compressed else self.image


def frame_stem(index: int) -> str:
    """Dataset file stem of frame `index` (bag-eval finds labels by it)."""
    return f"{index:06d}"


def encode_image(ext: str, image: np.ndarray, params: list[int]) -> bytes:
    """`image` encoded by OpenCV as `ext` (".jpg", ".png") with `params`."""
    ok, buffer = cv2.imencode(ext, image, params)
    if not ok:
        raise InputError(f"OpenCV could not encode a {ext} image")
    return buffer.tobytes()


def _write_project(dataset: Path, image_suffix: str) -> None:
    """project.yaml for the dataset: synthetic classes merged into 'car', road + lane."""
    project = {
        "project_name": "synthetic_drive",
        "obj_list": ["car"],
        "obj_combine": list(SYNTH_CLASSES),
        "seg_list": ["road", "lane"],
        "seg_multilabel": False,
        "dataset": {
            "dataroot": "imgs",
            "labelroot": "det_annot",
            "segroot": ["da_seg_annot", "ll_seg_annot"],
            "train_set": DATASET_SPLIT,
            "val_set": DATASET_SPLIT,
            "data_format": image_suffix,
        },
    }
    write_bytes_atomic(dataset / "project.yaml", yaml.safe_dump(project, sort_keys=False).encode())


def write_synth_bag(
    out: Path,
    frames: int,
    fps: float,
    seed: int = 0,
    size: tuple[int, int] = (640, 360),
    compressed: bool = False,
    fmt: str = "mcap",
    dataset: Path | None = None,
    topics: SynthTopics = SynthTopics(),
    scenario: str = "drive",
) -> None:
    """Render `frames` frames of size (W, H) at `fps` of `scenario` (bag.scenarios) into a new
    bag at `out`."""
    if frames < 1 or not fps > 0 or seed < 0:
        raise ConfigError(
            f"need --frames >= 1, --fps > 0 and --seed >= 0, got {frames}, {fps}, {seed}"
        )
    check_image_size(size)
    drive = SyntheticDrive(seed, size, fps, scenario)
    suffix = "jpg" if compressed else "png"
    factory = RosbagsFactory()
    with BagWriter(out, fmt) as bag:
        for index in tqdm(range(frames), desc="synth-bag", unit="frame"):
            scene, truth = drive.render_with_truth(index)
            stamp = START_NS + round(index * messages.NS_PER_S / fps)
            header = messages.header(factory, stamp, CAMERA_FRAME)
            info = messages.camera_info(factory, drive.intrinsics, header)
            ego = ego_messages(factory, truth.ego, stamp, ODOM_FRAME, GRID_FRAME)
            for topic, kind in ((topics.tf, "tf"), (topics.odometry, "odometry")):
                msgtype, msg = ego[kind]
                bag.write(topic, msgtype, stamp, msg)
            bag.write(topics.camera_info, messages.CAMERA_INFO, stamp, info)  # before its image
            if compressed:
                encoded = encode_image(
                    ".jpg", scene.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
                )
                image = messages.compressed_image(factory, encoded, "jpeg", header)
                bag.write(topics.image_topic(True), messages.COMPRESSED_IMAGE, stamp, image)
            else:  # the dataset gets lossless copies of the raw pixels
                encoded = encode_image(".png", scene.image, PNG_PARAMS) if dataset else b""
                image = messages.image(factory, scene.image, "bgr8", header)
                bag.write(topics.image, messages.IMAGE, stamp, image)
            boxes = np.array([[b.x1, b.y1, b.x2, b.y2] for b in scene.boxes]).reshape(-1, 4)
            names = [b.category for b in scene.boxes]
            ids = [str(vehicle.id) for vehicle in truth.vehicles]  # persistent, label order
            labels = messages.detections_2d(factory, boxes, np.ones(len(boxes)), names, ids, header)
            bag.write(f"{topics.gt_prefix}/detections", messages.DETECTIONS, stamp, labels)
            ground_header = messages.header(factory, stamp, GRID_FRAME)
            for name, (msgtype, msg) in truth_messages(factory, truth, ground_header).items():
                bag.write(f"{topics.gt_prefix}/{name}", msgtype, stamp, msg)
            for name, mask in (("drivable_mask", scene.drivable), ("lane_mask", scene.lane)):
                msg = messages.mask_image(factory, mask > 0, header)
                bag.write(f"{topics.gt_prefix}/{name}", messages.IMAGE, stamp, msg)
            if dataset is not None:
                _write_frame(dataset, frame_stem(index), scene, encoded, suffix)
    if dataset is not None:
        _write_project(dataset, suffix)


def _write_frame(dataset: Path, stem: str, scene: Scene, image: bytes, suffix: str) -> None:
    """One frame in the HybridNets layout; the image goes last so a listed image is complete."""
    record = json.dumps(bdd_record(stem, scene)).encode()
    write_bytes_atomic(dataset / "det_annot" / DATASET_SPLIT / f"{stem}.json", record)
    for folder, mask in (("da_seg_annot", scene.drivable), ("ll_seg_annot", scene.lane)):
        write_bytes_atomic(
            dataset / folder / DATASET_SPLIT / f"{stem}.png", encode_image(".png", mask, PNG_PARAMS)
        )
    write_bytes_atomic(dataset / "imgs" / DATASET_SPLIT / f"{stem}.{suffix}", image)
