"""The Pipeline end to end on real dashcam frames, thresholds, batching and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from hybridnets_core import ModelConfig
from hybridnets_core.errors import ConfigError, InputError
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.media import read_image
from hybridnets_core.settings import DetectionSettings

SETTINGS = DetectionSettings(conf_threshold=0.05, iou_threshold=0.5)


@pytest.fixture(scope="module")
def pipeline(small_model, small_config) -> Pipeline:
    return Pipeline.from_model(small_model, small_config, detection=SETTINGS)


def check_result(result, height: int, width: int, pipeline: Pipeline) -> None:
    assert result.image_size == (height, width)
    assert result.boxes.dtype == np.float32 and result.boxes.shape == (len(result), 4)
    assert (result.boxes[:, [0, 1]] >= 0).all()
    assert (result.boxes[:, 2] <= width).all() and (result.boxes[:, 3] <= height).all()
    assert (result.boxes[:, [2, 3]] >= result.boxes[:, [0, 1]]).all()
    assert (result.scores > pipeline.detection.conf_threshold).all() and (result.scores <= 1).all()
    assert (np.diff(result.scores) <= 0).all()
    assert result.detection_names == [pipeline.class_names[i] for i in result.class_ids]
    assert len(result) <= pipeline.detection.max_detections
    assert set(result.masks) == {"road", "lane"}
    for mask in result.masks.values():
        assert mask.dtype == bool and mask.shape == (height, width)
    assert not np.logical_and(result.drivable, result.lane).any()
    assert set(result.timings) == {"preprocess", "forward", "postprocess"}
    assert result.label_maps.shape == (2, *pipeline.input_size) and result.label_maps.dtype == bool
    cropped = result.letterbox.crop(result.label_maps)
    assert cropped.shape[1:] == result.letterbox.resized_size


def test_real_dashcam_frames(pipeline: Pipeline, dashcam_paths) -> None:
    for path in dashcam_paths[:3]:
        image = read_image(path)
        check_result(pipeline(image), *image.shape[:2], pipeline)


def test_batch_equals_single_images(pipeline: Pipeline, dashcam_frame) -> None:
    other = np.ascontiguousarray(dashcam_frame[100:600, 200:1000])
    batch = pipeline([dashcam_frame, other])
    for image, batched in zip([dashcam_frame, other], batch):
        single = pipeline(image)
        np.testing.assert_allclose(batched.boxes, single.boxes, atol=1e-2)
        assert all(np.array_equal(batched.masks[k], single.masks[k]) for k in single.masks)
    stacked = pipeline(np.stack([dashcam_frame, dashcam_frame]))
    assert len(stacked) == 2


def test_prepare_takes_the_fits_its_caller_made(pipeline: Pipeline, dashcam_frame) -> None:
    """The node fits each camera's image first (to leave out one that cannot be letterboxed)
    and hands the fits on: the same network input, each fit made once; a fit of another
    image is refused."""
    small = dashcam_frame[::2, ::2].copy()
    images = [dashcam_frame, small]
    fits = [pipeline.transform.fit(image.shape[:2]) for image in images]
    given = pipeline.prepare(images, "bgr", letterboxes=fits)
    made = pipeline.prepare(images, "bgr")
    np.testing.assert_array_equal(given.batch, made.batch)
    assert given.letterboxes == made.letterboxes and given.letterboxes[1] is fits[1]
    with pytest.raises(InputError, match="letterbox"):
        pipeline.prepare(images, "bgr", letterboxes=fits[::-1])


def test_rgb_and_bgr_inputs_agree(pipeline: Pipeline, dashcam_frame) -> None:
    from_bgr = pipeline(dashcam_frame, color="bgr")
    from_rgb = pipeline(np.ascontiguousarray(dashcam_frame[..., ::-1]), color="rgb")
    np.testing.assert_array_equal(from_bgr.boxes, from_rgb.boxes)
    assert np.array_equal(from_bgr.drivable, from_rgb.drivable)


def test_thresholds_change_results(pipeline: Pipeline, dashcam_frame) -> None:
    try:
        pipeline.detection = DetectionSettings(conf_threshold=0.001, max_detections=7)
        assert len(pipeline(dashcam_frame)) == 7
        pipeline.detection = DetectionSettings(conf_threshold=1.0)
        assert len(pipeline(dashcam_frame)) == 0
    finally:
        pipeline.detection = SETTINGS
    with pytest.raises(ConfigError, match="conf_threshold"):
        DetectionSettings(conf_threshold=1.5)
    with pytest.raises(ConfigError, match="max_detections"):
        DetectionSettings(max_detections=-1)
    with pytest.raises(ConfigError, match="iou_threshold must be a number"):
        DetectionSettings(iou_threshold="0.3")


def test_uncapped_postprocess_returns_every_candidate(small_model, small_config) -> None:
    """Paper protocol: no pre-NMS candidate cap and no per-image cap. On a random network every
    anchor scores above 0.001; with NMS unable to suppress (IoU > 1), all of them come back."""
    image = np.random.default_rng(0).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    every = DetectionSettings(conf_threshold=0.001, iou_threshold=1.0, max_detections=0)
    pipeline = Pipeline.from_model(small_model, small_config, detection=every)
    result = pipeline(image)
    assert len(pipeline.anchors) == 18_414 and len(result) == len(pipeline.anchors)
    assert (np.diff(result.scores) <= 0).all()
    capped = Pipeline.from_model(
        small_model, small_config, detection=DetectionSettings(0.001, 0.6, 100)
    )
    uncapped = Pipeline.from_model(
        small_model, small_config, detection=DetectionSettings(0.001, 0.6, 0)
    )
    first, everything = capped(image), uncapped(image)
    assert len(first) == 100 < len(everything)
    np.testing.assert_array_equal(everything.boxes[:100], first.boxes)


def test_scoring_thresholds_come_from_the_same_forward_pass(
    small_model, small_config, dashcam_frame
) -> None:
    scoring = DetectionSettings(conf_threshold=0.001, iou_threshold=0.6, max_detections=0)
    both = Pipeline.from_model(small_model, small_config, detection=SETTINGS, scoring=scoring)
    alone = Pipeline.from_model(small_model, small_config, detection=scoring)
    result, reference = both(dashcam_frame), alone(dashcam_frame)
    np.testing.assert_array_equal(result.scored.boxes, reference.boxes)
    np.testing.assert_array_equal(result.scored.scores, reference.scores)
    assert len(result) < len(result.scored)
    assert Pipeline.from_model(small_model, small_config)(dashcam_frame).scored is None


def test_network_resolution_masks(small_model, small_config, dashcam_frame) -> None:
    pipeline = Pipeline.from_model(small_model, small_config, mask_resolution="network")
    result = pipeline(dashcam_frame)
    assert result.drivable.shape == (216, 384)  # 1280x720 scaled into 384x256, padding removed


def test_other_input_size(small_model, small_config, dashcam_frame) -> None:
    pipeline = Pipeline.from_model(small_model, small_config, input_size=(384, 640))
    assert len(pipeline.anchors) == 46_035
    check_result(pipeline(dashcam_frame), 720, 1280, pipeline)


def test_checkpoint_round_trip(small_checkpoint, small_model, small_config, dashcam_frame) -> None:
    loaded = Pipeline.from_weights(small_checkpoint)
    in_memory = Pipeline.from_model(small_model, small_config)
    assert loaded.class_names == ["car", "truck"] and loaded.input_size == (256, 384)
    np.testing.assert_allclose(loaded(dashcam_frame).boxes, in_memory(dashcam_frame).boxes)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((0, 0, 3), np.uint8), "at least"),
        (np.zeros((1, 1, 3), np.uint8), "at least"),
        (np.zeros((64, 64), np.uint8), "HxWx3"),
        (np.zeros((64, 64, 4), np.uint8), "HxWx3"),
        (np.zeros((64, 64, 3), np.float32), "uint8"),
        ("image.jpg", "numpy array"),
    ],
)
def test_bad_images_get_clear_errors(pipeline: Pipeline, image, message: str) -> None:
    with pytest.raises(InputError, match=message):
        pipeline(image)


def test_bad_settings(small_model, small_config) -> None:
    with pytest.raises(ConfigError, match="multiple of 128"):
        Pipeline.from_model(small_model, small_config, input_size=(300, 640))
    with pytest.raises(ConfigError, match="mask_resolution"):
        Pipeline.from_model(small_model, small_config, mask_resolution="half")
    with pytest.raises(InputError, match="color"):
        Pipeline.from_model(small_model, small_config)(np.zeros((8, 8, 3), np.uint8), color="hsv")
    with pytest.raises(ConfigError, match="CUDA"):
        Pipeline.from_model(small_model, small_config, half=True)
    assert ModelConfig(compound_coef=8).input_size == (768, 1280)
