"""`hybridnets export --uint8-input`: uint8 NHWC frames in, normalised inside the graph, with
the float export's outputs; the Pipeline sees it in the metadata and feeds letterboxed frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from export_fixtures import (
    SMALL_HW,
    end2end_export,  # noqa: F401 (fixture)
    export_cli,
    raw_export,  # noqa: F401 (fixture)
    varied_checkpoint,  # noqa: F401 (fixture)
)

from hybridnets_core.errors import InputError
from hybridnets_core.export.exporter import ExportOptions, default_output
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.model.config import ModelConfig
from hybridnets_core.runtime.onnx_format import OnnxInfo
from hybridnets_core.runtime.onnx_runtime import load_onnx_runtime
from hybridnets_core.settings import DetectionSettings

FP32_TOLERANCE = 1e-4
CONF_005 = DetectionSettings(conf_threshold=0.05)
NETWORK_SIZE = (int(SMALL_HW[1]), int(SMALL_HW[3]))  # (H, W) of the small exports


@pytest.fixture(scope="module")
def uint8_raw(tmp_path_factory: pytest.TempPathFactory, varied_checkpoint: Path) -> Path:  # noqa: F811
    folder = tmp_path_factory.mktemp("u8")
    return export_cli(varied_checkpoint, folder / "raw.onnx", "--uint8-input")


@pytest.fixture(scope="module")
def uint8_end2end(tmp_path_factory: pytest.TempPathFactory, varied_checkpoint: Path) -> Path:  # noqa: F811
    folder = tmp_path_factory.mktemp("u8e2e")
    return export_cli(
        varied_checkpoint, folder / "e2e.onnx", "--end2end", "--dynamic-batch", "--uint8-input"
    )


def test_the_graph_takes_uint8_nhwc_frames_and_says_so(uint8_raw: Path) -> None:
    model = onnx.load(str(uint8_raw))
    (source,) = model.graph.input
    tensor = source.type.tensor_type
    assert tensor.elem_type == onnx.TensorProto.UINT8
    assert [d.dim_value for d in tensor.shape.dim] == [1, *NETWORK_SIZE, 3]
    properties = {p.key: p.value for p in model.metadata_props}
    info = OnnxInfo.from_properties(properties, str(uint8_raw))
    assert info.uint8_input and info.graph == "raw" and info.precision == "fp32"


def test_files_without_the_key_take_float_input() -> None:
    properties = OnnxInfo(ModelConfig(), "raw", "fp32", False).to_properties()
    del properties["hybridnets.uint8_input"]
    assert OnnxInfo.from_properties(properties, "old.onnx").uint8_input is False


def test_raw_outputs_match_the_float_export(
    uint8_raw: Path,
    raw_export: Path,  # noqa: F811
    dashcam_frame: np.ndarray,
) -> None:
    floats, uint8s = load_onnx_runtime(raw_export), load_onnx_runtime(uint8_raw)
    transform = Pipeline(floats, floats.config).transform
    float_batch, _ = transform.batch([dashcam_frame], "bgr")
    uint8_batch, _ = transform.uint8_batch([dashcam_frame], "bgr")
    assert uint8_batch.dtype == np.uint8 and uint8_batch.shape == (1, *NETWORK_SIZE, 3)
    for expected, got in zip(floats.network(float_batch), uint8s.network(uint8_batch)):
        np.testing.assert_allclose(got, expected, rtol=0, atol=FP32_TOLERANCE)


def assert_same_results(expected: list, got: list) -> None:
    """Detections within the fp32 tolerance (boxes in source pixels) and identical masks."""
    assert len(expected) == len(got)
    for want, have in zip(expected, got):
        assert len(want.detections.boxes) > 0
        np.testing.assert_array_equal(have.detections.class_ids, want.detections.class_ids)
        np.testing.assert_allclose(have.detections.scores, want.detections.scores, atol=1e-4)
        np.testing.assert_allclose(have.detections.boxes, want.detections.boxes, atol=1e-2)
        assert have.masks.keys() == want.masks.keys()
        for name, mask in want.masks.items():
            np.testing.assert_array_equal(have.masks[name], mask)


@pytest.mark.parametrize("graph", ["raw", "end2end"])
def test_the_pipeline_feeds_frames_and_gets_the_float_exports_results(
    graph: str,
    request: pytest.FixtureRequest,
    dashcam_paths: list[Path],
) -> None:
    from hybridnets_core.media import read_image

    float_file = request.getfixturevalue("raw_export" if graph == "raw" else "end2end_export")
    uint8_file = request.getfixturevalue("uint8_raw" if graph == "raw" else "uint8_end2end")
    frames = [read_image(path) for path in dashcam_paths[:2]]
    options = {"backend": "onnxruntime", "detection": CONF_005}
    floats = Pipeline.from_weights(float_file, **options)
    uint8s = Pipeline.from_weights(uint8_file, **options)
    assert uint8s.runtime.uint8_input and not floats.runtime.uint8_input
    prepared = uint8s.prepare(frames)
    assert prepared.batch.dtype == np.uint8
    assert_same_results(floats.run_batch(frames), uint8s.run_batch(frames))


def test_a_float_batch_is_refused_by_a_uint8_export(uint8_raw: Path) -> None:
    runtime = load_onnx_runtime(uint8_raw)
    with pytest.raises(InputError, match="uint8"):
        runtime.network(np.zeros((1, 3, *NETWORK_SIZE), np.float32))


def test_the_default_file_name_says_uint8_input() -> None:
    options = ExportOptions((384, 640), int8=True, calib=Path("c"), uint8_input=True)
    assert default_output(None, options).name == "hybridnets_640x384_int8_uint8in.onnx"


def test_bench_times_uint8_input_exports(tmp_path: Path) -> None:
    from hybridnets_core.cli.main import main

    report_path = tmp_path / "bench.json"
    argv = ["bench", "--random", "-c", "0", "--size", "384x256", "--backend", "onnxruntime"]
    argv += ["--uint8-input", "--runs", "2", "--warmup", "1", "--json", str(report_path)]
    assert main(argv) == 0
    report = json.loads(report_path.read_text())
    assert report["uint8_input"] is True and report["backends"]["onnxruntime"]["fps"] > 0
    assert main(["bench", "--random", "--backend", "torch", "--uint8-input"]) == 2


def test_an_int8_export_takes_uint8_frames_too(
    tmp_path: Path,
    varied_checkpoint: Path,  # noqa: F811
    dashcam_paths: list[Path],
) -> None:
    """Calibration sees the float network, so both INT8 files quantize alike; the uint8 one's
    names do not clash with the quantizer's (its input's scale is `input_scale`)."""
    calib = tmp_path / "calib"
    calib.mkdir()
    (calib / dashcam_paths[0].name).write_bytes(dashcam_paths[0].read_bytes())
    int8 = ("--int8", "--calib", str(calib), "--calib-images", "1")
    floats = load_onnx_runtime(export_cli(varied_checkpoint, tmp_path / "f.onnx", *int8))
    uint8s = load_onnx_runtime(
        export_cli(varied_checkpoint, tmp_path / "u.onnx", *int8, "--uint8-input")
    )
    assert uint8s.uint8_input and uint8s.session.info.precision == "int8"
    from hybridnets_core.media import read_image

    frame = read_image(dashcam_paths[1])
    transform = Pipeline(floats, floats.config).transform
    want = floats.network(transform.batch([frame], "bgr")[0])
    got = uint8s.network(transform.uint8_batch([frame], "bgr")[0])
    for expected, have in zip(want, got):
        spread = float(expected.max() - expected.min())
        assert np.abs(have - expected).mean() < 1e-3 * spread
