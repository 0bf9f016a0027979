"""benchmarks/gpu_all.sh, the one GPU measurement: its dry run names only commands that exist
and accept their arguments, it stops at once without a GPU, and the bench options it relies on
(--batch, the onnxruntime-cuda backend) work on the CPU."""

from __future__ import annotations

import importlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hybridnets_core.cli.main import build_parser, main

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_all.sh"
CLI = ["-m", "hybridnets_core.cli.main"]
MOST_FILES_BACK = 8  # files a device run brings back from $OUT


def script(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run gpu_all.sh with OUT in tmp_path (and PATH without a GPU's tools left as it is)."""
    environment = {**os.environ, "OUT": str(tmp_path / "out"), "PYTHON": sys.executable, **env}
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, env=environment, timeout=60
    )


def dry_run_commands(tmp_path: Path, *args: str, **env: str) -> list[list[str]]:
    result = script(tmp_path, *args, **env)
    assert result.returncode == 0, result.stderr
    return [shlex.split(line) for line in result.stdout.splitlines()]


def test_dry_run_names_commands_that_exist_and_parse(tmp_path, monkeypatch) -> None:
    commands = dry_run_commands(tmp_path, "--dry-run")
    assert commands == dry_run_commands(tmp_path, GPU_ALL_DRY_RUN="1")  # the env var alike
    assert not (tmp_path / "out").exists()  # a dry run writes nothing
    outputs, benches = [], []
    for argv in commands:
        assert argv[0] == sys.executable
        if argv[1:3] == CLI:
            args = build_parser().parse_args(argv[3:])  # exits (fails the test) on a bad flag
            benches.append(args)
            outputs.append(Path(args.json))
            assert (REPO / args.image).is_file()
        else:
            path = REPO / argv[1]
            assert path.suffix == ".py" and path.is_file(), argv
            runs = subprocess.run(
                [sys.executable, str(path), "--help"], capture_output=True, text=True, timeout=60
            )
            assert runs.returncode == 0, runs.stderr
            monkeypatch.syspath_prepend(str(path.parent))
            monkeypatch.setattr(sys, "argv", argv[1:])
            parsed = importlib.import_module(path.stem).parse_args()
            outputs.append(parsed.out)
            assert parsed.cameras == [1, 4, 8] and parsed.rate == 30.0
            assert parsed.device == "cuda"
    # raw and end-to-end at batch 1 and 8, every backend the issue names in each run
    assert sorted((a.batch, a.end2end) for a in benches) == [
        (1, False),
        (1, True),
        (8, False),
        (8, True),
    ]
    for args in benches:
        assert args.backend == ["torch", "onnxruntime-cuda", "onnxruntime", "onnxruntime-int8"]
        assert (args.device, args.half, args.coef, args.input_size) == ("cuda", True, 3, (384, 640))
    assert all(path.parent == tmp_path / "out" for path in outputs)
    assert len(set(outputs)) == len(outputs) and len(outputs) + 1 <= MOST_FILES_BACK  # + gpu.txt


def test_usage_errors(tmp_path) -> None:
    result = script(tmp_path, "--fast")
    assert result.returncode == 2 and "usage: benchmarks/gpu_all.sh [--dry-run]" in result.stderr


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has a GPU")
def test_without_a_gpu_it_stops_at_once_with_the_reason(tmp_path) -> None:
    result = script(tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("gpu_all.sh: no NVIDIA GPU here")
    assert result.stderr.count("\n") == 1 and "--dry-run" in result.stderr
    assert not (tmp_path / "out").exists()


def test_bench_batches_and_exports_that_batch(tmp_path, dashcam_paths) -> None:
    out = tmp_path / "bench.json"
    argv = ["bench", "--random", "--coef", "0", "--input-size", "384x256", "--batch", "2"]
    argv += ["--backend", "torch,onnxruntime", "--runs", "2", "--warmup", "0"]
    assert main([*argv, "--image", str(dashcam_paths[0]), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["batch"] == 2
    assert {name: b["batch"] for name, b in report["backends"].items()} == {
        "torch": 2,
        "onnxruntime": 2,
    }
    assert report["backends"]["onnxruntime"]["provider"] == "CPUExecutionProvider"


def test_bench_cuda_backend_needs_a_cuda_device(capsys) -> None:
    argv = ["bench", "--random", "--coef", "0", "--backend", "torch,onnxruntime-cuda"]
    assert main(argv) == 2
    assert "onnxruntime-cuda needs --device cuda" in capsys.readouterr().err
