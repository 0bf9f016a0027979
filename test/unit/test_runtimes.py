"""Runtime backends behind the Pipeline: ONNX Runtime sessions against torch, options, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from export_fixtures import (
    end2end_export,  # noqa: F401 (fixture)
    export_cli,
    raw_export,  # noqa: F401 (fixture)
    varied_checkpoint,  # noqa: F401 (fixture)
)

from hybridnets_core import HybridNets
from hybridnets_core.cli.main import main
from hybridnets_core.errors import ConfigError
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.model.inference import optimise_for_inference
from hybridnets_core.runtime.backends import create_runtime
from hybridnets_core.runtime.onnx_runtime import (
    CPU,
    CUDA,
    TENSORRT,
    OnnxEndToEndRuntime,
    OnnxOptions,
    OnnxRuntime,
    load_onnx_runtime,
    provider_chain,
)
from hybridnets_core.settings import DetectionSettings

CONF_005 = DetectionSettings(conf_threshold=0.05)
HAS_CUDA = CUDA in ort.get_available_providers()


def test_onnxruntime_pipeline_matches_torch(
    raw_export: Path,  # noqa: F811
    varied_checkpoint: Path,  # noqa: F811
    dashcam_paths: list[Path],
) -> None:
    from hybridnets_core.media import read_image

    torch_pipeline = Pipeline.from_weights(varied_checkpoint, detection=CONF_005)
    onnx_pipeline = Pipeline.from_weights(raw_export, backend="onnxruntime", detection=CONF_005)
    assert (onnx_pipeline.backend_name, onnx_pipeline.device) == ("onnxruntime", "cpu")
    assert onnx_pipeline.runtime.provider == CPU
    assert onnx_pipeline.class_names == torch_pipeline.class_names == ["car", "truck"]
    for path in dashcam_paths[:2]:
        image = read_image(path)
        batch, _ = torch_pipeline.transform.batch([image], "bgr")
        for ours, theirs in zip(
            onnx_pipeline.runtime.network(batch), torch_pipeline.runtime.network(batch)
        ):
            np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)
        want, got = torch_pipeline(image), onnx_pipeline(image)
        # Saturated scores tie; 1e-7 differences may swap tied boxes, so compare score sets.
        assert len(got) == len(want) > 0
        np.testing.assert_allclose(np.sort(got.scores), np.sort(want.scores), atol=1e-5)
        for name, mask in want.masks.items():
            assert (got.masks[name] != mask).mean() < 1e-4
        assert set(got.timings) == {"preprocess", "forward", "postprocess"}


def test_loader_picks_the_runtime_from_metadata(raw_export, end2end_export) -> None:  # noqa: F811
    assert isinstance(load_onnx_runtime(raw_export), OnnxRuntime)
    end2end = load_onnx_runtime(end2end_export, options=OnnxOptions(threads=1))
    assert isinstance(end2end, OnnxEndToEndRuntime) and end2end.end_to_end
    assert end2end.fixed_input_size == (256, 384)


def test_provider_chain_for_gpus(tmp_path) -> None:
    """TensorRT (fp16, engine cache) then CUDA then CPU; CUDA alone when TensorRT is off."""
    available = [TENSORRT, CUDA, CPU]
    options = OnnxOptions(trt_cache=tmp_path / "engines")
    chain = provider_chain("cuda:1", True, options, available)
    assert [name for name, _ in chain] == [TENSORRT, CUDA, CPU]
    trt = chain[0][1]
    assert trt["device_id"] == "1" and trt["trt_fp16_enable"] == "True"
    assert (
        trt["trt_engine_cache_path"] == str(tmp_path / "engines")
        and trt["trt_engine_cache_enable"] == "True"
    )
    assert (tmp_path / "engines").is_dir()
    chain = provider_chain("cuda", False, OnnxOptions(tensorrt=False), available)
    assert [name for name, _ in chain] == [CUDA, CPU] and chain[0][1]["device_id"] == "0"
    assert provider_chain("cpu", False, OnnxOptions(), available) == [(CPU, {})]


@pytest.mark.parametrize(
    ("device", "half", "available", "message"),
    [
        ("cuda", False, [CPU], "no CUDA provider"),
        ("cpu", True, [CPU, CUDA], "half precision needs a CUDA device"),
        ("gpu", False, [CPU], "unsupported device"),
        ("cuda:x", False, [CUDA, CPU], "unsupported device"),
    ],
)
def test_provider_chain_errors(device: str, half: bool, available: list[str], message: str):
    with pytest.raises(ConfigError, match=message):
        provider_chain(device, half, OnnxOptions(), available)


def test_backend_and_file_mismatches(raw_export, small_checkpoint) -> None:  # noqa: F811
    with pytest.raises(ConfigError, match=r"needs an \.onnx file"):
        create_runtime("onnxruntime", small_checkpoint)
    with pytest.raises(ConfigError, match="use backend 'onnxruntime'"):
        create_runtime("torch", raw_export)
    with pytest.raises(ConfigError, match="unknown backend"):
        create_runtime("tensorflow", raw_export)
    with pytest.raises(ConfigError, match="exported for 384x256"):
        Pipeline.from_weights(raw_export, backend="onnxruntime", input_size=(384, 640))
    with pytest.raises(ConfigError, match="threads must be at least 1"):
        Pipeline.from_weights(raw_export, backend="onnxruntime", onnx_options=OnnxOptions(0))


def test_fixed_batch_exports_run_batches_image_by_image(
    tmp_path,
    raw_export: Path,  # noqa: F811
    varied_checkpoint: Path,  # noqa: F811
    dashcam_paths: list[Path],
) -> None:
    """A batch-1 file still takes val's and bag replay's batches: one image per run."""
    from hybridnets_core.media import read_image

    end2end = export_cli(varied_checkpoint, tmp_path / "e2e_batch1.onnx", "--end2end")
    images = [read_image(path) for path in dashcam_paths[:3]]
    for export in (raw_export, end2end):
        pipeline = Pipeline.from_weights(export, backend="onnxruntime", detection=CONF_005)
        batched = pipeline.run_batch(images)
        for image, together in zip(images, batched):
            alone = pipeline(image)
            assert len(together) == len(alone) > 0
            np.testing.assert_allclose(together.boxes, alone.boxes, atol=1e-3)
            np.testing.assert_array_equal(together.class_ids, alone.class_ids)
            for name, mask in alone.masks.items():
                np.testing.assert_array_equal(together.masks[name], mask)


@pytest.mark.parametrize("graph", ["raw", "end2end"])
def test_a_fixed_batch_export_takes_any_batch(
    tmp_path,
    varied_checkpoint: Path,  # noqa: F811
    dashcam_paths: list[Path],
    graph: str,
) -> None:
    """Exported for 2 cameras (--batch 2): 3 images run as 2 + 1 padded, like one at a time."""
    from hybridnets_core.media import read_image

    extra = ["--batch", "2"] + (["--end2end"] if graph == "end2end" else [])
    export = export_cli(varied_checkpoint, tmp_path / f"{graph}_batch2.onnx", *extra)
    pipeline = Pipeline.from_weights(export, backend="onnxruntime", detection=CONF_005)
    assert pipeline.runtime.session.info.batch_size == 2
    images = [read_image(path) for path in dashcam_paths[:3]]
    for image, together in zip(images, pipeline.run_batch(images)):
        alone = pipeline(image)
        assert len(together) == len(alone) > 0
        np.testing.assert_allclose(together.boxes, alone.boxes, atol=1e-3)
        for name, mask in alone.masks.items():
            np.testing.assert_array_equal(together.masks[name], mask)
    bad = ["export", "-w", str(varied_checkpoint), "-o", str(tmp_path / "bad.onnx"), "--batch"]
    assert main([*bad, "0"]) == 2  # a batch is at least 1: one usage line
    assert main([*bad, "2", "--dynamic-batch"]) == 2


def test_predict_cli_with_onnxruntime(tmp_path, end2end_export, dashcam_paths) -> None:  # noqa: F811
    out = tmp_path / "out"
    argv = ["predict", "-w", str(end2end_export), "--backend", "onnxruntime",
            "--source", str(dashcam_paths[0]), "--output", str(out), "--conf", "0.05"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads((out / f"{dashcam_paths[0].stem}.json").read_text())
    assert report["image_size"] == {"height": 720, "width": 1280}
    assert all(d["class_name"] in ("car", "truck") for d in report["detections"])


def test_bench_runs_backends_side_by_side(tmp_path, dashcam_paths, capsys) -> None:
    report_path = tmp_path / "bench.json"
    argv = ["bench", "--random", "-c", "0", "--size", "384x256", "--runs", "2", "--warmup", "1",
            "--backend", "torch,onnxruntime", "--end2end", "--image", str(dashcam_paths[0]),
            "--json", str(report_path)]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(report_path.read_text())
    assert list(report["backends"]) == ["torch", "onnxruntime"]
    onnx = report["backends"]["onnxruntime"]
    assert onnx["provider"] == CPU and onnx["end_to_end"] and onnx["fps"] > 0
    assert report["stages"] == report["backends"]["torch"]["stages"]
    assert report["ratios"]["forward_speedup"]["torch"] == 1.0
    assert report["ratios"]["total_over_forward"]["onnxruntime"] >= 1.0
    assert "forward_speedup (vs torch)" in capsys.readouterr().out


def test_bench_int8_without_native_ops(tmp_path, dashcam_paths) -> None:
    """The INT8 comparison with ONNX Runtime's own operators is reproducible from bench."""
    report_path = tmp_path / "bench.json"
    argv = ["bench", "--random", "-c", "0", "--size", "384x256", "--runs", "1", "--warmup", "0",
            "--backend", "onnxruntime-int8", "--no-native-ops", "--calib",
            str(dashcam_paths[0].parent), "--image", str(dashcam_paths[0]),
            "--json", str(report_path)]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(report_path.read_text())
    assert report["int8_native_ops"] is False
    assert report["backends"]["onnxruntime-int8"]["fps"] > 0
    assert main(["bench", "--backend", "torch", "--no-native-ops"]) == 2


@pytest.mark.skipif(not HAS_CUDA, reason="needs onnxruntime-gpu and a CUDA device")
def test_cuda_provider_matches_cpu(raw_export, dashcam_frame) -> None:  # noqa: F811
    """The same session/I/O-binding path as on CPU, with outputs bound on the GPU."""
    cpu = Pipeline.from_weights(raw_export, backend="onnxruntime", detection=CONF_005)
    gpu = Pipeline.from_weights(
        raw_export, backend="onnxruntime", device="cuda", half=True, detection=CONF_005
    )
    assert gpu.runtime.provider in (TENSORRT, CUDA)
    want, got = cpu(dashcam_frame), gpu(dashcam_frame)
    np.testing.assert_allclose(got.scores[:5], want.scores[:5], atol=1e-2)


def test_folded_copy_computes_the_same(small_config) -> None:
    """BatchNorm and padding folding for the torch runtime: same outputs, original untouched."""
    torch.manual_seed(0)
    model = HybridNets.from_config(small_config).eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.copy_(
                    torch.rand(module.num_features, generator=generator) - 0.5
                )
                module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = optimise_for_inference(model)
    remaining = [  # only the heads' per-level BN (their conv is shared) and the unused _bn1
        name for name, m in folded.named_modules() if isinstance(m, torch.nn.BatchNorm2d)
    ]
    assert all(".bn_list." in name or name == "encoder._bn1" for name in remaining)
    assert not [m for m in folded.encoder.modules() if isinstance(m, torch.nn.ZeroPad2d)
                and m.padding[0] == m.padding[1]]  # fmt: skip
    batch = torch.randn(2, 3, 256, 384, generator=generator)
    with torch.inference_mode():
        for ours, theirs in zip(folded(batch), model(batch)):
            torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
