"""One camera's session without ROS: rosbags Image/CameraInfo messages through a real Pipeline
to the same messages `FrameOutputs` builds, with camera_info pairing, the ground mapping's
rebuilds and the latched class map reported per frame."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from hybridnets_core.bag.typestore import RosbagsFactory, typestore
from hybridnets_core.errors import ConfigError, InputError
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.outputs import messages
from hybridnets_core.outputs.frame import OUTPUT_TYPES, FrameOutputs
from hybridnets_core.outputs.settings import CameraInfoSettings, GroundSettings, OutputSettings
from hybridnets_core.scene.camera import CameraIntrinsics
from hybridnets_core.scene.ground import GridSpec
from hybridnets_core.serving.session import CameraImage, CameraSession
from hybridnets_core.settings import DetectionSettings

WIDTH, HEIGHT = 320, 240
START = 1_700_000_000_000_000_000
GRID = GridSpec(0.0, 20.0, -5.0, 5.0, 0.25)
SETTINGS = OutputSettings(
    ground=GroundSettings(grid=GRID, camera_info=CameraInfoSettings(info_tolerance=0.05))
)
FACTORY = RosbagsFactory()


@pytest.fixture(scope="module")
def pipeline(small_checkpoint: Path) -> Pipeline:
    return Pipeline.from_weights(
        small_checkpoint, detection=DetectionSettings(conf_threshold=0.0, max_detections=10)
    )


def pixels(seed: int) -> np.ndarray:
    """A smooth random BGR picture (compresses well, survives jpeg recognisably)."""
    small = np.random.default_rng(seed).integers(0, 256, (HEIGHT // 16, WIDTH // 16, 3))
    return cv2.resize(small.astype(np.uint8), (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)


def raw_message(stamp: int, image: np.ndarray, encoding: str = "bgr8") -> object:
    return messages.image(FACTORY, image, encoding, messages.header(FACTORY, stamp, "camera"))


def compressed_message(stamp: int, image: np.ndarray, fmt: str) -> object:
    ok, data = cv2.imencode(".png" if fmt == "png" else ".jpg", image)
    assert ok
    hdr = messages.header(FACTORY, stamp, "camera")
    return messages.compressed_image(FACTORY, data.tobytes(), fmt, hdr)


def camera_info_message(stamp: int, focal: float) -> object:
    camera = CameraIntrinsics(focal, focal, WIDTH / 2 - 0.5, HEIGHT / 2 - 0.5, WIDTH, HEIGHT)
    return messages.camera_info(FACTORY, camera, messages.header(FACTORY, stamp, "camera"))


def infer(pipeline: Pipeline, image: CameraImage):
    return pipeline.run_batch([image.pixels], image.color)[0]


def cdr(message: object, msgtype: str) -> bytes:
    return bytes(typestore().serialize_cdr(message, msgtype))


def test_raw_and_compressed_messages_decode_with_their_colour_order() -> None:
    session = CameraSession(FACTORY, SETTINGS, ["car"])
    image = pixels(1)
    bgr = session.decode(raw_message(START, image))
    assert np.array_equal(bgr.pixels, image) and bgr.color == "bgr"
    assert (bgr.stamp, bgr.header.frame_id) == (START, "camera") and bgr.decode_ms >= 0
    rgb = session.decode(raw_message(START + 1, image[..., ::-1].copy(), "rgb8"))
    assert np.array_equal(rgb.pixels, image[..., ::-1]) and rgb.color == "rgb"
    png = session.decode(compressed_message(START + 2, image, "png"))
    assert np.array_equal(png.pixels, image) and png.color == "bgr" and png.stamp == START + 2
    jpeg_msg = compressed_message(START + 3, image, "jpeg")
    expected = cv2.imdecode(np.frombuffer(bytes(jpeg_msg.data), np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(session.decode(jpeg_msg).pixels, expected)

    bad = raw_message(START + 4, image)
    bad.encoding = "32FC1"
    with pytest.raises(InputError, match="unsupported encoding"):
        session.decode(bad)
    corrupt = compressed_message(START + 5, image, "jpeg")
    corrupt.data = np.frombuffer(b"\xff\xd8\xff\xe0 not a jpeg", np.uint8)
    with pytest.raises(InputError, match="decode"):
        session.decode(corrupt)


def test_camera_info_pairs_each_image_with_its_own(pipeline: Pipeline) -> None:
    session = CameraSession(FACTORY, SETTINGS, pipeline.class_names)
    session.add_camera_info(camera_info_message(START, 300.0))
    session.add_camera_info(camera_info_message(START + 1_000_000_000, 600.0))
    uncalibrated = camera_info_message(START + 2_000_000_000, 300.0)
    uncalibrated.k = np.zeros(9)  # an uncalibrated camera's all-zero K
    uncalibrated.p = np.zeros(12)
    with pytest.raises(ConfigError):
        session.add_camera_info(uncalibrated)

    def focal(stamp: int, settings: OutputSettings = SETTINGS) -> float | None:
        model = session.camera_info(stamp, settings)
        return None if model is None else model.intrinsics.fx

    assert focal(START + 10_000_000) == 300.0
    assert focal(START + 1_040_000_000) == 600.0
    assert focal(START + 500_000_000) is None  # none within 50 ms
    latest = OutputSettings(ground=GroundSettings(grid=GRID))  # tolerance 0: the newest
    assert focal(START + 500_000_000, latest) == 600.0

    image = session.decode(raw_message(START + 20_000_000, pixels(2)))
    frame = session.process(infer(pipeline, image), image, {"detections", "grid"})
    assert frame.camera is not None and frame.camera.intrinsics.fx == 300.0
    assert "grid" in frame.messages
    unpaired = session.decode(raw_message(START + 500_000_000, pixels(3)))
    frame = session.process(infer(pipeline, unpaired), unpaired, {"detections", "grid"})
    assert frame.camera is None and set(frame.messages) == {"detections"}


def test_messages_equal_what_frame_outputs_builds(pipeline: Pipeline) -> None:
    """Three frames (the trackers see the same sequence): every output, byte for byte."""
    names = pipeline.class_names
    session = CameraSession(FACTORY, SETTINGS, names)
    direct = FrameOutputs(FACTORY, SETTINGS, names)
    info = camera_info_message(START, 300.0)
    session.add_camera_info(info)
    model = messages.camera_model_from_camera_info(info, rectified=True)
    for index in range(3):
        stamp = START + index * 10_000_000  # within 50 ms of the camera_info
        image = session.decode(raw_message(stamp, pixels(10 + index)))
        result = infer(pipeline, image)
        frame = session.process(result, image, OUTPUT_TYPES)
        built = direct.build(
            result, stamp, "camera", OUTPUT_TYPES, model, image.pixels, image.color
        )
        assert set(frame.messages) == set(built.messages) == set(OUTPUT_TYPES)
        for name, message in frame.messages.items():
            msgtype = OUTPUT_TYPES[name]
            assert cdr(message, msgtype) == cdr(built.messages[name], msgtype), name
        assert frame.stamp == stamp and frame.result is result
        assert frame.scene.track_ids(len(result)) == built.context.scene.track_ids(len(result))
        assert frame.lanes is not None and frame.scene.objects is not None
        assert set(result.timings) < set(frame.timings) and frame.timings["output"] > 0


def test_ground_mapping_rebuild_is_reported_with_its_frame(pipeline: Pipeline) -> None:
    settings = OutputSettings(ground=GroundSettings(grid=GRID))  # the newest camera_info
    session = CameraSession(FACTORY, settings, pipeline.class_names)
    session.add_camera_info(camera_info_message(START, 300.0))

    def run(index: int, wanted: set[str]):
        image = session.decode(raw_message(START + index, pixels(20 + index)))
        return session.process(infer(pipeline, image), image, wanted)

    first = run(0, {"grid"})
    assert first.ground_rebuilt and first.ground_build_ms > 0
    assert not run(1, {"grid", "lane_points"}).ground_rebuilt  # same calibration
    assert not run(2, {"detections"}).ground_rebuilt  # no ground output wanted
    session.add_camera_info(camera_info_message(START + 3, 450.0))
    assert not run(3, {"detections"}).ground_rebuilt
    changed = run(4, {"lane_points"})
    assert changed.ground_rebuilt and changed.camera.intrinsics.fx == 450.0


def test_each_frame_is_built_under_the_settings_it_is_given(pipeline: Pipeline) -> None:
    session = CameraSession(FACTORY, SETTINGS, pipeline.class_names)
    session.add_camera_info(camera_info_message(START, 300.0))
    image = session.decode(raw_message(START, pixels(30)))
    result = infer(pipeline, image)
    off = OutputSettings(publish_grid=False, ground=GroundSettings(grid=GRID, grid_frame="vehicle"))
    frame = session.process(result, image, {"grid", "lane_points"}, off)
    assert set(frame.messages) == {"lane_points"}
    assert frame.messages["lane_points"].header.frame_id == "vehicle"
    frame = session.process(result, image, {"grid", "lane_points"})  # the session's own
    assert set(frame.messages) == {"grid", "lane_points"}
    assert frame.messages["grid"].header.frame_id == "base_link"


def test_label_info_is_announced_again_only_when_it_changes() -> None:
    session = CameraSession(FACTORY, SETTINGS, ["car", "bus"])
    first = session.label_info(START, 0.3)
    assert [c.class_name for c in first.class_map] == ["car", "bus"]
    assert first.threshold == pytest.approx(0.3)
    assert session.label_info_if_changed(START + 1, 0.3) is None
    changed = session.label_info_if_changed(START + 2, 0.5)
    assert changed is not None and changed.threshold == pytest.approx(0.5)
    assert messages.stamp_ns(changed.header) == START + 2
    assert session.label_info_if_changed(START + 3, 0.5) is None
    fresh = CameraSession(FACTORY, SETTINGS, ["car"])
    assert fresh.label_info_if_changed(START, 0.5) is not None  # nothing announced yet
