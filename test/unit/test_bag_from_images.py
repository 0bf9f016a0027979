"""`hybridnets bag-from-images`: the shipped dashcam frames and a video become camera bags with
camera_info that the project's reader reads back and bag-eval replays without labels; bad
inputs end in one line and leave nothing behind."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from bag_fixtures import read_all, run_cli

from hybridnets_core.media import read_image
from hybridnets_core.outputs import messages

DASHCAM = Path(__file__).resolve().parents[1] / "data" / "dashcam"
FILES = sorted(DASHCAM.glob("*.jpg"))
START_NS = 1_700_000_000 * messages.NS_PER_S
INFO = "/camera/camera_info"
CALIBRATION_YAML = """\
image_width: 1280
image_height: 720
camera_name: dashcam
camera_matrix:
  rows: 3
  cols: 3
  data: [1000.0, 0.0, 640.0, 0.0, 1001.0, 360.0, 0.0, 0.0, 1.0]
distortion_model: plumb_bob
distortion_coefficients:
  rows: 1
  cols: 5
  data: [-0.1, 0.01, 0.0, 0.0, 0.0]
rectification_matrix:
  rows: 3
  cols: 3
  data: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
projection_matrix:
  rows: 3
  cols: 4
  data: [980.0, 0.0, 641.0, 0.0, 0.0, 985.0, 361.0, 0.0, 0.0, 0.0, 1.0, 0.0]
"""


@pytest.fixture(scope="module")
def dashcam_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The six shipped frames as a raw MCAP bag with the guessed camera_info."""
    bag = tmp_path_factory.mktemp("dashcam") / "bag"
    assert run_cli("bag-from-images", "--images", DASHCAM, "--out", bag) == 0
    return bag


def test_dashcam_frames_read_back_with_stamps_and_a_guessed_camera_info(dashcam_bag) -> None:
    found = read_all(dashcam_bag)
    assert sorted(found) == [INFO, "/camera/image_raw"]
    images, infos = found["/camera/image_raw"], found[INFO]
    assert len(FILES) == len(images) == len(infos) == 6
    stamps = [START_NS + i * messages.NS_PER_S // 10 for i in range(6)]  # 10 Hz by default
    focal = 640 / math.tan(math.radians(65 / 2))  # the default 65 degree field of view
    for file, stamp, (image_log, image), (info_log, info) in zip(
        FILES, stamps, images, infos, strict=True
    ):
        assert image_log == info_log == messages.stamp_ns(image.header) == stamp
        assert messages.stamp_ns(info.header) == stamp
        assert image.header.frame_id == info.header.frame_id == "camera"
        assert (image.width, image.height, image.encoding) == (1280, 720, "bgr8")
        pixels = np.asarray(image.data).reshape(720, 1280, 3)
        assert np.array_equal(pixels, read_image(file))
        assert (info.width, info.height, info.distortion_model) == (1280, 720, "plumb_bob")
        np.testing.assert_allclose(info.k, [focal, 0, 639.5, 0, focal, 359.5, 0, 0, 1])
        np.testing.assert_allclose(info.p, [focal, 0, 639.5, 0, 0, focal, 359.5, 0, 0, 0, 1, 0])
        assert not np.any(info.d)


def test_bag_eval_runs_label_free_on_the_real_frames(dashcam_bag, tmp_path) -> None:
    out = tmp_path / "eval"
    assert run_cli("bag-eval", "--bag", dashcam_bag, "--topic", "/camera/image_raw",
                   "--out", out) == 0  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert report["frames_processed"] == 6
    assert report["frames_skipped"] == []
    assert (report["labels"], report["labelled_frames"], report["metrics"]) == (None, 0, None)
    assert (report["camera_info"], report["invalid_camera_info"]) == (INFO, 0)
    topics = report["output_topics"]
    # the camera_info gives the ground outputs a camera model, as the node would have
    assert topics["/hybridnets_node/detections"] == topics["/hybridnets_node/grid"] == 6
    assert (out / "report.md").is_file()


def test_compressed_sqlite_bag_keeps_the_jpeg_files_and_the_calibration(tmp_path) -> None:
    calibration = tmp_path / "dashcam.yaml"
    calibration.write_text(CALIBRATION_YAML)
    bag = tmp_path / "bag"
    assert run_cli("bag-from-images", "--images", DASHCAM, "--out", bag, "--compressed",
                   "--format", "sqlite3", "--camera-info", calibration, "--topic", "/dash/image",
                   "--frame-id", "dash_optical", "--fps", 4, "--start", 12.5) == 0  # fmt: skip
    assert (bag / "bag.db3").is_file()
    found = read_all(bag)
    assert sorted(found) == ["/dash/camera_info", "/dash/image/compressed"]
    for index, (file, (log_ns, image), (_, info)) in enumerate(
        zip(FILES, found["/dash/image/compressed"], found["/dash/camera_info"], strict=True)
    ):
        assert log_ns == messages.stamp_ns(info.header) == 12_500_000_000 + index * 250_000_000
        assert image.format == "jpeg" and bytes(image.data) == file.read_bytes()
        assert image.header.frame_id == info.header.frame_id == "dash_optical"
        assert (info.width, info.height, info.distortion_model) == (1280, 720, "plumb_bob")
        np.testing.assert_array_equal(info.k, [1000, 0, 640, 0, 1001, 360, 0, 0, 1])
        np.testing.assert_array_equal(info.d, [-0.1, 0.01, 0, 0, 0])
        np.testing.assert_array_equal(info.r, np.eye(3).reshape(-1))
        np.testing.assert_array_equal(info.p, [980, 0, 641, 0, 0, 985, 361, 0, 0, 0, 1, 0])


def write_video(path: Path, frames: int, fps: float, size: tuple[int, int]) -> list[np.ndarray]:
    """An mp4 of frames of distinct flat grey levels; returns the frames written."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened()
    images = [np.full((size[1], size[0], 3), 40 + 40 * i, np.uint8) for i in range(frames)]
    for image in images:
        writer.write(image)
    writer.release()
    return images


@pytest.mark.parametrize(("fps_flag", "step_ns"), [((), 80_000_000), (("--fps", 5), 200_000_000)])
def test_a_video_becomes_a_bag_at_its_own_or_the_given_rate(tmp_path, fps_flag, step_ns) -> None:
    video = tmp_path / "drive.mp4"
    written = write_video(video, 5, 12.5, (320, 240))
    bag = tmp_path / "bag"
    assert run_cli("bag-from-images", "--video", video, "--out", bag, "--hfov", 90,
                   *fps_flag) == 0  # fmt: skip
    found = read_all(bag)
    images, infos = found["/camera/image_raw"], found[INFO]
    assert len(images) == len(infos) == 5
    for index, (image, (_, msg), (_, info)) in enumerate(zip(written, images, infos, strict=True)):
        assert messages.stamp_ns(msg.header) == START_NS + index * step_ns
        pixels = np.asarray(msg.data).reshape(240, 320, 3).astype(int)
        assert np.abs(pixels - image).mean() < 3  # mp4v is lossy; frame order is kept
        np.testing.assert_allclose(info.k, [160, 0, 159.5, 0, 160, 119.5, 0, 0, 1])  # 90 deg


def fails(capsys: pytest.CaptureFixture[str], *args: object) -> str:
    """Run the command, expect the one-line error exit and return the line (stderr's last:
    the progress bar comes before it)."""
    assert run_cli("bag-from-images", *args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("hybridnets bag-from-images: error: "), err
    return line


def test_bad_inputs_give_one_line_and_leave_nothing(tmp_path, capsys) -> None:
    out = tmp_path / "out" / "bag"
    out.parent.mkdir()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "holds no images" in fails(capsys, "--images", empty, "--out", out)

    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(FILES[0], mixed / "a.jpg")
    cv2.imwrite(str(mixed / "b.png"), np.zeros((360, 640, 3), np.uint8))
    line = fails(capsys, "--images", mixed, "--out", out)
    assert f"{mixed / 'b.png'} is 640x360 but {mixed / 'a.jpg'} is 1280x720" in line

    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(FILES[0], broken / "a.jpg")
    (broken / "b.jpg").write_bytes(b"not a jpeg")
    assert f"cannot decode image {broken / 'b.jpg'}" in fails(capsys, "--images", broken,
                                                              "--out", out)  # fmt: skip

    assert "does not exist" in fails(capsys, "--video", tmp_path / "none.mp4", "--out", out)

    small = tmp_path / "small.yaml"
    small.write_text(CALIBRATION_YAML.replace("1280", "640").replace("720", "360"))
    line = fails(capsys, "--images", DASHCAM, "--out", out, "--camera-info", small)
    assert "camera_info is for 640x360 images but" in line
    partial = tmp_path / "partial.yaml"
    partial.write_text(CALIBRATION_YAML.split("distortion_model")[0])
    line = fails(capsys, "--images", DASHCAM, "--out", out, "--camera-info", partial)
    assert f"camera_info file {partial} lacks distortion_model" in line
    short = tmp_path / "short.yaml"
    short.write_text(CALIBRATION_YAML.replace("data: [1000.0, 0.0, 640.0, ", "data: ["))
    line = fails(capsys, "--images", DASHCAM, "--out", out, "--camera-info", short)
    assert f"{short}: camera_matrix holds 6 values, not rows x cols" in line
    flat = tmp_path / "flat.yaml"
    flat.write_text(CALIBRATION_YAML.replace("1000.0", "0.0"))  # an uncalibrated all-zero fx
    line = fails(capsys, "--images", DASHCAM, "--out", out, "--camera-info", flat)
    assert line.startswith(f"hybridnets bag-from-images: error: camera_info file {flat}: ")
    assert list(out.parent.iterdir()) == []  # no bag and no staging folder left

    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert "exists; choose another output path" in fails(capsys, "--images", DASHCAM,
                                                         "--out", out)  # fmt: skip
    assert [p.name for p in out.parent.iterdir()] == ["bag"]
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
