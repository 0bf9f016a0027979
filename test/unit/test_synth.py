"""Synthetic scenes: determinism, dataset layout, label validity and geometry, CLI."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from hybridnets_core.bag.drive import DriveTruth, SyntheticDrive
from hybridnets_core.cli import synth as synth_cli
from hybridnets_core.errors import ConfigError
from hybridnets_core.scene.ground import CameraIntrinsics, CameraPose
from hybridnets_core.synth import (
    Scene,
    SceneParams,
    generate_dataset,
    render_scene,
    sample_scene_params,
)
from hybridnets_core.synth.road import DOUBLE_GAP_M, label_thickness
from hybridnets_core.synth.truth import scene_projector
from hybridnets_core.synth.vehicles import VehicleParams

SMALL = (320, 180)
HD = (1280, 720)
KINDS = ("imgs", "det_annot", "da_seg_annot", "ll_seg_annot")
SUFFIX = {"imgs": ".jpg", "det_annot": ".json", "da_seg_annot": ".png", "ll_seg_annot": ".png"}
CATEGORIES = {"car", "truck", "bus"}


def files(root: Path) -> dict[str, bytes]:
    """Every file under root by relative path, with its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    generate_dataset(out, train=6, val=3, seed=11, size=SMALL)
    return out


def plain_scene(seed: int, vehicles: tuple[VehicleParams, ...]) -> SceneParams:
    """A sampled scene with only the given vehicles, no roadside props and no hood."""
    params = sample_scene_params(np.random.default_rng(seed))
    return dataclasses.replace(
        params,
        vehicles=vehicles,
        scenery=dataclasses.replace(params.scenery, props=()),
        camera=dataclasses.replace(params.camera, hood_frac=0.0),
    )


def car(params_seed: int, distance: float, lateral_shift: float = 0.0, **kw) -> VehicleParams:
    """A car (or other category via kw) centred in the ego lane of scene `params_seed`."""
    road = sample_scene_params(np.random.default_rng(params_seed)).road
    fields = {
        "category": "car",
        "lateral_m": road.lane_centre_y(road.ego_lane) + lateral_shift,
        "distance_m": distance,
        "width_m": 1.8,
        "height_m": 1.5,
        "length_m": 4.5,
        "color": (40, 40, 170),
        "oncoming": False,
        "style": 0.3,
    }
    fields.update(kw)
    return VehicleParams(**fields)


def test_same_seed_gives_identical_frames_and_different_seeds_differ() -> None:
    a, b, c = render_scene(5, SMALL), render_scene(5, SMALL), render_scene(6, SMALL)
    assert a.image.tobytes() == b.image.tobytes()
    assert np.array_equal(a.drivable, b.drivable) and np.array_equal(a.lane, b.lane)
    assert a.boxes == b.boxes
    assert a.image.tobytes() != c.image.tobytes()


def test_fixed_params_render_the_same_scene_with_fresh_sensor_noise() -> None:
    params = sample_scene_params(np.random.default_rng(9))
    a, b = render_scene(1, HD, params), render_scene(2, HD, params)
    assert np.array_equal(a.drivable, b.drivable) and np.array_equal(a.lane, b.lane)
    assert a.boxes == b.boxes
    diff = np.abs(a.image.astype(int) - b.image.astype(int))
    assert 0 < diff.mean() < 8


def test_render_returns_bgr_image_and_binary_masks_of_the_requested_size() -> None:
    for seed in range(8):
        scene = render_scene(seed, (400, 300))
        assert scene.image.shape == (300, 400, 3) and scene.image.dtype == np.uint8
        for mask in (scene.drivable, scene.lane):
            assert mask.shape == (300, 400) and mask.dtype == np.uint8
            assert set(np.unique(mask)) <= {0, 255}


def test_layout_has_matching_stems_and_counts(dataset: Path) -> None:
    for split, count in (("train", 6), ("val", 3)):
        stems = None
        for kind in KINDS:
            paths = sorted((dataset / kind / split).iterdir())
            assert all(p.suffix == SUFFIX[kind] for p in paths)
            kind_stems = [p.stem for p in paths]
            assert len(kind_stems) == count
            stems = kind_stems if stems is None else stems
            assert kind_stems == stems


def test_labels_are_valid_bdd_records_and_masks(dataset: Path) -> None:
    width, height = SMALL
    objects = 0
    for path in sorted((dataset / "det_annot").rglob("*.json")):
        record = json.loads(path.read_text())
        assert record["name"] == f"{path.stem}.jpg"
        for i, obj in enumerate(record["frames"][0]["objects"]):
            objects += 1
            box = obj["box2d"]
            assert obj["category"] in CATEGORIES and obj["id"] == i
            assert 0 <= box["x1"] < box["x2"] <= width
            assert 0 <= box["y1"] < box["y2"] <= height
        image = cv2.imread(str(dataset / "imgs" / path.parent.name / f"{path.stem}.jpg"))
        assert image.shape == (height, width, 3)
        for kind in ("da_seg_annot", "ll_seg_annot"):
            mask = cv2.imread(str(dataset / kind / path.parent.name / f"{path.stem}.png"), -1)
            assert mask.shape == (height, width) and mask.dtype == np.uint8
            assert set(np.unique(mask)) <= {0, 255}
    assert objects > 0


def test_frames_do_not_depend_on_count_or_workers(tmp_path: Path) -> None:
    generate_dataset(tmp_path / "a", train=3, val=1, seed=7, size=SMALL, workers=1)
    generate_dataset(tmp_path / "b", train=5, val=2, seed=7, size=SMALL, workers=2)
    a, b = files(tmp_path / "a"), files(tmp_path / "b")
    assert len(a) == 4 * 4 + 1 and len(b) == 7 * 4 + 1  # plus the manifest
    assert all(b[name] == data for name, data in a.items())


def test_no_temporary_files_remain_and_stale_ones_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / "imgs" / "train" / ".train_000000.jpg.abc.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half")
    generate_dataset(tmp_path, train=1, val=1, seed=0, size=SMALL)
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"train": -1}, "--train"),
        ({"seed": -3}, "--seed"),
        ({"workers": 0}, "--workers"),
        ({"size": (16, 16)}, "size"),
    ],
)
def test_invalid_settings_raise_config_error(tmp_path: Path, kwargs: dict, message: str) -> None:
    settings = {"train": 1, "val": 0, "seed": 0, "size": SMALL, **kwargs}
    with pytest.raises(ConfigError, match=message):
        generate_dataset(tmp_path, **settings)


def test_folder_of_another_seed_is_refused_but_can_be_extended(tmp_path: Path) -> None:
    generate_dataset(tmp_path, 1, 0, seed=1, size=SMALL)
    with pytest.raises(ConfigError, match="'seed': 1"):
        generate_dataset(tmp_path, 1, 0, seed=2, size=SMALL)
    generate_dataset(tmp_path, 2, 0, seed=1, size=SMALL)
    assert len(list((tmp_path / "imgs" / "train").iterdir())) == 2


def test_output_path_that_is_a_file_is_rejected(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        generate_dataset(target, 1, 0, 0, SMALL)


def test_lane_lines_lie_on_the_drivable_area() -> None:
    inside = total = 0
    for seed in range(10):
        scene = render_scene(seed, HD)
        grow = 2 * label_thickness(HD[0]) + 1
        near_road = cv2.dilate(scene.drivable, np.ones((grow, grow), np.uint8))
        lane = scene.lane > 0
        inside += int(np.count_nonzero(lane & (near_road > 0)))
        total += int(np.count_nonzero(lane))
    assert total > 0
    assert inside / total > 0.97


def test_labels_scale_with_image_size() -> None:
    params = plain_scene(3, ())
    small = render_scene(0, (640, 360), params)
    large = render_scene(0, HD, params)
    lane_ratio = np.count_nonzero(small.lane) / np.count_nonzero(large.lane)
    assert 0.2 < lane_ratio < 0.3  # thickness and length both halve
    shrunk = cv2.resize(large.drivable, (640, 360), interpolation=cv2.INTER_NEAREST) > 0
    road = small.drivable > 0
    assert np.count_nonzero(shrunk & road) / np.count_nonzero(shrunk | road) > 0.97


def test_vehicle_size_follows_perspective() -> None:
    heights = []
    for distance in (10.0, 20.0):
        scene = render_scene(0, HD, plain_scene(4, (car(4, distance),)))
        (box,) = scene.boxes
        heights.append(box.y2 - box.y1)
    assert heights[0] / heights[1] == pytest.approx(2.0, rel=0.1)


def test_occluded_vehicles_get_visible_extent_or_no_box() -> None:
    truck = car(2, 12.0, category="truck", width_m=2.5, height_m=3.6, length_m=10.0)
    hidden = car(2, 40.0)
    scene = render_scene(0, HD, plain_scene(2, (truck, hidden)))
    assert [b.category for b in scene.boxes] == ["truck"]

    peeking = car(2, 40.0, lateral_shift=4.0)
    alone = render_scene(0, HD, plain_scene(2, (peeking,))).boxes[0]
    behind = render_scene(0, HD, plain_scene(2, (truck, peeking))).boxes
    assert [b.category for b in behind] == ["truck", "car"]
    assert behind[1].x2 - behind[1].x1 < alone.x2 - alone.x1


def test_vehicle_pixels_are_removed_from_road_masks() -> None:
    empty = render_scene(0, HD, plain_scene(5, ()))
    busy = render_scene(0, HD, plain_scene(5, (car(5, 8.0),)))
    (box,) = busy.boxes
    rows, cols = slice(int(box.y1), int(box.y2)), slice(int(box.x1), int(box.x2))
    assert np.count_nonzero(busy.drivable[rows, cols]) < np.count_nonzero(
        empty.drivable[rows, cols]
    )


def test_cli_writes_the_layout(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    synth_cli.add_parser(parser.add_subparsers())
    out = tmp_path / "data"
    args = parser.parse_args(
        ["synth", "--out", str(out), "--train", "2", "--val", "1", "--size", "320x180"]
    )
    assert args.func(args) == 0
    for kind in KINDS:
        assert len(list((out / kind / "train").iterdir())) == 2
        assert len(list((out / kind / "val").iterdir())) == 1
    assert cv2.imread(str(out / "imgs" / "val" / "val_000000.jpg")).shape == (180, 320, 3)


def test_hd_scenes_are_complete() -> None:
    """Full-size scenes: a colour image, 0/255 masks of its size, boxes inside it (their
    rendering speed is benchmarks/synth_speed.py's to measure)."""
    for seed in range(5):
        scene = render_scene(seed, HD)
        assert scene.image.shape == (HD[1], HD[0], 3) and scene.image.dtype == np.uint8
        for mask in (scene.drivable, scene.lane):
            assert mask.shape == (HD[1], HD[0]) and set(np.unique(mask)) <= {0, 255}
        assert np.count_nonzero(scene.drivable) > 0
        for box in scene.boxes:
            assert 0 <= box.x1 < box.x2 <= HD[0] and 0 <= box.y1 < box.y2 <= HD[1], box
            assert box.category in CATEGORIES


# --- ground truth of the synthetic drive (vehicle frame: x forward, y left, on the ground) ---

DRIVE_FPS = 10.0


def pinhole(intrinsics: CameraIntrinsics, pose: CameraPose, points: np.ndarray) -> np.ndarray:
    """Pixels (u, v) of vehicle-frame points [N, 3] seen by a pinhole camera at `pose`."""
    body = (np.asarray(points, float) - pose.position()) @ pose.rotation()  # x fwd, y left, z up
    depth = body[:, 0]
    u = intrinsics.cx + intrinsics.fx * -body[:, 1] / depth
    v = intrinsics.cy + intrinsics.fy * -body[:, 2] / depth
    return np.stack([u, v], axis=1)


@pytest.fixture(scope="module")
def drive_frames() -> list[tuple[SyntheticDrive, Scene, DriveTruth]]:
    frames = []
    for seed in range(6):
        drive = SyntheticDrive(seed, HD, DRIVE_FPS)
        for index in (0, 25):
            frames.append((drive, *drive.render_with_truth(index)))
    return frames


def test_renderer_camera_is_the_pinhole_of_camera_info_at_the_default_pose() -> None:
    """Projector (road frame) and CameraIntrinsics + default CameraPose agree exactly."""
    drive = SyntheticDrive(3, HD, DRIVE_FPS)
    params = drive.params(17)
    proj = scene_projector(params, HD)
    assert drive.intrinsics.cx == HD[0] / 2 and drive.intrinsics.cy == proj.horizon
    assert params.camera.height_m == CameraPose().z and params.camera.hood_frac == 0.0
    rng = np.random.default_rng(0)
    lateral, distance, height = rng.uniform([[-8], [3], [0]], [[8], [80], [3]], (3, 50))
    rendered = proj.project(lateral, distance, height)
    ground = np.stack([distance, -(lateral + proj.bend(distance)), height], axis=1)
    np.testing.assert_allclose(pinhole(drive.intrinsics, CameraPose(), ground), rendered, atol=1e-9)


def test_truth_lists_the_labelled_vehicles_in_label_order(drive_frames) -> None:
    for _, scene, truth in drive_frames:
        assert [v.box for v in truth.vehicles] == scene.boxes
        assert all(v.category == v.box.category for v in truth.vehicles)
        assert all(0.1 <= v.visible_fraction <= 1.0 for v in truth.vehicles)
        ids = [v.id for v in truth.vehicles]
        assert len(set(ids)) == len(ids) and min(ids, default=1) >= 1


def test_true_vehicle_positions_project_to_the_box_bottom(drive_frames) -> None:
    """Fully visible vehicles: the ground contact point lands on the box's last row; with no
    side face in view (straight ahead) also on its centre column; always inside the box."""
    rows = columns = 0
    for drive, _, truth in drive_frames:
        for v in truth.vehicles:
            if v.truncated or v.visible_fraction < 0.999:
                continue
            ((u, row),) = pinhole(drive.intrinsics, CameraPose(), [[v.x_m, v.y_m, 0.0]])
            assert abs(row - (v.box.y2 - 1)) <= 1.0, (v, row)  # y2 is exclusive
            assert v.box.x1 - 1 <= u <= v.box.x2, (v, u)
            rows += 1
            if abs(v.y_m) + 0.3 < 0.46 * v.width_m:  # the chassis hides both sides
                assert abs(u - ((v.box.x1 + v.box.x2) / 2 - 0.5)) <= 2.0, (v, u)
                columns += 1
    assert rows >= 20 and columns >= 3


def test_vehicle_ids_persist_and_are_never_reused() -> None:
    drive = SyntheticDrive(0, SMALL, DRIVE_FPS)
    seen: dict[int, tuple] = {}
    tracks: dict[int, list[tuple[int, float]]] = {}
    for index in range(0, 40, 2):
        for v in drive.truth(index).vehicles:
            size = (v.category, v.length_m, v.width_m, v.height_m, v.oncoming)
            assert seen.setdefault(v.id, size) == size
            tracks.setdefault(v.id, []).append((index, v.x_m))
    assert len(tracks) >= 5
    for track in tracks.values():  # constant speed relative to the ego car
        if len(track) >= 3:
            rates = np.diff([x for _, x in track]) / np.diff([i for i, _ in track])
            np.testing.assert_allclose(rates, rates[0], atol=1e-9)


def test_truth_and_labels_come_from_the_same_render() -> None:
    drive = SyntheticDrive(2, SMALL, DRIVE_FPS)
    scene, truth = drive.render_with_truth(9)
    again = drive.render(9)
    assert np.array_equal(scene.image, again.image) and scene.boxes == again.boxes
    assert drive.truth(9).vehicles == truth.vehicles and truth.index == 9
    assert truth.time_s == pytest.approx(0.9)


@pytest.mark.parametrize("size", [HD, (640, 360)])
def test_true_lane_lines_project_onto_lane_mask_pixels(size: tuple[int, int]) -> None:
    """Every painted true line, projected, lands on the lane mask of the same frame drawn
    without vehicles and props (which hide parts of it in the real frame)."""
    on = total = 0
    for seed in range(5):
        drive = SyntheticDrive(seed, size, DRIVE_FPS)
        params = drive.params(12)
        clear = dataclasses.replace(
            params, vehicles=(), scenery=dataclasses.replace(params.scenery, props=())
        )
        lane = render_scene(0, size, clear).lane
        half = (DOUBLE_GAP_M + params.road.line_width_m) / 2
        for line in drive.truth(12).lanes.lines:
            # the truth of a double line is the middle between its two labelled stripes
            for offset in {"none": (), "double": (-half, half)}.get(line.kind, (0.0,)):
                points = line.points[1:] + np.array([0.0, offset, 0.0])
                pixels = np.round(pinhole(drive.intrinsics, CameraPose(), points)).astype(int)
                u, v = pixels.T
                inside = (u >= 0) & (u < size[0]) & (v >= 0) & (v < size[1])
                on += int(np.count_nonzero(lane[v[inside], u[inside]]))
                total += int(np.count_nonzero(inside))
    assert total > 500
    assert on / total > 0.995


def test_lane_truth_geometry_bounds_the_ego_lane() -> None:
    for seed in range(8):
        drive = SyntheticDrive(seed, SMALL, DRIVE_FPS)
        lanes = drive.truth(5).lanes
        road = drive.params(5).road
        assert [line.index for line in lanes.lines] == list(range(road.lane_count + 1))
        assert [line.kind for line in lanes.lines] == [m.kind for m in road.markings]
        left, right = lanes.lines[lanes.ego_left], lanes.lines[lanes.ego_right]
        assert left.points[0, 1] > 0 > right.points[0, 1]  # the car is in its lane at x = 0
        width = left.points[:, 1] - right.points[:, 1]
        np.testing.assert_allclose(width, road.lane_width_m, atol=1e-9)  # parallel lines
        np.testing.assert_allclose(lanes.center[:, 1], (left.points[:, 1] + right.points[:, 1]) / 2)
        steps = np.diff(lanes.center[:, 0])
        assert lanes.center[0, 0] == 0.0 and np.all(steps <= 0.5 + 1e-9) and np.all(steps > 0)
        assert lanes.center[-1, 0] <= 60.0
        ego = lanes.ego()
        assert (ego.left is None) == (not left.painted)
        assert (ego.right is None) == (not right.painted)
