"""scripts/build_default_model.py --smoke in pieces: killed (SIGTERM) in stage B, continued with
more stage-A epochs (stage A resumes with `-w last`) and stopped after calibration, finished
(model and held-out report), then rerun with every stage skipped."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import torch

from hybridnets_core.model.checkpoint import load_model, load_torch_file

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_default_model.py"
STAGES = ("synth", "heldout", "train-a", "train-b", "train-c", "calibrate", "model", "report")
TIMEOUT_S = 300


def build(work: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(SCRIPT), "--smoke", "--workers", "0", "--work", str(work)]
    return subprocess.run(
        [*command, *extra], capture_output=True, text=True, timeout=TIMEOUT_S, env=dict(os.environ)
    )


def progress(result: subprocess.CompletedProcess) -> dict[str, str]:
    """Each stage's last progress line, without the `[i/8] name:` prefix."""
    lines = {}
    for line in result.stdout.splitlines():
        head, _, rest = line.partition(": ")
        if head.startswith("[") and "] " in head:
            lines[head.split("] ", 1)[1]] = rest
    return lines


def epochs_logged(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "results.csv").open() as stream:
        return list(csv.DictReader(stream))


def interrupt_during(stage: str, work: Path, log: Path) -> subprocess.CompletedProcess:
    """Start a build and SIGTERM it once `stage` has started (killed at the deadline if that
    never happens, which fails the test)."""
    command = [sys.executable, str(SCRIPT), "--smoke", "--workers", "0", "--work", str(work)]
    with log.open("w") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
    watchdog = threading.Timer(TIMEOUT_S, process.kill)
    watchdog.start()
    try:
        seen = []
        for line in process.stdout:
            seen.append(line)
            if line.startswith(f"[{STAGES.index(stage) + 1}/8] {stage}: training"):
                process.send_signal(signal.SIGTERM)
        process.wait()
    finally:
        watchdog.cancel()
    return subprocess.CompletedProcess(command, process.returncode, "".join(seen), log.read_text())


def test_smoke_build_in_pieces(tmp_path) -> None:
    work = tmp_path / "work"
    killed = interrupt_during("train-b", work, tmp_path / "killed.log")
    assert killed.returncode == 130, killed.stderr[-2000:]
    assert "interrupted; run the same command again to continue" in killed.stderr
    assert list(progress(killed)) == ["synth", "heldout", "train-a", "train-b"]
    assert progress(killed)["train-a"].startswith("done in ")
    assert not (work / "runs/train-b/last.pth").exists() and not (work / "calibrated.pth").exists()
    epoch_one = epochs_logged(work / "runs/train-a")
    assert [row["epoch"] for row in epoch_one] == ["1"]

    # More stage-A epochs: stage A resumes from its last.pth, the stages after it start over.
    rest = build(work, "--epochs-a", "2", "--stop-after", "calibrate")
    assert rest.returncode == 0, rest.stderr[-2000:]
    assert "[3/8] train-a: resuming at epoch 1 of 2" in rest.stdout
    assert "train-a/last.pth at epoch 1, step 1" in rest.stdout  # the trainer resumed it
    assert [line.split(" ", 1)[0] for line in progress(rest).values()] == [
        "already", "already", "done", "done", "done", "done"
    ]  # fmt: skip
    assert "stopped after calibrate" in rest.stdout and not (work / "default.pth").exists()
    stage_a = epochs_logged(work / "runs/train-a")
    assert [(row["epoch"], row["step"]) for row in stage_a] == [("1", "1"), ("2", "2")]
    assert stage_a[0] == epoch_one[0]  # the finished epoch was kept, not trained again
    assert load_torch_file(work / "runs/train-a/last.pth")["epoch"] == 2

    final = build(work, "--epochs-a", "2")
    assert final.returncode == 0, final.stderr[-2000:]
    assert [line.split(" ", 1)[0] for line in progress(final).values()] == ["already"] * 6 + [
        "done"
    ] * 2
    model_path, report_path = work / "default.pth", work / "default_val_heldout.json"
    _, config = load_model(model_path)
    assert (config.compound_coef, config.obj_list) == (0, ["car"])
    assert config.seg_list == ["road", "lane"]
    assert config.input_size == (128, 384)
    stored = load_torch_file(model_path)
    assert set(stored) == {"format", "config", "model"}  # slim: no optimizer state
    assert all(t.dtype == torch.float16 for t in stored["model"].values() if t.is_floating_point())
    report = json.loads(report_path.read_text())
    assert set(report["protocols"]) == {"paper", "coco"}
    for name, metrics in report["protocols"].items():
        assert metrics["protocol"] == name and metrics["images"] == 4
        assert 0 <= metrics["detection"]["mAP50"] <= 1
        assert 0 <= metrics["segmentation"]["paper"]["drivable_miou"] <= 1
    assert list(report["stages"]) == list(STAGES)
    assert all(stage["seconds"] > 0 for stage in report["stages"].values())
    assert report["stages"]["train-b"]["commands"][0].endswith(
        "-w " + str(work / "runs/train-a/last.pth")
    )
    assert report["recipe"]["epochs_a"] == 2 and report["git"]["commit"]

    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (model_path, report_path)}
    again = build(work, "--epochs-a", "2")
    assert again.returncode == 0, again.stderr[-2000:]
    assert progress(again) == dict.fromkeys(STAGES, "already done, skipped")
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in before} == before

    other = build(work, "--seed", "3")
    assert other.returncode == 2
    assert other.stderr.strip().splitlines() == [
        f"build_default_model: error: {work} was started with other settings (seed 0, not 3); "
        "rerun with the options it was started with (--smoke, --seed) or use another --work"
    ]
