"""`hybridnets synth-bag --rig`: one synthetic drive seen by several cameras, as a rosbag2.

Per camera: `/<camera>/image_raw` (or `/compressed`) and `/<camera>/camera_info` in the frame
`<camera>_optical`, and its labels `<gt>/<camera>/detections` (Detection2DArray, persistent
vehicle ids shared by all cameras), `<gt>/<camera>/drivable_mask` and `lane_mask`. Once, on
`/tf_static`: base_link -> every `<camera>_optical`. Per frame, as the single-camera bag:
the ego motion (`/tf`, `/odom`) and the truth in base_link of every vehicle any camera labels
(`truth_topics`: objects, tracked objects, lead, ego lane, lane lines).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..errors import ConfigError
from ..outputs import messages
from ..synth.writer import check_image_size
from .drive import DriveTruth, SyntheticDrive, merge_truths
from .rig import TF_STATIC, RigCamera, static_transforms
from .synth import GRID_FRAME, JPEG_QUALITY, ODOM_FRAME, START_NS, SynthTopics, encode_image
from .truth_topics import TF_MESSAGE, ego_messages, truth_messages
from .typestore import RosbagsFactory
from .writer import BagWriter


def write_rig_bag(
    out: Path,
    cameras: list[RigCamera],
    frames: int,
    fps: float,
    seed: int = 0,
    size: tuple[int, int] = (640, 360),
    compressed: bool = False,
    fmt: str = "mcap",
    scenario: str = "drive",
    topics: SynthTopics = SynthTopics(),
) -> None:
    """Render `frames` frames of `scenario` from every camera of the rig into a new bag."""
    if frames < 1 or not fps > 0 or seed < 0:
        raise ConfigError(
            f"need --frames >= 1, --fps > 0 and --seed >= 0, got {frames}, {fps}, {seed}"
        )
    if not cameras:
        raise ConfigError("--rig needs at least one camera")
    check_image_size(size)
    drive = SyntheticDrive(seed, size, fps, scenario)
    factory = RosbagsFactory()
    with BagWriter(out, fmt) as bag:
        bag.write(
            TF_STATIC,
            TF_MESSAGE,
            START_NS,
            static_transforms(factory, cameras, START_NS, GRID_FRAME),
        )
        for index in tqdm(range(frames), desc="synth-bag --rig", unit="frame"):
            stamp = START_NS + round(index * messages.NS_PER_S / fps)
            truths = [
                _write_camera(bag, factory, drive, camera, stream, index, stamp, compressed, topics)
                for stream, camera in enumerate(cameras, start=1)
            ]
            truth = merge_truths(truths)
            ego = ego_messages(factory, truth.ego, stamp, ODOM_FRAME, GRID_FRAME)
            for topic, kind in ((topics.tf, "tf"), (topics.odometry, "odometry")):
                msgtype, msg = ego[kind]
                bag.write(topic, msgtype, stamp, msg)
            ground_header = messages.header(factory, stamp, GRID_FRAME)
            for name, (msgtype, msg) in truth_messages(factory, truth, ground_header).items():
                bag.write(f"{topics.gt_prefix}/{name}", msgtype, stamp, msg)


def _write_camera(
    bag: BagWriter,
    factory: RosbagsFactory,
    drive: SyntheticDrive,
    camera: RigCamera,
    stream: int,
    index: int,
    stamp: int,
    compressed: bool,
    topics: SynthTopics,
) -> DriveTruth:
    """One camera's image, camera_info and labels of frame `index`; gives back its truth."""
    if camera.forward:  # exactly the single-camera drive's frame
        scene, truth = drive.render_with_truth(index)
    else:
        own = camera.camera_params(drive.start.camera)
        scene, truth = drive.render_with_truth(index, camera.mount, stream, own)
    header = messages.header(factory, stamp, camera.frame_id)
    info = messages.camera_info(factory, camera.intrinsics(drive.intrinsics), header)
    bag.write(camera.info_topic, messages.CAMERA_INFO, stamp, info)  # before its image
    if compressed:
        encoded = encode_image(".jpg", scene.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        image = messages.compressed_image(factory, encoded, "jpeg", header)
        bag.write(f"{camera.image_topic}/compressed", messages.COMPRESSED_IMAGE, stamp, image)
    else:
        bag.write(
            camera.image_topic,
            messages.IMAGE,
            stamp,
            messages.image(factory, scene.image, "bgr8", header),
        )
    boxes = np.array([[b.x1, b.y1, b.x2, b.y2] for b in scene.boxes]).reshape(-1, 4)
    names = [b.category for b in scene.boxes]
    ids = [str(vehicle.id) for vehicle in truth.vehicles]
    labels = messages.detections_2d(factory, boxes, np.ones(len(boxes)), names, ids, header)
    prefix = f"{topics.gt_prefix}/{camera.name}"
    bag.write(f"{prefix}/detections", messages.DETECTIONS, stamp, labels)
    for name, mask in (("drivable_mask", scene.drivable), ("lane_mask", scene.lane)):
        bag.write(
            f"{prefix}/{name}",
            messages.IMAGE,
            stamp,
            messages.mask_image(factory, mask > 0, header),
        )
    return truth
