"""Model against model on a label-free bag (`bag-eval --reference`): a model agrees with
itself exactly, a perturbed head lowers exactly the metrics it feeds, the worst frames are
drawn side by side, and bad combinations end in one line."""

from __future__ import annotations

import json

import cv2
import pytest
from agreement_fixtures import FRAMES, TOPIC, perturbed_checkpoint, run_cli, tiny_drive

from hybridnets_core.bag.agreement import DISAGREEMENT
from hybridnets_core.bag.export_gate import compare_on_bag
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.model.checkpoint import default_weights_path

__all__ = ["tiny_drive"]


def test_a_model_agrees_with_itself_exactly_and_the_worst_frames_are_drawn(
    tiny_drive, tmp_path
) -> None:
    out = tmp_path / "eval"
    weights = default_weights_path()
    assert run_cli("bag-eval", "--bag", tiny_drive, "--topic", TOPIC, "--out", out,
                   "-w", weights, "--reference", weights) == 0  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    agreement = report["agreement"]
    assert agreement["frames"] == FRAMES and agreement["reference"] == str(weights)
    detection = agreement["detection"]
    assert detection["reference_boxes"] == detection["candidate_boxes"] == detection["matched"] > 0
    for key in ("precision", "recall", "f1", "mAP50"):
        assert detection[key] == 1.0, key
        assert detection["per_class"]["car"][key if key != "mAP50" else "AP50"] == 1.0
    assert agreement["score"] == agreement["drivable_iou"] == agreement["lane_iou"] == 1.0
    lateral = agreement["ego_lane"]["lateral_difference_m"]
    assert any(v is not None for v in lateral.values())
    assert all(v in (None, 0.0) for v in lateral.values())
    bins = agreement["objects"]["position_difference_m"].values()
    assert sum(row["count"] for row in bins) > 0
    assert all(row["median"] in (None, 0.0) for row in bins)
    assert agreement["tracking"]["pairs_compared"] > 0
    assert agreement["tracking"]["id_agreement"] == 1.0
    # every frame disagrees by 0, so all five are the "worst", earliest first
    worst = agreement["worst_frames"]
    assert agreement["disagreement"] == DISAGREEMENT
    assert [f["index"] for f in worst] == list(range(FRAMES))
    assert all(f["disagreement"] == 0.0 for f in worst)
    for frame in worst:
        overlay = cv2.imread(str(out / frame["overlay"]))
        assert overlay.shape == (180, 2 * 320, 3)  # candidate | reference
    markdown = (out / "report.md").read_text()
    assert f"## Agreement with the reference `{weights}`" in markdown
    assert f"]({worst[0]['overlay']})" in markdown


@pytest.fixture(scope="module")
def reference() -> Pipeline:
    return Pipeline.from_weights(default_weights_path())


def test_a_perturbed_classifier_lowers_detection_agreement_only(
    tiny_drive, reference, tmp_path
) -> None:
    candidate = Pipeline.from_weights(perturbed_checkpoint(tmp_path / "c.pth", "classifier"))
    summary = compare_on_bag(tiny_drive, TOPIC, candidate, reference, "built-in").summary()
    detection = summary["detection"]
    assert detection["f1"] < 0.9 and detection["mAP50"] < 1.0
    assert summary["score"] == detection["f1"]
    # the segmentation head does not see the classifier: masks and lanes agree exactly
    assert summary["drivable_iou"] == summary["lane_iou"] == 1.0
    assert all(v in (None, 0.0) for v in summary["ego_lane"]["lateral_difference_m"].values())
    worst = summary["worst_frames"]
    scores = [f["disagreement"] for f in worst]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0


def test_a_perturbed_segmentation_head_lowers_mask_agreement_only(
    tiny_drive, reference, tmp_path
) -> None:
    path = perturbed_checkpoint(tmp_path / "s.pth", "segmentation_head", scale=1.0)
    summary = compare_on_bag(
        tiny_drive, TOPIC, Pipeline.from_weights(path), reference, "b"
    ).summary()
    assert summary["detection"]["f1"] == summary["detection"]["mAP50"] == 1.0
    assert summary["drivable_iou"] < 0.99 and summary["lane_iou"] < 0.99
    assert summary["score"] == min(summary["drivable_iou"], summary["lane_iou"])


def test_bad_reference_options_end_in_one_line(tiny_drive, tmp_path, capsys) -> None:
    def fails(*args: object) -> str:
        assert run_cli("bag-eval", "--bag", tiny_drive, "--topic", TOPIC,
                       "--out", tmp_path / "o", *args) == 2  # fmt: skip
        err = capsys.readouterr().err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        return err

    assert "leave out --live" in fails("--reference", default_weights_path(), "--live")
    assert str(tmp_path / "none.pth") in fails("--reference", tmp_path / "none.pth")
