"""`hybridnets train` on CPU: loss goes down, checkpoints resume exactly, torchrun works."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import torch
from dataset_fixtures import (
    NETWORK,
    make_dataset,
    plain_project,  # noqa: F401 (fixture)
    synthetic_dataset,  # noqa: F401 (fixture)
)

from hybridnets_core.cli.main import main
from hybridnets_core.model.checkpoint import load_model

COMMON = ("-c", "0", "-n", "0", "--image-size", NETWORK, "--no-progress")


def train(project: Path, data: Path, runs: Path, *extra: str) -> int:
    args = ("train", "-p", project, "--data", data, "--saved_path", runs, *COMMON, *extra)
    return main([str(a) for a in args])


def rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "results.csv").open() as stream:
        return list(csv.DictReader(stream))


def test_training_lowers_the_loss_and_validates(tmp_path, plain_project, synthetic_dataset) -> None:  # noqa: F811
    assert train(plain_project, synthetic_dataset, tmp_path, "-b", "4", "--num_epochs", "10",
                 "--val_interval", "10", "--lr", "1e-2") == 0  # fmt: skip
    run = tmp_path / "synthetic"
    log = rows(run)
    assert [int(r["epoch"]) for r in log] == list(range(1, 11))
    assert [int(r["step"]) for r in log] == list(range(1, 11))  # one batch of 4 per epoch
    losses = [float(r["loss"]) for r in log]
    assert sum(losses[-3:]) < 0.8 * sum(losses[:3]), losses
    assert log[0]["mAP50"] == "" and 0 <= float(log[-1]["drivable_miou"]) <= 1
    for name in ("last.pth", "best.pth", "results.png", "val/metrics.json", "val/pr_curve.png"):
        assert (run / name).is_file(), name
    assert any((run / "tensorboard").iterdir())
    _, config = load_model(run / "last.pth")
    assert config.compound_coef == 0 and config.input_size == (128, 256)
    state = torch.load(run / "last.pth", weights_only=False)
    assert (state["epoch"], state["step"]) == (10, 10) and "optimizer" in state


def test_resume_continues_exactly(tmp_path, plain_project, synthetic_dataset) -> None:  # noqa: F811
    straight, split = tmp_path / "straight", tmp_path / "split"
    base = ("-b", "2", "--val_interval", "0", "--num_epochs")
    assert train(plain_project, synthetic_dataset, straight, *base, "2") == 0
    assert train(plain_project, synthetic_dataset, split, *base, "1") == 0
    assert train(plain_project, synthetic_dataset, split, *base, "2", "-w", "last") == 0
    one = torch.load(straight / "synthetic/last.pth", weights_only=False)
    two = torch.load(split / "synthetic/last.pth", weights_only=False)
    assert (one["epoch"], one["step"]) == (two["epoch"], two["step"]) == (2, 4)
    for key, tensor in one["model"].items():
        assert torch.equal(tensor, two["model"][key]), key
    assert [r["step"] for r in rows(split / "synthetic")] == ["2", "4"]
    assert rows(split / "synthetic")[1]["loss"] == rows(straight / "synthetic")[1]["loss"]


def test_staged_start_from_weights_and_freeze(tmp_path, plain_project, synthetic_dataset) -> None:  # noqa: F811
    base = ("-b", "2", "--val_interval", "0", "--num_epochs", "1")
    assert train(plain_project, synthetic_dataset, tmp_path, *base, "--freeze_seg") == 0
    first = tmp_path / "synthetic/last.pth"
    assert rows(tmp_path / "synthetic")[0]["seg_loss"] == "0"
    assert train(plain_project, synthetic_dataset, tmp_path, *base, "-w", first, "--name",
                 "stage2", "--freeze_backbone", "--freeze_det") == 0  # fmt: skip
    before = torch.load(first, weights_only=False)["model"]
    after = torch.load(tmp_path / "stage2/last.pth", weights_only=False)["model"]
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("encoder."))
    assert not torch.equal(
        before["segmentation_head.0.weight"], after["segmentation_head.0.weight"]
    )
    assert (
        train(plain_project, synthetic_dataset, tmp_path, *base, "-w", "last", "--name", "stage2")
        == 2
    )  # fmt: skip  (freeze flags differ from the checkpoint)


def test_broken_dataset_gets_the_summary(tmp_path, plain_project, capsys) -> None:  # noqa: F811
    root = make_dataset(tmp_path / "data", train=3, val=1)
    (root / "imgs/train/train_000001.jpg").write_bytes(b"broken")
    assert train(plain_project, root, tmp_path, "--num_epochs", "1") == 2
    err = capsys.readouterr().err
    assert "3 frames, 2 usable" in err and "unreadable image: 1" in err
    assert "--skip-invalid" in err and "Traceback" not in err
    assert train(plain_project, root, tmp_path, "--num_epochs", "1", "-b", "2", "--val_interval",
                 "0", "--skip-invalid") == 0  # fmt: skip
    assert rows(tmp_path / "synthetic")[0]["step"] == "1"


def test_torchrun_two_cpu_processes(tmp_path, plain_project, synthetic_dataset) -> None:  # noqa: F811
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "hybridnets_core.cli.main", "train", "-p", str(plain_project), "--data",
        str(synthetic_dataset), "--saved_path", str(tmp_path), *COMMON, "-b", "1",
        "--num_epochs", "1", "--val_interval", "1",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    log = rows(tmp_path / "synthetic")
    assert len(log) == 1 and log[0]["step"] == "2"  # 4 images, 2 processes, batch 1 each
    assert done.stdout.count("trained to epoch 1") == 1  # only the main process reports
    assert (tmp_path / "synthetic/val/metrics.json").is_file()
