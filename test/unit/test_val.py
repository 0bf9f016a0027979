"""`hybridnets val` on a tiny synthetic set with networks whose outputs are known exactly."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from dataset_fixtures import (
    NETWORK,
    plain_project,  # noqa: F401 (fixture)
    synthetic_dataset,  # noqa: F401 (fixture)
)

from hybridnets_core import HybridNets
from hybridnets_core.cli.main import main
from hybridnets_core.data import load_project
from hybridnets_core.inference.letterbox import Letterbox
from hybridnets_core.model.checkpoint import save_checkpoint

VEHICLES = ("car", "truck", "bus")


def constant_checkpoint(
    path: Path, project: Path, class_bias: float, seg_bias: list[float]
) -> Path:
    """Coefficient-0 network whose heads ignore the image: every anchor has score
    sigmoid(class_bias) and zero box deltas, every pixel has logits `seg_bias`."""
    config = load_project(project).model_config(0, (128, 256))
    torch.manual_seed(0)
    model = HybridNets.from_config(config)
    with torch.no_grad():
        for head, bias in ((model.classifier, class_bias), (model.regressor, 0.0)):
            head.header.pointwise_conv.conv.weight.zero_()
            head.header.pointwise_conv.conv.bias.fill_(bias)
        model.segmentation_head[0].weight.zero_()
        model.segmentation_head[0].bias.copy_(torch.tensor(seg_bias))
    save_checkpoint(path, model, config)
    return path


def truth_at_network_size(root: Path) -> tuple[list[dict[str, np.ndarray]], int]:
    """Letterboxed background/road/lane truth of each val frame, and the number of vehicles."""
    frames, vehicles = [], 0
    for image in sorted((root / "imgs/val").glob("*.jpg")):
        drivable = cv2.imread(str(root / "da_seg_annot/val" / f"{image.stem}.png"), 0) > 0
        lane = cv2.imread(str(root / "ll_seg_annot/val" / f"{image.stem}.png"), 0) > 0
        box = Letterbox.fit(drivable.shape, (128, 256))
        maps = {}
        for name, mask in (("road", drivable), ("lane", lane)):  # the paper's label rule:
            small = cv2.resize(  # area-resize the 0/255 label image, any value > 0 counts
                mask.astype(np.uint8) * 255, box.resized_size[::-1], interpolation=cv2.INTER_AREA
            )
            full = np.zeros((128, 256), bool)
            full[box.content_slice] = small > 0
            maps[name] = full
        maps["road"] &= ~maps["lane"]  # lane over road, after resizing
        maps["background"] = ~(maps["road"] | maps["lane"])
        maps["content"] = np.zeros((128, 256), bool)
        maps["content"][box.content_slice] = True
        frames.append(maps)
        record = json.loads((root / "det_annot/val" / f"{image.stem}.json").read_text())
        objects = record["frames"][0]["objects"]
        vehicles += sum(o["category"] in VEHICLES and "box2d" in o for o in objects)
    return frames, vehicles


def run_val(project: Path, data: Path, weights: Path, out: Path, *extra: str) -> dict:
    args = ["val", "-p", project, "--data", data, "-w", weights, "--image-size", NETWORK,
            "-n", "0", "--out", out, *extra]  # fmt: skip
    assert main([str(a) for a in args]) == 0
    return json.loads((out / "metrics.json").read_text())


def test_val_all_background_no_boxes(tmp_path, plain_project, synthetic_dataset) -> None:  # noqa: F811
    weights = constant_checkpoint(tmp_path / "bg.pth", plain_project, -20.0, [5.0, 0.0, 0.0])
    report = run_val(plain_project, synthetic_dataset, weights, tmp_path / "out")
    frames, vehicles = truth_at_network_size(synthetic_dataset)
    det = report["detection"]
    assert det["detections"] == 0 and det["per_class"]["car"]["boxes"] == vehicles > 0
    assert det["mAP50"] == det["recall"] == 0.0
    # prediction is background everywhere: IoU(background) = share of true background,
    # IoU(road) = 0, lane IoU 0, lane balanced accuracy (0 + 1) / 2
    paper = np.mean([f["background"].mean() / 2 for f in frames])
    inner = np.mean([f["background"][f["content"]].mean() / 2 for f in frames])
    assert report["segmentation"]["paper"]["drivable_miou"] == pytest.approx(paper)
    assert report["segmentation"]["no_padding"]["drivable_miou"] == pytest.approx(inner)
    assert paper > inner  # padding is background and counts as right in the paper's protocol
    for variant in ("paper", "no_padding"):
        assert report["segmentation"][variant]["lane_iou"] == 0.0
        assert report["segmentation"][variant]["lane_accuracy"] == 0.5
    assert report["images"] == 2 and report["conf_threshold"] == 0.001
    assert (tmp_path / "out/pr_curve.png").is_file()
    assert (tmp_path / "out/confusion_matrix.png").is_file()


def test_val_all_road_and_detection_cap(tmp_path, plain_project, synthetic_dataset) -> None:  # noqa: F811
    weights = constant_checkpoint(tmp_path / "road.pth", plain_project, 20.0, [0.0, 5.0, 0.0])
    report = run_val(plain_project, synthetic_dataset, weights, tmp_path / "out", "--max_det", "7")
    frames, _ = truth_at_network_size(synthetic_dataset)
    # road everywhere: IoU(background) = 0, IoU(road) = share of true road
    paper = np.mean([f["road"].mean() / 2 for f in frames])
    inner = np.mean([f["road"][f["content"]].mean() / 2 for f in frames])
    assert report["segmentation"]["paper"]["drivable_miou"] == pytest.approx(paper)
    assert report["segmentation"]["no_padding"]["drivable_miou"] == pytest.approx(inner)
    assert report["segmentation"]["paper"]["iou_road"] == pytest.approx(2 * paper)
    assert report["detection"]["detections"] == 2 * 7  # every anchor scores 1; cap per image
    assert report["max_detections"] == 7


def assert_close_metrics(got: object, want: object, path: str = "") -> None:
    """Same report structure; numbers within 0.02 (tied scores may reorder by 1e-7)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), path
        for key in want:
            assert_close_metrics(got[key], want[key], f"{path}/{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for index, (ours, theirs) in enumerate(zip(got, want)):
            assert_close_metrics(ours, theirs, f"{path}/{index}")
    elif isinstance(want, float):
        assert got == pytest.approx(want, abs=0.02), path
    else:
        assert got == want, path


def test_val_scores_an_export_like_its_checkpoint(
    tmp_path,
    plain_project,  # noqa: F811
    synthetic_dataset,  # noqa: F811
) -> None:
    """The vehicle's file is what gets evaluated: a batch-1 export, run by val in batches."""
    config = load_project(plain_project).model_config(0, (128, 256))
    torch.manual_seed(3)
    weights = tmp_path / "random.pth"
    save_checkpoint(weights, HybridNets.from_config(config).eval(), config)
    export = tmp_path / "random.onnx"
    argv = ["export", "-w", weights, "--height", 128, "--width", 256, "-o", export]
    assert main([str(a) for a in argv]) == 0
    want = run_val(plain_project, synthetic_dataset, weights, tmp_path / "torch")
    got = run_val(
        plain_project, synthetic_dataset, export, tmp_path / "onnx", "--backend", "onnxruntime"
    )
    assert want["detection"]["detections"] > 0
    assert_close_metrics(got, want)


def test_val_rejects_an_export_for_other_classes(
    tmp_path,
    small_checkpoint,
    plain_project,  # noqa: F811
    synthetic_dataset,  # noqa: F811
    capsys,
) -> None:
    export = tmp_path / "two_classes.onnx"
    argv = ["export", "-w", small_checkpoint, "--height", 128, "--width", 256, "-o", export]
    assert main([str(a) for a in argv]) == 0
    args = ["val", "-p", plain_project, "--data", synthetic_dataset, "-w", export,
            "--backend", "onnxruntime", "-n", "0", "--out", tmp_path / "out"]  # fmt: skip
    assert main([str(a) for a in args]) == 2
    error = capsys.readouterr().err
    assert "detects ['car', 'truck']" in error and "export a checkpoint trained" in error
    assert error.count("\n") == 1
