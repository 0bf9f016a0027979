"""Everything that does not need the network's weights in torch runs with torch unimportable:
synthetic data, bag evaluation of an ONNX export and an ONNX Runtime Pipeline (a vehicle that
deploys the INT8 export installs no torch); the node is checked in the process tier."""

# ruff: noqa: F811  (the fixtures imported from helper modules are requested by name)

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from cli_forks import run_cli_processes
from export_fixtures import end2end_export, raw_export, varied_checkpoint  # noqa: F401
from import_block import blocked_env, no_torch  # noqa: F401 (fixture)

from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.media import read_image
from hybridnets_core.settings import DetectionSettings

CAMERA = "/camera/image_raw"

# Runs an ONNX Runtime Pipeline on one image and reports what it found and what was imported.
PIPELINE_SCRIPT = """
import json, sys
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.media import read_image
from hybridnets_core.settings import DetectionSettings

pipeline = Pipeline.from_weights(sys.argv[1], backend="onnxruntime")
result = pipeline(read_image(sys.argv[2]), detection=DetectionSettings(conf_threshold=0.05))
try:
    import torch
    blocked = False
except ImportError:
    blocked = True
heavy = ("torch", "efficientnet_pytorch")
loaded = sorted(name for name in sys.modules if name.split(".")[0] in heavy)
print(json.dumps({"boxes": result.boxes.tolist(), "masks": sorted(result.masks),
                  "blocked": blocked, "loaded": loaded}))
"""


def test_the_shim_blocks_torch(no_torch: Path) -> None:
    """The premise of this file: with the shim, `import torch` fails."""
    done = subprocess.run(
        [sys.executable, "-c", "import torch"],
        env=blocked_env(no_torch),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 1 and "No module named 'torch' (blocked)" in done.stderr


def test_cli_synth_and_onnx_bag_eval_without_torch(
    no_torch: Path,
    raw_export: Path,
    dashcam_paths: list[Path],
    tmp_path: Path,
) -> None:
    """`--help`, synth, synth-bag and bag-eval of an ONNX export, each in a child process
    that cannot import torch; a torch-only command says what is missing in one line."""
    dataset, bag, report = tmp_path / "synth", tmp_path / "drive", tmp_path / "eval"
    cases = [
        ["--help"],
        ["synth", "--out", dataset, "--train", 2, "--val", 1, "--size", "256x128"],
        ["synth-bag", "--out", bag, "--frames", 3, "--size", "256x128"],
        ["bag-eval", "--bag", bag, "--topic", CAMERA, "-w", raw_export,
         "--backend", "onnxruntime", "--out", report],
        ["predict", "--source", dashcam_paths[0], "--output", tmp_path / "predictions"],
    ]  # fmt: skip
    help_, synth, synth_bag, evaluate, predict = run_cli_processes(cases, extra_path=no_torch)
    assert help_.code == 0 and "bag-eval" in help_.stdout, help_.stderr[-2000:]
    assert synth.code == 0, synth.stderr[-2000:]
    assert len(list((dataset / "imgs" / "train").iterdir())) == 2
    assert len(list((dataset / "imgs" / "val").iterdir())) == 1
    assert synth_bag.code == 0 and (bag / "metadata.yaml").is_file(), synth_bag.stderr[-2000:]
    assert evaluate.code == 0, evaluate.stderr[-2000:]
    replay = json.loads((report / "report.json").read_text())
    assert replay["frames_processed"] == 3 and replay["frames_skipped"] == []
    line = predict.one_line_error("predict")
    assert "needs torch" in line and "backend 'onnxruntime'" in line


def test_onnx_pipeline_without_torch(
    no_torch: Path,
    raw_export: Path,
    end2end_export: Path,
    dashcam_paths: list[Path],
) -> None:
    """Raw and end-to-end exports run in a process without torch and find exactly what they
    find here, where torch is importable."""
    image = dashcam_paths[0]
    for export in (raw_export, end2end_export):
        done = subprocess.run(
            [sys.executable, "-c", PIPELINE_SCRIPT, str(export), str(image)],
            env=blocked_env(no_torch),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        found = json.loads(done.stdout.strip().splitlines()[-1])
        assert found["blocked"] and found["loaded"] == []
        pipeline = Pipeline.from_weights(export, backend="onnxruntime")
        want = pipeline(read_image(image), detection=DetectionSettings(conf_threshold=0.05))
        assert found["masks"] == sorted(want.masks)
        np.testing.assert_allclose(np.array(found["boxes"]).reshape(-1, 4), want.boxes, atol=1e-4)
        assert len(want.boxes) > 0
