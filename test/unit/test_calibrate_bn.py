"""`hybridnets calibrate-bn`: BatchNorm statistics re-estimated from training images."""

from __future__ import annotations

import torch
from dataset_fixtures import (
    NETWORK,
    plain_project,  # noqa: F401 (fixture)
    synthetic_dataset,  # noqa: F401 (fixture)
)

from hybridnets_core import HybridNets
from hybridnets_core.cli.main import main
from hybridnets_core.data import load_project
from hybridnets_core.model.checkpoint import load_model, save_checkpoint


def test_statistics_move_to_the_data_and_weights_stay(tmp_path, plain_project, synthetic_dataset):  # noqa: F811
    project = load_project(plain_project, synthetic_dataset)
    config = project.model_config(0, input_size=(128, 256))
    torch.manual_seed(0)
    start = tmp_path / "start.pth"
    save_checkpoint(start, HybridNets.from_config(config), config)
    out = tmp_path / "calibrated.pth"
    args = ["calibrate-bn", "-p", plain_project, "--data", synthetic_dataset, "--image-size",
            NETWORK, "-w", start, "-o", out, "--batches", "2", "-b", "2", "-n", "0"]  # fmt: skip
    assert main([str(a) for a in args]) == 0
    before, _ = load_model(start)
    after, after_config = load_model(out)
    assert after_config == config
    stem_before, stem_after = before.encoder._bn0, after.encoder._bn0
    assert torch.equal(stem_before.weight, stem_after.weight)  # learnt weights untouched
    assert torch.all(stem_before.running_mean == 0) and torch.all(stem_before.running_var == 1)
    assert not torch.allclose(stem_after.running_mean, stem_before.running_mean)
    assert stem_after.momentum == stem_before.momentum  # restored after averaging


def test_rejects_batches_of_one(tmp_path, plain_project, synthetic_dataset, capsys):  # noqa: F811
    args = ["calibrate-bn", "-p", plain_project, "--data", synthetic_dataset, "-w", tmp_path / "x",
            "-o", tmp_path / "y", "-b", "1"]  # fmt: skip
    assert main([str(a) for a in args]) == 2
    assert "batch_size >= 2" in capsys.readouterr().err
