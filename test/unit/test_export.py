"""`hybridnets export` on real networks: files, metadata, parity with torch, end-to-end graph."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from export_fixtures import (
    end2end_export,  # noqa: F401 (fixture)
    export_cli,
    raw_export,  # noqa: F401 (fixture)
    varied_checkpoint,  # noqa: F401 (fixture)
)

from hybridnets_core import HybridNets, ModelConfig, native
from hybridnets_core.cli.main import main
from hybridnets_core.decoding.postprocess import class_maps, segmentation_labels, select_detections
from hybridnets_core.errors import CheckpointError, ConfigError
from hybridnets_core.export.end2end import postprocess_graph
from hybridnets_core.export.exporter import DEFAULT_OPSET, ExportOptions, export_model
from hybridnets_core.export.native_folds import CHANNEL_MUL_OP, LOOKUP_OP, UPSAMPLE_OP
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.media import read_image
from hybridnets_core.model.anchors import generate_anchors
from hybridnets_core.model.checkpoint import save_checkpoint
from hybridnets_core.runtime.onnx_format import OnnxInfo
from hybridnets_core.settings import DetectionSettings

CONF_005 = DetectionSettings(conf_threshold=0.05)
PARITY_SIZES = ((128, 256), (256, 384))  # odd and even pyramid sizes: all padding cases


def cpu_session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def random_model(config: ModelConfig, seed: int = 0) -> HybridNets:
    torch.manual_seed(seed)
    return HybridNets.from_config(config).eval()


def tie_free(image: np.ndarray, seed: int) -> np.ndarray:
    """Crop to the network's 3:2 aspect (no letterbox bars) and add +-2 levels of noise.

    Flat regions give anchors exactly equal scores, and NMS may break such ties in any order;
    without them the graph's NMS and the numpy NMS must agree box for box.
    """
    height = min(image.shape[0], image.shape[1] * 2 // 3)
    crop = image[:height, : height * 3 // 2].astype(np.int16)
    noise = np.random.default_rng(seed).integers(-2, 3, crop.shape)
    return np.clip(crop + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    ("coef", "size"),
    [(0, PARITY_SIZES[0]), (1, PARITY_SIZES[1]), (2, PARITY_SIZES[0]), (3, PARITY_SIZES[0]),
     (3, PARITY_SIZES[1])],  # every coefficient, both sizes, the official one at both
)  # fmt: skip
def test_raw_outputs_match_torch(tmp_path, coef: int, size: tuple[int, int]) -> None:
    """fp32 ONNX Runtime equals eager torch within 1e-4 (each pair costs a first eager forward
    and a trace, about 10 s on this CPU, so the matrix is not full)."""
    config = ModelConfig(compound_coef=coef, obj_list=["car", "bus"], input_size=size)
    model = random_model(config, seed=coef)
    path = export_model(model, config, tmp_path / "model.onnx", ExportOptions(size)).onnx_path
    batch = np.random.default_rng(coef).standard_normal((1, 3, *size)).astype(np.float32)
    exported = cpu_session(path).run(None, {"input": batch})
    with torch.inference_mode():
        expected = model(torch.from_numpy(batch))
    for ours, theirs in zip(exported, expected):
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-4, rtol=0)


def test_raw_export_names_anchors_and_metadata(raw_export: Path, small_config) -> None:  # noqa: F811
    model = onnx.load(raw_export)
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["input"]
    assert [o.name for o in model.graph.output] == ["regression", "classification", "segmentation"]
    anchors = np.load(raw_export.parent / "anchor_256_384.npy")
    expected = generate_anchors(256, 384, small_config.strides)
    np.testing.assert_array_equal(anchors, expected[None])
    properties = {p.key: p.value for p in model.metadata_props}
    info = OnnxInfo.from_properties(properties, str(raw_export))
    assert info.config == small_config and (info.graph, info.precision) == ("raw", "fp32")
    assert properties["class_names"] == '["car", "truck"]'
    assert "pad_value" in properties["hybridnets.letterbox"]
    assert not [p for p in raw_export.parent.iterdir() if p.name.startswith(".")]


def test_end2end_equals_pipeline_postprocess(
    raw_export: Path,  # noqa: F811
    end2end_export: Path,  # noqa: F811
    dashcam_paths: list[Path],
) -> None:
    """Same detections and masks from the batched graph as from the numpy postprocess."""
    raw = Pipeline.from_weights(raw_export, backend="onnxruntime")
    end2end = Pipeline.from_weights(end2end_export, backend="onnxruntime")
    assert end2end.end_to_end and not raw.end_to_end
    images = [tie_free(read_image(p), seed) for seed, p in enumerate(dashcam_paths[:3])]
    for conf, iou, max_det in ((0.05, 0.3, 100), (0.08, 0.5, 7), (0.03, 0.6, 300)):
        for pipeline in (raw, end2end):
            pipeline.detection = DetectionSettings(conf, iou, max_det)
        expected, actual = [raw(image) for image in images], end2end(images)
        assert sum(len(r) for r in expected) > len(images)
        for want, got in zip(expected, actual):
            assert len(got) == len(want) <= max_det
            np.testing.assert_allclose(got.boxes, want.boxes, atol=1e-2)
            np.testing.assert_allclose(got.scores, want.scores, atol=1e-6)
            np.testing.assert_array_equal(got.class_ids, want.class_ids)
            for name, mask in want.masks.items():
                np.testing.assert_array_equal(got.masks[name], mask)


@pytest.mark.parametrize("seg_mode", ["multiclass", "multilabel"])
def test_postprocess_graph_equals_numpy(tmp_path, seg_mode: str) -> None:
    """The appended graph alone on random raw outputs (no score ties): a batch of 3, many boxes."""
    config = ModelConfig(
        compound_coef=0,
        obj_list=["car", "bus", "person"],
        seg_list=["road", "lane"],
        seg_mode=seg_mode,
        input_size=(256, 384),
    )
    path = tmp_path / "post.onnx"
    onnx.save(postprocess_graph(config, DEFAULT_OPSET), path)
    anchors = generate_anchors(256, 384, config.strides)
    rng = np.random.default_rng(7)
    regression = rng.normal(0, 0.5, (3, len(anchors), 4)).astype(np.float32)
    classification = (rng.uniform(size=(3, len(anchors), 3)) ** 6).astype(np.float32)
    segmentation = rng.normal(size=(3, config.seg_channels, 256, 384)).astype(np.float32)
    session = cpu_session(path)
    for settings in (DetectionSettings(0.001, 0.6, 300), DetectionSettings(0.5, 0.3, 5)):
        boxes, scores, classes, images, labels = session.run(
            None,
            {
                "regression": regression,
                "classification": classification,
                "segmentation": segmentation,
                "conf_threshold": np.array([settings.conf_threshold], np.float32),
                "iou_threshold": np.array([settings.iou_threshold], np.float32),
                "max_detections": np.array([settings.max_detections], np.int64),
            },
        )
        for index in range(3):
            want = select_detections(
                regression[index], classification[index], anchors, (256, 384), settings
            )
            rows = images == index
            assert rows.sum() == len(want[0]) == settings.max_detections
            np.testing.assert_allclose(boxes[rows], want[0], atol=1e-3)
            np.testing.assert_array_equal(scores[rows], want[1])
            np.testing.assert_array_equal(classes[rows], want[2])
            expected = segmentation_labels(segmentation[index], seg_mode)
            got = class_maps(labels[index], 2) if seg_mode == "multiclass" else labels[index]
            np.testing.assert_array_equal(got.astype(bool), expected)


def test_multilabel_ten_class_checkpoint(tmp_path, dashcam_frame) -> None:
    config = ModelConfig(
        compound_coef=0,
        obj_list=[f"object{i}" for i in range(10)],
        seg_list=["road", "lane", "curb"],
        seg_mode="multilabel",
        input_size=(256, 384),
    )
    model = random_model(config, seed=3)
    with torch.no_grad():  # spread the scores out, as in `varied_checkpoint`
        model.classifier.header.pointwise_conv.conv.weight.mul_(100.0)
    checkpoint = tmp_path / "multilabel.pth"
    save_checkpoint(checkpoint, model, config)
    raw = Pipeline.from_weights(
        export_cli(checkpoint, tmp_path / "raw.onnx"), backend="onnxruntime", detection=CONF_005
    )
    end2end = Pipeline.from_weights(
        export_cli(checkpoint, tmp_path / "e2e.onnx", "--end2end"),
        backend="onnxruntime",
        detection=CONF_005,
    )
    assert end2end.class_names == config.obj_list and end2end.config.seg_mode == "multilabel"
    batch, _ = raw.transform.batch([dashcam_frame], "bgr")
    with torch.inference_mode():
        expected = model(torch.from_numpy(batch))
    outputs = raw.runtime.network(batch)
    assert outputs[1].shape[-1] == 10 and outputs[2].shape[1] == 3
    for ours, theirs in zip(outputs, expected):
        np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-4, rtol=0)
    want = raw(dashcam_frame)
    got = end2end(dashcam_frame)
    assert len(got) == len(want) > 0
    np.testing.assert_allclose(got.boxes, want.boxes, atol=1e-2)
    np.testing.assert_array_equal(got.class_ids, want.class_ids)
    assert set(got.masks) == {"road", "lane", "curb"}
    for name, mask in want.masks.items():
        np.testing.assert_array_equal(got.masks[name], mask)


def test_half_export_keeps_float32_io(tmp_path, small_model, small_config) -> None:
    options = ExportOptions((256, 384), half=True, dynamic_batch=True)
    result = export_model(small_model, small_config, tmp_path / "half.onnx", options)
    model = onnx.load(result.onnx_path)
    assert result.info.precision == "fp16"
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    weights = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT16]
    assert len(weights) > 100
    batch = np.random.default_rng(0).standard_normal((2, 3, 256, 384)).astype(np.float32)
    outputs = cpu_session(result.onnx_path).run(None, {"input": batch})
    with torch.inference_mode():
        expected = small_model(torch.from_numpy(batch))
    for ours, theirs in zip(outputs, expected):
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, theirs.numpy(), atol=2e-2, rtol=2e-2)


@pytest.fixture(scope="module")
def calib_folder(tmp_path_factory, dashcam_paths) -> Path:
    calib = tmp_path_factory.mktemp("calib")
    for path in dashcam_paths[:3]:
        (calib / path.name).write_bytes(path.read_bytes())
    return calib


def int8_convs(model: onnx.ModelProto, module: str) -> list[bool]:
    """For each convolution of a top-level module: whether it runs in int8 (QLinearConv)."""
    convs = [n for n in model.graph.node if "Conv" in n.op_type and n.name.startswith(module)]
    return [conv.op_type == "QLinearConv" for conv in convs]


def op_count(model: onnx.ModelProto, op_type: str) -> int:
    return sum(node.op_type == op_type for node in model.graph.node)


@pytest.mark.parametrize("method", ["entropy", "percentile", "minmax"])
def test_int8_export_calibrates_on_images(
    tmp_path, small_model, small_config, dashcam_paths, calib_folder, method: str
):
    options = ExportOptions((256, 384), int8=True, calib=calib_folder, calib_images=3)
    options.calib_method = method
    result = export_model(small_model, small_config, tmp_path / "int8.onnx", options)
    model = onnx.load(result.onnx_path)
    assert result.info.precision == "int8"
    for module in ("/encoder/", "/bifpn/", "/regressor/", "/bifpndecoder/", "/segmentation_head/"):
        assert int8_convs(model, module) and all(int8_convs(model, module)), module
    # every swish and BiFPN weight is one native lookup, every SE gate one channel multiply,
    # every BiFPN upsampling native; the sigmoids left are the SE gates' and the class scores',
    # the Resizes left the decoder's bilinear ones
    se_blocks = len(small_model.encoder._blocks)
    assert op_count(model, LOOKUP_OP) > 100 and op_count(model, "QLinearMul") == 0
    assert op_count(model, CHANNEL_MUL_OP) == se_blocks
    assert op_count(model, "QLinearSigmoid") == se_blocks + 1
    assert op_count(model, UPSAMPLE_OP) > 10
    resize_modes = {
        onnx.helper.get_attribute_value(attribute)
        for node in model.graph.node
        if node.op_type == "Resize"
        for attribute in node.attribute
        if attribute.name == "mode"
    }
    assert resize_modes == {b"linear"}
    fp32 = Pipeline.from_model(small_model, small_config)
    int8 = Pipeline.from_weights(result.onnx_path, backend="onnxruntime")
    batch, _ = fp32.transform.batch([read_image(dashcam_paths[4])], "bgr")
    (regression, probabilities, logits), want = (
        int8.runtime.network(batch),
        fp32.runtime.network(batch),
    )
    for ours, theirs in ((regression, want[0]), (logits, want[2])):
        assert np.abs(ours - theirs).mean() < 0.05 * float(theirs.max() - theirs.min())
    assert np.abs(probabilities - want[1]).max() < 1e-3


def test_int8_end2end_with_a_dynamic_batch_runs_batches(
    tmp_path, small_checkpoint, calib_folder, dashcam_paths
) -> None:
    """Native ops take a batch: per-image SE gates, and the same results as one at a time."""
    output = tmp_path / "batch.onnx"
    argv = ["export", "-w", str(small_checkpoint), "--height", "256", "--width", "384", "--int8"]
    argv += ["--calib", str(calib_folder), "--calib-images", "2", "--end2end", "--dynamic-batch"]
    assert main([*argv, "-o", str(output)]) == 0
    assert op_count(onnx.load(output), CHANNEL_MUL_OP) > 0
    pipeline = Pipeline.from_weights(
        output, backend="onnxruntime", detection=DetectionSettings(conf_threshold=0.001)
    )
    images = [read_image(path) for path in dashcam_paths[:2]]
    for together, image in zip(pipeline.run_batch(images), images):
        alone = pipeline(image)
        assert len(together) == len(alone) > 0
        np.testing.assert_allclose(np.sort(together.scores), np.sort(alone.scores), atol=1e-6)
        for name, mask in alone.masks.items():
            np.testing.assert_array_equal(together.masks[name], mask)


def test_int8_without_native_ops_keeps_onnx_runtime_ops(
    tmp_path, small_checkpoint, calib_folder, dashcam_paths
) -> None:
    output = tmp_path / "stock.onnx"
    argv = ["export", "-w", str(small_checkpoint), "--height", "256", "--width", "384", "--int8"]
    argv += ["--calib", str(calib_folder), "--calib-images", "2", "--no-native-ops"]
    assert main([*argv, "-o", str(output), "--end2end"]) == 0
    model = onnx.load(output)
    assert op_count(model, LOOKUP_OP) == 0 and op_count(model, "QLinearSigmoid") > 50
    assert all(opset.domain != native.DOMAIN for opset in model.opset_import)
    detections = Pipeline.from_weights(output, backend="onnxruntime")(read_image(dashcam_paths[0]))
    assert set(detections.masks) == {"road", "lane"}


WITHOUT_LIBRARY = """
import json, sys
from pathlib import Path
import hybridnets_core
from hybridnets_core import Pipeline, native
from hybridnets_core.errors import CheckpointError, ConfigError
from hybridnets_core.export.exporter import ExportOptions
model, calib, package = sys.argv[1:]
assert Path(hybridnets_core.__file__).parent == Path(package), hybridnets_core.__file__
errors = {"library": str(native.library_path())}
try:
    Pipeline.from_weights(model, backend="onnxruntime")
except CheckpointError as error:
    errors["load"] = str(error)
try:
    ExportOptions((256, 384), int8=True, calib=Path(calib), native_ops=True).validate()
except ConfigError as error:
    errors["export"] = str(error)
print(json.dumps(errors))
"""


def installed_without_library(root: Path) -> Path:
    """hybridnets_core as a package installed without the native op library: links to all of
    its files but the built library. The folder to put on PYTHONPATH."""
    package = Path(native.__file__).resolve().parents[1]
    skip = shutil.ignore_patterns(f"{native.LIBRARY_NAME}.*", "__pycache__")
    shutil.copytree(package, root / package.name, ignore=skip, copy_function=os.symlink)
    return root


def test_a_model_with_native_ops_needs_the_library(
    tmp_path, small_checkpoint, calib_folder
) -> None:
    """Where the package was installed without the library, loading says how to fix it (such
    a package, in a process of its own)."""
    output = tmp_path / "lookup.onnx"
    argv = ["export", "-w", str(small_checkpoint), "--height", "256", "--width", "384", "--int8"]
    argv += ["--calib", str(calib_folder), "--calib-images", "1"]
    assert main([*argv, "-o", str(output)]) == 0
    site = installed_without_library(tmp_path / "site")
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_LIBRARY, str(output), str(calib_folder),
         str(site / "hybridnets_core")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": path},
        cwd=tmp_path,  # not the checkout: `python -c` puts the working folder first on sys.path
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    errors = json.loads(done.stdout.strip().splitlines()[-1])
    assert errors["library"] == "None"
    assert "--no-native-ops" in errors["load"], errors
    assert "fetch_onnxruntime_headers.py" in errors["load"], errors
    assert "op library is not built" in errors["export"], errors


def test_int8_float_modules_choose_what_stays_float(
    tmp_path, small_checkpoint, calib_folder
) -> None:
    output = tmp_path / "decoder.onnx"
    argv = ["export", "-w", str(small_checkpoint), "--height", "256", "--width", "384", "--int8"]
    argv += ["--calib", str(calib_folder), "--calib-images", "2", "--calib-method", "minmax"]
    assert main([*argv, "--int8-float", "bifpndecoder", "-o", str(output)]) == 0
    model = onnx.load(output)
    decoder = int8_convs(model, "/bifpndecoder/")
    assert len(decoder) > 5 and not any(decoder)
    assert all(int8_convs(model, "/segmentation_head/")) and all(int8_convs(model, "/encoder/"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--height", "300"], "not a multiple of 128"),
        (["--opset", "9"], "opset 9 is not supported"),
        (["--int8"], "--int8 needs --calib"),
        (["--int8", "--half", "--calib", "x"], "exclude each other"),
        (["--calib", "x"], "only used with --int8"),
        (["--int8-float", "bifpndecoder"], "--int8-float is only used with --int8"),
        (["--no-native-ops"], "--native-ops/--no-native-ops is only used with --int8"),
        (["--int8", "--calib", "CALIB", "--int8-float", "decoder"], "no module decoder"),
        (["-o", "model.pt"], "must end in .onnx"),
    ],
)
def test_bad_options_get_one_line_errors(
    tmp_path, small_checkpoint, calib_folder, capsys, args: list[str], message: str
) -> None:
    args = [str(calib_folder) if arg == "CALIB" else arg for arg in args]
    argv = ["export", "-w", str(small_checkpoint), "--height", "256", "--width", "384", *args]
    if "-o" not in args:
        argv += ["-o", str(tmp_path / "out.onnx")]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_foreign_onnx_is_rejected(tmp_path) -> None:
    node = onnx.helper.make_node("Identity", ["input"], ["regression"])
    value = onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1])
    out = onnx.helper.make_tensor_value_info("regression", onnx.TensorProto.FLOAT, [1])
    path = tmp_path / "foreign.onnx"
    onnx.save(onnx.helper.make_model(onnx.helper.make_graph([node], "g", [value], [out])), path)
    with pytest.raises(CheckpointError, match="no HybridNets metadata"):
        Pipeline.from_weights(path, backend="onnxruntime")
    with pytest.raises(ConfigError, match="use backend 'onnxruntime'"):
        Pipeline.from_weights(path)


def test_unknown_calibration_method_stops_before_exporting(tmp_path, small_model, small_config):
    options = ExportOptions((256, 384), int8=True, calib=tmp_path, calib_method="kl")
    with pytest.raises(ConfigError, match="calib_method 'kl' is unknown; use one of entropy"):
        export_model(small_model, small_config, tmp_path / "int8.onnx", options)
    assert not list(tmp_path.iterdir())
