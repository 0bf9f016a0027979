"""The accuracy gate on exports (`hybridnets export --gate-bag`): a faithful fp32 export is kept,
an export that departs from its weights is refused in one line with nothing left behind."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from agreement_fixtures import TOPIC, perturbed_checkpoint, run_cli, tiny_drive

from hybridnets_core.bag.export_gate import ExportGate, gate_check, gated_write
from hybridnets_core.errors import ConfigError, OutputError
from hybridnets_core.export.exporter import ExportOptions, export_model
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.model.checkpoint import load_model

__all__ = ["tiny_drive"]
SIZE = "256x128"  # the smallest input the network takes: quick exports


def refused(capsys: pytest.CaptureFixture[str], *args: object) -> str:
    """Run export, expect the one-line error exit and return the line."""
    assert run_cli("export", *args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_a_faithful_fp32_export_passes_and_is_kept(tiny_drive, tmp_path, capsys) -> None:
    output = tmp_path / "exports" / "model.onnx"
    assert run_cli("export", "--input-size", SIZE, "-o", output, "--gate-bag", tiny_drive,
                   "--max-drop", 0.01) == 0  # fmt: skip
    line = capsys.readouterr().out.strip().splitlines()[-1]
    numbers = dict(re.findall(r"(agreement|F1|mAP50|drivable IoU|lane IoU) ([0-9.]+)", line))
    assert line.startswith(f"gate passed on {tiny_drive}") and len(numbers) == 5, line
    assert all(float(value) >= 0.99 for value in numbers.values()), line
    assert sorted(p.name for p in output.parent.iterdir()) == ["anchor_128_256.npy", "model.onnx"]


def test_an_int8_export_calibrated_on_blank_images_is_refused(tiny_drive, tmp_path, capsys):
    blank = tmp_path / "blank"
    blank.mkdir()
    for index in range(2):
        cv2.imwrite(str(blank / f"{index}.png"), np.zeros((180, 320, 3), np.uint8))
    output = tmp_path / "exports" / "int8.onnx"
    line = refused(capsys, "--input-size", SIZE, "-o", output, "--int8", "--calib", blank,
                   "--calib-images", 2, "--gate-bag", tiny_drive)  # fmt: skip
    assert "export refused: agreement with its weights" in line
    assert "> --max-drop 0.1; nothing was written" in line
    assert list(output.parent.iterdir()) == []  # no file, no anchors, no staging folder


def test_an_export_of_other_weights_is_refused_by_the_gate(tiny_drive, tmp_path) -> None:
    """The gate's two halves on an export that is not its reference's: the check refuses with
    the numbers, and the staged files are removed."""
    options = ExportOptions(input_size=(128, 256))
    model, config = load_model(
        perturbed_checkpoint(tmp_path / "p.pth", "classifier"), input_size=(128, 256)
    )
    reference = Pipeline.from_weights(None, input_size=(128, 256))
    output = tmp_path / "out" / "other.onnx"

    def write(path):
        result = export_model(model, config, path, options)
        return [result.onnx_path, result.anchors_path]

    gate = ExportGate(tiny_drive, TOPIC, max_drop=0.05)
    with pytest.raises(OutputError, match=r"detection F1 0\.[0-8]"):
        gated_write(write, output, lambda staged: gate_check(staged, reference, gate))
    assert list(output.parent.iterdir()) == []


def test_bad_gate_options_end_in_one_line(tiny_drive, tmp_path, capsys) -> None:
    output = tmp_path / "x.onnx"
    assert "need --gate-bag" in refused(capsys, "-o", output, "--max-drop", 0.2)
    assert "does not exist" in refused(capsys, "-o", output, "--gate-bag", tmp_path / "none")
    line = refused(capsys, "-o", output, "--gate-bag", tiny_drive, "--gate-topic", "/nope")
    assert "/nope" in line and not output.exists()
    with pytest.raises(ConfigError, match="--max-drop"):
        ExportGate(tiny_drive, max_drop=1.5)
