"""Bag tools on real rosbag2 files: synth-bag, bag-eval against `hybridnets val`, bad bags (the
node fed live from a bag: test/ros/test_bag_live.py)."""

# ruff: noqa: F811  (the fixtures imported from a helper module are requested by name)

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from bag_fixtures import (
    COMPRESSED,
    FPS,
    FRAMES,
    NET,
    NODE,
    RAW,
    SIZE,
    raw_drive,  # noqa: F401 (fixture)
    read_all,
    run_cli,
    synth_drive,
    weights,  # noqa: F401 (fixture)
)

from hybridnets_core import ModelConfig, Pipeline
from hybridnets_core.bag.labels import FolderLabels, TopicLabels, default_project, labels_project
from hybridnets_core.bag.reader import BagReader
from hybridnets_core.bag.synth import START_NS
from hybridnets_core.bag.truth_topics import LEAD_VEHICLE, ODOMETRY, TF_MESSAGE, TRACKED_OBJECTS
from hybridnets_core.bag.writer import BagWriter
from hybridnets_core.inference.letterbox import Letterbox
from hybridnets_core.outputs import messages
from hybridnets_core.outputs.codec import compressed_to_array, image_to_array
from hybridnets_core.outputs.frame import RECORDED_OUTPUTS
from hybridnets_core.settings import DetectionSettings


@pytest.fixture(scope="module")
def compressed_drive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return synth_drive(tmp_path_factory.mktemp("compressed"), "--compressed", "--format", "sqlite3")


def val_metrics(weights: Path, dataset: Path, out: Path) -> dict:
    assert run_cli("val", "-p", dataset / "project.yaml", "--data", dataset, "-w", weights,
                   "-b", 4, "-n", 0, "--image-size", NET, "--out", out) == 0  # fmt: skip
    return json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def raw_eval(weights: Path, raw_drive: tuple[Path, Path], tmp_path_factory) -> Path:
    """bag-eval of the raw MCAP bag, scored against the label folder."""
    bag, dataset = raw_drive
    out = tmp_path_factory.mktemp("raw_eval") / "report"
    assert run_cli("bag-eval", "--bag", bag, "--topic", RAW, "-w", weights, "--out", out,
                   "--labels", dataset, "--input-size", NET, "--batch-size", 4,
                   "--conf", 0.0, "--max-det", 20) == 0  # fmt: skip
    return out


@pytest.fixture(scope="module")
def compressed_eval(weights: Path, compressed_drive: tuple[Path, Path], tmp_path_factory) -> Path:
    """bag-eval of the jpeg sqlite3 bag (given as its .db3 file), scored by ground-truth topics."""
    bag, dataset = compressed_drive
    out = tmp_path_factory.mktemp("compressed_eval") / "report"
    assert run_cli("bag-eval", "--bag", bag / "drive.db3", "--topic", COMPRESSED, "-w", weights,
                   "--out", out, "-p", dataset / "project.yaml", "--input-size", NET,
                   "--format", "sqlite3") == 0  # fmt: skip
    return out


def test_synth_bag_is_a_coherent_labelled_drive(raw_drive) -> None:
    bag, dataset = raw_drive
    found = read_all(bag)
    with BagReader(bag) as reader:
        assert reader.topics == {
            RAW: messages.IMAGE,
            "/camera/camera_info": messages.CAMERA_INFO,
            "/ground_truth/detections": messages.DETECTIONS,
            "/ground_truth/drivable_mask": messages.IMAGE,
            "/ground_truth/lane_mask": messages.IMAGE,
            "/ground_truth/objects": messages.DETECTIONS_3D,
            "/ground_truth/ego_lane/left": messages.PATH,
            "/ground_truth/ego_lane/right": messages.PATH,
            "/ground_truth/ego_lane/center": messages.PATH,
            "/ground_truth/lane_lines": messages.MARKERS,
            "/ground_truth/tracked_objects": TRACKED_OBJECTS,
            "/ground_truth/tracked_objects_relative": TRACKED_OBJECTS,
            "/ground_truth/lead": LEAD_VEHICLE,
            "/tf": TF_MESSAGE,
            "/odom": ODOMETRY,
        }
    step = round(1e9 / FPS)
    assert [t for t, _ in found[RAW]] == [START_NS + i * step for i in range(FRAMES)]
    for topic, items in found.items():
        headers = [m.transforms[0].header if topic == "/tf" else messages.header_of(m)
                   for _, m in items]  # fmt: skip
        stamps = [messages.stamp_ns(header) for header in headers]
        assert stamps == [t for t, _ in items], topic
    info = found["/camera/camera_info"][0][1]
    assert (info.width, info.height) == SIZE and info.k[0] > 0 and info.k[2] == SIZE[0] / 2
    images = [image_to_array(m)[0] for _, m in found[RAW]]
    lanes = [image_to_array(m)[0][:, :, 0] > 0 for _, m in found["/ground_truth/lane_mask"]]
    for index in range(FRAMES):
        # The dataset holds the bag's exact pixels and labels.
        on_disk = cv2.imread(str(dataset / "imgs" / "val" / f"{index:06d}.png"))
        np.testing.assert_array_equal(on_disk, images[index])
        record = json.loads((dataset / "det_annot" / "val" / f"{index:06d}.json").read_text())
        boxes = [[o["box2d"][k] for k in ("x1", "y1", "x2", "y2")]
                 for o in record["frames"][0]["objects"]]  # fmt: skip
        truth, scores, names = messages.detections_from_msg(
            found["/ground_truth/detections"][index][1]
        )
        np.testing.assert_array_equal(truth, np.array(boxes).reshape(-1, 4))
        assert names == [o["category"] for o in record["frames"][0]["objects"]]
        assert set(scores) <= {1.0}
    # Coherent in time: consecutive frames change, but only a little (dashes and cars move).
    for before, after in itertools.pairwise(images):
        change = np.abs(before.astype(int) - after.astype(int)).mean()
        assert 0.2 < change < 20
    assert all((a & b).sum() / (a | b).sum() > 0.3 for a, b in itertools.pairwise(lanes))


def test_compressed_synth_bag_matches_its_dataset(compressed_drive) -> None:
    bag, dataset = compressed_drive
    assert (bag / "drive.db3").is_file()
    found = read_all(bag)
    assert len(found[COMPRESSED]) == FRAMES and RAW not in found
    for index, (_, msg) in enumerate(found[COMPRESSED]):
        jpeg = (dataset / "imgs" / "val" / f"{index:06d}.jpg").read_bytes()
        assert msg.format == "jpeg" and bytes(msg.data) == jpeg
        assert compressed_to_array(msg).shape == (SIZE[1], SIZE[0], 3)


def test_bag_eval_metrics_equal_val_raw_mcap(weights, raw_drive, raw_eval, tmp_path) -> None:
    expected = val_metrics(weights, raw_drive[1], tmp_path / "val")
    assert json.loads((raw_eval / "metrics.json").read_text()) == expected
    report = json.loads((raw_eval / "report.json").read_text())
    assert report["metrics"] == expected
    assert report["frames_processed"] == FRAMES == report["labelled_frames"]
    assert report["labels"] == f"folder {raw_drive[1]}"
    assert report["image_type"] == messages.IMAGE and report["frames_skipped"] == []
    assert expected["images"] == FRAMES and expected["max_detections"] == 0  # paper: no cap
    assert expected["detection"]["detections"] > 100 * FRAMES
    for name in ("latency.png", "detections.png", "pr_curve.png", "report.md"):
        assert (raw_eval / name).stat().st_size > 0
    markdown = (raw_eval / "report.md").read_text()
    assert "| drivable_miou |" in markdown and "![latency.png](latency.png)" in markdown


def test_bag_eval_metrics_equal_val_compressed_sqlite(
    weights, compressed_drive, compressed_eval, tmp_path
) -> None:
    expected = val_metrics(weights, compressed_drive[1], tmp_path / "val")
    assert json.loads((compressed_eval / "metrics.json").read_text()) == expected
    report = json.loads((compressed_eval / "report.json").read_text())
    assert report["labels"] == "topics /ground_truth/*" and report["labelled_frames"] == FRAMES
    assert report["image_type"] == messages.COMPRESSED_IMAGE
    assert (compressed_eval / "bag" / "bag.db3").is_file()


def test_bag_eval_replays_an_export_like_its_checkpoint(
    weights, raw_drive, raw_eval, tmp_path
) -> None:
    """The file a vehicle runs (batch-1 ONNX) replayed in batches of 4: the checkpoint's
    metrics, within what tied scores allow."""
    export = tmp_path / "coef0.onnx"
    assert run_cli("export", "-w", weights, "--height", 256, "--width", 384, "-o", export) == 0
    bag, dataset = raw_drive
    out = tmp_path / "report"
    assert run_cli("bag-eval", "--bag", bag, "--topic", RAW, "-w", export, "--out", out,
                   "--backend", "onnxruntime", "--labels", dataset, "--batch-size", 4,
                   "--conf", 0.0, "--max-det", 20) == 0  # fmt: skip
    got = json.loads((out / "metrics.json").read_text())
    want = json.loads((raw_eval / "metrics.json").read_text())
    assert got["images"] == want["images"] == FRAMES
    assert got["detection"]["detections"] == want["detection"]["detections"]
    for group, key in (("detection", "mAP50"), ("detection", "recall")):
        assert got[group][key] == pytest.approx(want[group][key], abs=0.02)
    for key, value in want["segmentation"]["paper"].items():
        assert got["segmentation"]["paper"][key] == pytest.approx(value, abs=0.01), key
    report = json.loads((out / "report.json").read_text())
    assert report["frames_processed"] == FRAMES and report["frames_skipped"] == []


def test_folder_and_topic_labels_agree(compressed_drive) -> None:
    bag, dataset = compressed_drive
    project = labels_project(dataset, None)
    folder = FolderLabels(dataset, project)
    with BagReader(bag) as reader:
        topics = TopicLabels(reader, "/ground_truth", project, (256, 384))
    letterbox = Letterbox.fit((SIZE[1], SIZE[0]), (256, 384))
    for index in range(FRAMES):
        stamp = START_NS + round(index * 1e9 / FPS)
        a, b = folder.get(index, stamp, letterbox), topics.get(index, stamp, letterbox)
        np.testing.assert_array_equal(a.boxes, b.boxes)
        np.testing.assert_array_equal(a.classes, b.classes)
        np.testing.assert_array_equal(a.masks, b.masks)
        assert a.masks[0].any() and a.masks[1].any() and len(a.boxes)
    assert topics.get(FRAMES, START_NS - 1, letterbox) is None


def test_folder_labels_keyed_by_timestamp(raw_drive, tmp_path) -> None:
    dataset = tmp_path / "by_stamp"
    shutil.copytree(raw_drive[1], dataset)
    for folder in ("det_annot", "da_seg_annot", "ll_seg_annot"):
        for path in sorted((dataset / folder / "val").iterdir()):
            stamp = START_NS + round(int(path.stem) * 1e9 / FPS)
            path.rename(path.with_name(f"{stamp}{path.suffix}"))
    labels = FolderLabels(dataset, labels_project(dataset, None))
    letterbox = Letterbox.fit((SIZE[1], SIZE[0]), (256, 384))
    stamp = START_NS + round(2 * 1e9 / FPS)
    found = labels.get(2, stamp, letterbox)
    assert found is not None and labels.get(2, stamp + 1, letterbox) is None
    # Without a project file: BDD folder names and the checkpoint's classes, nothing merged.
    (dataset / "project.yaml").unlink()
    assert labels_project(dataset, None) is None
    bare = FolderLabels(dataset, default_project(ModelConfig(compound_coef=0), dataset))
    plain = bare.get(2, stamp, letterbox)
    np.testing.assert_array_equal(plain.masks, found.masks)
    record = json.loads((dataset / "det_annot" / "val" / f"{stamp}.json").read_text())
    cars = [o for o in record["frames"][0]["objects"] if o["category"] == "car"]
    assert len(plain.boxes) == len(cars) < len(record["frames"][0]["objects"]) == len(found.boxes)


def test_output_bag_mirrors_the_node(weights, raw_drive, raw_eval) -> None:
    inputs = read_all(raw_drive[0])[RAW]
    outputs = read_all(raw_eval / "bag")
    assert set(outputs) == {f"{NODE}/{name}" for name in (*RECORDED_OUTPUTS, "label_info")}
    (_, label_info), *more = outputs.pop(f"{NODE}/label_info")  # once, as the node latches it
    assert not more and [c.class_name for c in label_info.class_map] == ["car"]
    markers = outputs.pop(f"{NODE}/markers")  # MarkerArray has no header of its own
    assert [t for t, _ in markers] == [t for t, _ in inputs]
    ground = (
        "grid",
        "free_space",
        "lane_points",
        "objects",
        "ego_lane/center",
        "ego_lane/left",
        "ego_lane/right",
        "tracked_objects",
        "lead_vehicle",
        "lanes",
    )
    for topic, items in outputs.items():
        assert [t for t, _ in items] == [t for t, _ in inputs], topic
        assert [messages.stamp_ns(m.header) for _, m in items] == [t for t, _ in inputs]
        frame = "base_link" if topic.endswith(ground) else "camera"
        assert {m.header.frame_id for _, m in items} == {frame}
    # Detections are the Pipeline's on the same batches (conf 0: max_detections boxes each).
    pipeline = Pipeline.from_weights(
        weights,
        input_size=(256, 384),
        detection=DetectionSettings(conf_threshold=0.0, max_detections=20),
    )
    images = [image_to_array(msg)[0] for _, msg in inputs]
    expected = [r for i in range(0, FRAMES, 4) for r in pipeline.run_batch(images[i : i + 4])]
    for result, (_, detections) in zip(expected, outputs[f"{NODE}/detections"], strict=True):
        boxes, scores, names = messages.detections_from_msg(detections)
        assert len(result) == 20
        np.testing.assert_allclose(boxes, result.boxes, atol=1e-4)
        np.testing.assert_allclose(scores, result.scores, rtol=1e-6)
        assert names == result.detection_names
        assert {d.header.frame_id for d in detections.detections} == {"camera"}
        assert ((boxes >= 0) & (boxes <= [*SIZE, *SIZE])).all()
    for _, mask in outputs[f"{NODE}/drivable_mask"]:
        pixels = image_to_array(mask)[0]
        assert (mask.encoding, mask.width, mask.height) == ("mono8", *SIZE)
        assert set(np.unique(pixels)) <= {0, 255}
    for _, grid in outputs[f"{NODE}/grid"]:
        assert (grid.info.width, grid.info.height) == (200, 100)
        assert grid.info.resolution == pytest.approx(0.2)
        assert (grid.info.origin.position.x, grid.info.origin.position.y) == (0.0, -10.0)
        values = set(np.unique(grid.data))
        assert values <= {-1, 0, 100} and -1 in values and len(values) > 1
    for _, cloud in outputs[f"{NODE}/lane_points"]:
        assert [f.name for f in cloud.fields] == ["x", "y", "z"] and cloud.point_step == 12
        points = np.frombuffer(cloud.data, np.float32).reshape(-1, 3)
        assert len(points) == cloud.width and (points[:, 2] == 0).all()


def test_planner_section_scores_tracking_everywhere_and_inside_the_grid(
    raw_drive, tmp_path
) -> None:
    """The built-in model's tracks scored twice: against every labelled vehicle, and inside
    the grid, where what lies beyond it is left out; together the two account for every true
    vehicle and every track, and report.md shows both."""
    out = tmp_path / "report"
    # the drive's two vehicles are about 21 and 31 m ahead: a 25 m grid leaves one out
    grid = "0,25,-10,10,0.2"
    assert run_cli("bag-eval", "--bag", raw_drive[0], "--topic", RAW, "--out", out,
                   "--grid", grid) == 0  # fmt: skip
    planner = json.loads((out / "report.json").read_text())["planner"]
    everything, in_grid = planner["tracking"], planner["tracking_in_grid"]
    assert planner["frames"] == FRAMES and everything["num_frames"] == FRAMES
    assert (everything["ignored_objects"], everything["ignored_predictions"]) == (0, 0)
    assert everything["num_objects"] > 0 and everything["num_predictions"] > 0
    for count in ("objects", "predictions"):
        assert in_grid[f"num_{count}"] + in_grid[f"ignored_{count}"] == everything[f"num_{count}"]
    assert in_grid["grid_m"] == {"x": [0.0, 25.0], "y": [-10.0, 10.0]}
    assert 0 < in_grid["num_objects"] < everything["num_objects"]
    assert set(planner["objects"]["position_error_rel"]) == {"0-10", "10-20", "20-30", "30-40"}
    report = (out / "report.md").read_text()
    assert "| tracking | every vehicle | vehicles inside the grid |" in report


def test_bad_frames_are_skipped_and_reported(weights, raw_drive, tmp_path, capsys) -> None:
    source = read_all(raw_drive[0])[RAW][:3]
    bag = tmp_path / "bad_frames"
    with BagWriter(bag, "mcap") as writer:
        for index, (log_ns, msg) in enumerate(source):
            if index == 1:
                msg.data = msg.data[:100]  # shorter than step * height
            writer.write(RAW, messages.IMAGE, log_ns, msg)
    out = tmp_path / "report"
    assert run_cli("bag-eval", "--bag", bag, "--topic", RAW, "-w", weights, "--out", out,
                   "--input-size", NET, "--intrinsics", "400,400,320,180",
                   "--grid", "0,20,-5,5,0.5") == 0  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert [r["index"] for r in report["per_frame"]] == [0, 2]
    assert report["frames_skipped"][0]["index"] == 1
    assert "expected step*height" in report["frames_skipped"][0]["reason"]
    assert report["metrics"] is None and report["camera_info"] is None
    # No camera_info in this bag: the ground outputs use --intrinsics and --grid.
    (_, grid), _ = read_all(out / "bag")[f"{NODE}/grid"]
    assert (grid.info.width, grid.info.height, grid.info.resolution) == (40, 20, 0.5)


def damage(bag: Path, tmp_path: Path, how: str) -> Path:
    """A copy of the bag with its storage file truncated to half or overwritten in the middle."""
    copy = tmp_path / f"{how}_{bag.parent.name}"
    shutil.copytree(bag, copy)
    (storage,) = [p for p in copy.iterdir() if p.suffix in (".mcap", ".db3")]
    data = bytearray(storage.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    else:
        data[1000:200_000] = b"\x17" * 199_000
    storage.write_bytes(bytes(data))
    return copy


@pytest.mark.parametrize("how", ["truncated", "overwritten"])
def test_damaged_bags_give_one_clear_line(
    weights, raw_drive, compressed_drive, tmp_path, capsys, how
) -> None:
    for bag, topic in ((raw_drive[0], RAW), (compressed_drive[0], COMPRESSED)):
        broken = damage(bag, tmp_path, how)
        out = tmp_path / f"out_{broken.name}"
        assert run_cli("bag-eval", "--bag", broken, "--topic", topic, "-w", weights,
                       "--out", out, "--input-size", NET) == 2  # fmt: skip
        error = capsys.readouterr().err.strip()
        assert error.startswith("hybridnets bag-eval: error: bag ") and "\n" not in error
        assert "truncated or corrupt" in error or "cannot decode" in error, error
        assert not (out / "bag").exists()
        assert not out.exists() or not [p for p in out.iterdir() if p.name.startswith(".")]


def test_missing_topic_lists_the_topics(weights, raw_drive, tmp_path, capsys) -> None:
    assert run_cli("bag-eval", "--bag", raw_drive[0], "--topic", "/front/image", "-w", weights,
                   "--out", tmp_path / "out") == 2  # fmt: skip
    error = capsys.readouterr().err.strip()
    assert "topic /front/image is not in bag" in error and "\n" not in error
    assert f"{RAW} (sensor_msgs/msg/Image, {FRAMES} msgs)" in error
    assert "/ground_truth/detections (vision_msgs/msg/Detection2DArray" in error
    assert run_cli("bag-eval", "--bag", raw_drive[0], "--topic", "/camera/camera_info",
                   "-w", weights, "--out", tmp_path / "out") == 2  # fmt: skip
    assert "carries sensor_msgs/msg/CameraInfo" in capsys.readouterr().err
    assert run_cli("bag-eval", "--bag", tmp_path, "--topic", RAW, "-w", weights,
                   "--out", tmp_path / "out") == 2  # fmt: skip
    assert "is not a rosbag2 bag" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "out" / "bag")


def test_live_replay_refuses_thread_flags_of_the_offline_replay(
    raw_drive, tmp_path, capsys
) -> None:
    """--threads sets the offline replay's runtime; a live replay runs in the node, whose
    `threads` parameter applies: refused in one line before anything is replayed."""
    assert run_cli("bag-eval", "--bag", raw_drive[0], "--topic", RAW, "--out", tmp_path / "out",
                   "--live", "--threads", 1) == 2  # fmt: skip
    error = capsys.readouterr().err.strip()
    assert "--threads/--thread-spin set the offline replay's outputs" in error
    assert "\n" not in error and not any((tmp_path / "out").glob("*"))
