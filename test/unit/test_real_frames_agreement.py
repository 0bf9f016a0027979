"""The label-free tools on the shipped real dashcam frames (a bag made by bag-from-images): a
faithful export passes the accuracy gate there, and bag-eval compares it with its checkpoint,
both agreeing to within 1 %."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from agreement_fixtures import run_cli

from hybridnets_core.model.checkpoint import default_weights_path

DASHCAM = Path(__file__).resolve().parents[1] / "data" / "dashcam"
TOPIC = "/camera/image_raw"


@pytest.fixture(scope="module")
def dashcam_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bag = tmp_path_factory.mktemp("real") / "dashcam"
    assert run_cli("bag-from-images", "--images", DASHCAM, "--out", bag) == 0
    return bag


def test_an_export_gated_and_compared_on_real_frames(dashcam_bag, tmp_path, capsys) -> None:
    output = tmp_path / "exports" / "model.onnx"
    assert run_cli("export", "--input-size", "512x256", "-o", output, "--gate-bag", dashcam_bag,
                   "--max-drop", 0.01) == 0  # fmt: skip
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith(f"gate passed on {dashcam_bag}"), line
    assert float(re.search(r"agreement ([0-9.]+)", line).group(1)) >= 0.99, line
    report_dir = tmp_path / "eval"
    assert run_cli("bag-eval", "--bag", dashcam_bag, "--topic", TOPIC, "--out", report_dir,
                   "-w", output, "--backend", "onnxruntime",
                   "--reference", default_weights_path()) == 0  # fmt: skip
    agreement = json.loads((report_dir / "report.json").read_text())["agreement"]
    assert agreement["frames"] == len(list(DASHCAM.glob("*.jpg")))
    assert agreement["detection"]["f1"] >= 0.99
    assert agreement["drivable_iou"] >= 0.99 and agreement["lane_iou"] >= 0.99
    assert len(agreement["worst_frames"]) == agreement["frames"]  # fewer frames than ten
