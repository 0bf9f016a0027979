"""Multi-camera synthetic drives: `synth-bag --rig` writes every camera's topics, a static TF that
places each camera where the renderer drew from (checked with OpenCV), vehicle ids shared by
the cameras; `bag-eval --rig` replays the cameras as the node's rig and reports the fusion."""

# ruff: noqa: F811  (the fixtures imported from a helper module are requested by name)

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from bag_fixtures import read_all, run_cli, weights  # noqa: F401 (fixture)

from hybridnets_core.bag.rig import RIG_TABLE, RigCamera, parse_rig
from hybridnets_core.errors import ConfigError
from hybridnets_core.outputs.codec import image_to_array
from hybridnets_core.scene.ground import OpticalPose
from hybridnets_core.synth import render_scene, sample_scene_params
from hybridnets_core.synth.camera import Mount

CAMERAS = ("front", "front_left", "front_right")
SIZE = "320x180"
FRAMES = 3


@pytest.fixture(scope="module")
def rig_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bag = tmp_path_factory.mktemp("rig") / "drive"
    assert run_cli("synth-bag", "--rig", ",".join(CAMERAS), "--out", bag, "--frames", FRAMES,
                   "--size", SIZE, "--seed", 0) == 0  # fmt: skip
    return bag


def test_every_camera_has_its_topics_and_static_tf(rig_bag: Path) -> None:
    found = read_all(rig_bag)
    for camera in CAMERAS:
        for topic in (f"/{camera}/image_raw", f"/{camera}/camera_info",
                      f"/ground_truth/{camera}/detections"):  # fmt: skip
            assert len(found[topic]) == FRAMES, topic
        _, image = found[f"/{camera}/image_raw"][0]
        assert image.header.frame_id == f"{camera}_optical" and image.width == 320
    assert len(found["/tf_static"]) == 1
    transforms = found["/tf_static"][0][1].transforms
    assert [t.child_frame_id for t in transforms] == [f"{c}_optical" for c in CAMERAS]
    for transform in transforms:
        assert transform.header.frame_id == "base_link"
        camera = RigCamera(transform.child_frame_id.removesuffix("_optical"), RIG_TABLE[
            transform.child_frame_id.removesuffix("_optical")])  # fmt: skip
        t, q = transform.transform.translation, transform.transform.rotation
        pose = OpticalPose.from_transform((t.x, t.y, t.z), (q.x, q.y, q.z, q.w))
        expected = camera.optical_pose()
        assert np.allclose(pose.rotation_matrix(), expected.rotation_matrix(), atol=1e-9)
        assert np.allclose(pose.position, (camera.mount.x, camera.mount.y, camera.mount.z))
        # REP 103 optical frame: z (forward) along the camera's yaw, level
        forward = pose.rotation_matrix()[:, 2]
        yaw = camera.mount.yaw
        assert np.allclose(forward, (math.cos(yaw), math.sin(yaw), 0.0), atol=1e-9)


def _project(found: dict, camera: str, points: np.ndarray) -> np.ndarray:
    """OpenCV's projection of base_link points [N, 3] into `camera`, from the bag's camera_info
    and /tf_static; rows behind the camera are NaN."""
    info = found[f"/{camera}/camera_info"][0][1]
    transform = next(
        t for t in found["/tf_static"][0][1].transforms if t.child_frame_id == f"{camera}_optical"
    )
    t, q = transform.transform.translation, transform.transform.rotation
    pose = OpticalPose.from_transform((t.x, t.y, t.z), (q.x, q.y, q.z, q.w))
    rotation = pose.rotation_matrix().T  # base_link -> optical
    translation = -rotation @ np.asarray(pose.position)
    pixels, _ = cv2.projectPoints(
        points, cv2.Rodrigues(rotation)[0], translation, np.asarray(info.k).reshape(3, 3), None
    )
    pixels = pixels.reshape(-1, 2)
    pixels[(points @ rotation.T + translation)[:, 2] <= 0.5] = np.nan
    return pixels


@pytest.mark.parametrize("camera", ["front_left", "front_right"])
def test_opencv_finds_the_lane_lines_where_a_side_camera_drew_them(
    rig_bag: Path, camera: str
) -> None:
    """Every painted lane line of the truth (base_link), projected by OpenCV through the
    camera_info and the static TF, lands on the lane pixels the renderer drew for that camera."""
    found = read_all(rig_bag)
    markers = found["/ground_truth/lane_lines"][0][1].markers
    points = np.concatenate(
        [[[p.x, p.y, 0.0] for p in m.points] for m in markers if m.text != "none"]
    )
    pixels = _project(found, camera, points)
    mask = image_to_array(found[f"/ground_truth/{camera}/lane_mask"][0][1])[0][:, :, 0] > 0
    mask = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    height, width = mask.shape
    inside = ~np.isnan(pixels).any(axis=1)
    inside[inside] = (
        (pixels[inside] >= 2).all(axis=1)
        & (pixels[inside, 0] < width - 2)
        & (pixels[inside, 1] < height - 2)
    )
    assert inside.sum() >= 20  # the side camera sees the lines
    u, v = np.round(pixels[inside]).astype(int).T
    assert mask[v, u].mean() >= 0.85
    # through the pose of the camera turned the other way, the points miss these pixels
    other = "front_right" if camera == "front_left" else "front_left"
    wrong = _project(found, other, points)
    seen = ~np.isnan(wrong).any(axis=1)
    seen[seen] = (
        (wrong[seen] >= 0).all(axis=1) & (wrong[seen, 0] < width) & (wrong[seen, 1] < height)
    )
    assert seen.sum() >= 20
    u, v = np.round(wrong[seen]).astype(int).clip(0, (width - 1, height - 1)).T
    assert mask[v, u].mean() < 0.5


def test_the_cameras_share_vehicle_ids(rig_bag: Path) -> None:
    """A vehicle labelled by two cameras has one id, which the frame's ground truth in
    base_link carries once."""
    found = read_all(rig_bag)
    shared = 0
    for frame in range(FRAMES):
        truth = [d.id for d in found["/ground_truth/objects"][frame][1].detections]
        assert len(truth) == len(set(truth))
        by_camera = {
            c: {d.id for d in found[f"/ground_truth/{c}/detections"][frame][1].detections}
            for c in CAMERAS
        }
        assert set().union(*by_camera.values()) == set(truth)
        shared += len(by_camera["front"] & (by_camera["front_left"] | by_camera["front_right"]))
    assert shared > 0


def test_bag_eval_on_a_rig_reports_the_fusion(rig_bag: Path, weights: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert run_cli("bag-eval", "--bag", rig_bag, "--rig", "-w", weights, "--out", out) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["cameras"] == list(CAMERAS) and report["frames"] == FRAMES
    for key in ("duplicates_per_frame", "cross_camera_id_consistency"):
        assert key in report["fusion"]
    assert report["fusion"]["frames"] == FRAMES
    tracking = report["tracking"]
    assert {"idf1", "idf1_observed"} <= set(tracking)
    assert set(tracking["idf1_per_camera"]) == set(CAMERAS)
    assert set(report["objects"]["position_error_rel"]) == {"fused", *CAMERAS}
    assert 0.0 <= report["grid"]["iou"] <= 1.0  # the surround grid sees the road
    assert report["output_counts"]["/hybridnets_node/grid"] == FRAMES
    assert report["output_counts"]["/hybridnets_node/front_left/objects"] == FRAMES
    # the same cameras named by --topic give the same report
    again = tmp_path / "topics"
    topics = [arg for c in CAMERAS for arg in ("--topic", f"/{c}/image_raw")]
    assert run_cli("bag-eval", "--bag", rig_bag, *topics, "-w", weights, "--out", again) == 0
    repeated = json.loads((again / "report.json").read_text())
    assert repeated["fusion"] == report["fusion"] and repeated["grid"] == report["grid"]


def test_rig_names_and_files(tmp_path: Path) -> None:
    cameras = parse_rig("front,rear")
    assert [c.name for c in cameras] == ["front", "rear"] and cameras[0].forward
    with pytest.raises(ConfigError, match="unknown camera"):
        parse_rig("front,side")
    rig = tmp_path / "rig.yaml"
    rig.write_text("roof:\n  x: 1.0\n  y: 0.5\n  z: 2.0\n  yaw_deg: 90\n  focal_frac: 0.5\n")
    (roof,) = parse_rig(str(rig))
    assert roof.mount == Mount(1.0, 0.5, 2.0, math.pi / 2) and not roof.forward
    rig.write_text("roof:\n  x: 1.0\n")
    with pytest.raises(ConfigError, match="needs x, y, yaw_deg"):
        parse_rig(str(rig))


def test_a_rear_camera_renders_the_road_behind_with_no_vehicle_ahead() -> None:
    """A camera turned round sees the road behind (clipped at its near plane) and none of the
    traffic ahead of the vehicle."""
    params = sample_scene_params(np.random.default_rng(0))
    scene = render_scene(1, (320, 180), params, Mount(-3.5, 0.0, 1.5, math.pi))
    assert scene.boxes == []
    assert scene.drivable[-20:].mean() > 0  # the road beneath the bottom rows
    assert scene.drivable[:60].max() == 0  # nothing above the horizon
