"""The `hybridnets` command line on real files: predict, bench, weights."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from hybridnets_core.cli.main import main
from hybridnets_core.settings import DetectionSettings


def run_cli(*args: str) -> int:
    return main([str(a) for a in args])


def test_predict_on_dashcam_folder(tmp_path, small_checkpoint, dashcam_paths) -> None:
    source = tmp_path / "frames"
    source.mkdir()
    for path in dashcam_paths[:2]:
        shutil.copy(path, source)
    out = tmp_path / "out"
    assert run_cli("predict", "-w", small_checkpoint, "--source", source, "--output", out,
                   "--conf", "0.05") == 0  # fmt: skip
    for path in dashcam_paths[:2]:
        overlay = cv2.imread(str(out / f"{path.stem}.jpg"))
        assert overlay.shape == (720, 1280, 3)
        report = json.loads((out / f"{path.stem}.json").read_text())
        assert report["image_size"] == {"height": 720, "width": 1280}
        for detection in report["detections"]:
            assert detection["class_name"] in ("car", "truck") and 0.05 < detection["score"] <= 1
        for seg in ("road", "lane"):
            mask = cv2.imread(str(out / f"{path.stem}_{seg}.png"), cv2.IMREAD_UNCHANGED)
            assert mask.shape == (720, 1280) and set(np.unique(mask)) <= {0, 255}
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_predict_skips_corrupt_image(tmp_path, small_checkpoint, dashcam_paths, capsys) -> None:
    source = tmp_path / "frames"
    source.mkdir()
    shutil.copy(dashcam_paths[0], source / "good.jpg")
    (source / "broken.jpg").write_bytes(dashcam_paths[1].read_bytes()[:300])
    out = tmp_path / "out"
    assert run_cli("predict", "-w", small_checkpoint, "--source", source, "--output", out) == 1
    assert "cannot decode image" in capsys.readouterr().err
    assert (out / "good.json").exists() and not (out / "broken.json").exists()


def test_predict_video(tmp_path, small_checkpoint, dashcam_frame) -> None:
    video = tmp_path / "drive.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 360))
    for shift in range(3):
        writer.write(np.roll(cv2.resize(dashcam_frame, (640, 360)), shift * 20, axis=1))
    writer.release()
    out = tmp_path / "out"
    assert run_cli("predict", "-w", small_checkpoint, "--source", video, "--output", out) == 0
    lines = (out / "drive.jsonl").read_text().splitlines()
    assert [json.loads(line)["name"] for line in lines] == [f"drive_{i:06d}" for i in range(3)]
    capture = cv2.VideoCapture(str(out / "drive_overlay.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    assert int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)) == 640


def test_predict_errors_are_one_line(tmp_path, small_checkpoint, dashcam_paths, capsys) -> None:
    assert run_cli("predict", "-w", tmp_path / "none.pth", "--source", tmp_path) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("hybridnets predict: error:") and "\n" not in error
    assert run_cli("predict", "-w", small_checkpoint, "--source", tmp_path / "missing.jpg") == 2
    assert "does not exist" in capsys.readouterr().err
    assert run_cli("predict", "-w", small_checkpoint, "--source", dashcam_paths[0],
                   "--input-size", "640x300") == 2  # fmt: skip
    assert "multiple of 128" in capsys.readouterr().err


def test_bench_writes_json(tmp_path, capsys) -> None:
    report_path = tmp_path / "bench.json"
    assert run_cli("bench", "--random", "-c", "0", "--size", "384x256", "--runs", "2",
                   "--warmup", "1", "--conf", "0.001", "--json", report_path) == 0  # fmt: skip
    report = json.loads(report_path.read_text())
    assert set(report["stages"]) == {"preprocess", "forward", "postprocess", "total"}
    assert report["input_size"] == [256, 384] and report["runs"] == 2 and report["fps"] > 0
    assert "FPS" in capsys.readouterr().out


@pytest.fixture()
def file_server(tmp_path):
    """A local HTTP server over tmp_path/served, for real downloads without the internet."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_weights_download_verifies_and_caches(tmp_path, file_server, small_checkpoint, capsys):
    served, url = file_server
    shutil.copy(small_checkpoint, served / "hybridnets.pth")
    digest = hashlib.sha256(small_checkpoint.read_bytes()).hexdigest()
    dest = tmp_path / "cache" / "hybridnets.pth"
    assert run_cli("weights", "download", "--url", f"{url}/hybridnets.pth", "--dest", dest,
                   "--sha256", digest) == 0  # fmt: skip
    assert dest.read_bytes() == small_checkpoint.read_bytes()
    assert digest in capsys.readouterr().out
    assert run_cli("weights", "download", "--url", f"{url}/hybridnets.pth", "--dest", dest) == 0
    assert "already present" in capsys.readouterr().out


def test_weights_download_rejects_bad_hash_and_junk(tmp_path, file_server, small_checkpoint):
    served, url = file_server
    shutil.copy(small_checkpoint, served / "hybridnets.pth")
    (served / "junk.pth").write_bytes(b"<html>not found</html>")
    dest = tmp_path / "cache" / "hybridnets.pth"
    assert run_cli("weights", "download", "--url", f"{url}/hybridnets.pth", "--dest", dest,
                   "--sha256", "0" * 64) == 2  # fmt: skip
    assert run_cli("weights", "download", "--url", f"{url}/junk.pth", "--dest", dest) == 2
    assert list((tmp_path / "cache").iterdir()) == []


def test_weights_download_offline_names_url_and_destination(tmp_path, capsys) -> None:
    dest = tmp_path / "cache" / "hybridnets.pth"
    assert run_cli("weights", "download", "--url", "http://127.0.0.1:9/hybridnets.pth",
                   "--dest", dest) == 2  # fmt: skip
    error = capsys.readouterr().err
    assert "http://127.0.0.1:9/hybridnets.pth" in error and str(dest) in error
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_installed_entry_point_runs(small_checkpoint) -> None:
    executable = Path(sys.executable).with_name("hybridnets")
    assert executable.exists(), "install the package (pip install -e .) to get the entry point"
    result = subprocess.run(
        [str(executable), "weights", "info", str(small_checkpoint)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "HybridNets coef 0" in result.stdout and "['car', 'truck']" in result.stdout


def test_weights_slim_half_keeps_results(tmp_path, small_checkpoint, dashcam_frame) -> None:
    from hybridnets_core import Pipeline

    slim = tmp_path / "slim.pth"
    assert run_cli("weights", "slim", small_checkpoint, slim, "--half") == 0
    assert slim.stat().st_size < 0.6 * small_checkpoint.stat().st_size
    full = Pipeline.from_weights(
        small_checkpoint, detection=DetectionSettings(conf_threshold=0.001)
    )(dashcam_frame)
    half = Pipeline.from_weights(slim, detection=DetectionSettings(conf_threshold=0.001))(
        dashcam_frame
    )
    assert len(half) == len(full) > 0
    np.testing.assert_allclose(half.scores, full.scores, atol=2e-3)
    road_agreement = (half.masks["road"] == full.masks["road"]).mean()
    assert road_agreement > 0.99


def test_output_flags_are_derived_from_the_output_settings() -> None:
    """bag-eval's node-mirroring flags: one per output setting, with the settings' defaults, so
    a replay with default flags makes what the node makes with default parameters."""
    from hybridnets_core.cli.main import build_parser
    from hybridnets_core.cli.output_options import output_settings_from_args
    from hybridnets_core.outputs.settings import OutputSettings

    parser = build_parser()
    base = ["bag-eval", "--bag", "b", "--topic", "/t", "--out", "o"]
    assert output_settings_from_args(parser.parse_args(base)) == OutputSettings()
    changed = output_settings_from_args(
        parser.parse_args(
            [*base, "--no-track-objects", "--no-camera-rectified", "--camera-info-tolerance",
             "0.2", "--grid", "0,30,-5,5,0.5", "--camera-pose", "1,0,2,0,0.1,0",
             "--grid-frame", "odom", "--no-publish-grid"]
        )
    )  # fmt: skip
    assert (changed.track_objects, changed.publish_grid) == (False, False)
    assert changed.ground.camera_info.rectified is False
    assert changed.ground.camera_info.info_tolerance == 0.2
    assert (changed.ground.grid.x_max, changed.ground.camera.pitch) == (30.0, 0.1)
    assert changed.ground.grid_frame == "odom"
