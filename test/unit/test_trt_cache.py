"""TensorRT engines built before the drive: the cache key and folder, the provider options, the
cached-engine check, the INT8 calibration table and `hybridnets trt-build`, on the CPU up to the
TensorRT provider (which only a GPU machine has)."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace
from pathlib import Path

import onnxruntime as ort
import pytest
from export_fixtures import (
    end2end_export,  # noqa: F401 (fixture)
    export_cli,
    raw_export,  # noqa: F401 (fixture)
    varied_checkpoint,  # noqa: F401 (fixture)
)
from onnxruntime.quantization.CalTableFlatBuffers import TrtTable

from hybridnets_core.cli.main import main
from hybridnets_core.cli.trt_build import check_batch
from hybridnets_core.errors import ConfigError
from hybridnets_core.export.trt_calibration import write_tensorrt_calibration
from hybridnets_core.runtime.onnx_runtime import (
    CPU,
    CUDA,
    TENSORRT,
    OnnxOptions,
    engine_target,
    load_onnx_runtime,
    provider_chain,
    read_info,
)
from hybridnets_core.runtime.tensorrt import (
    CALIBRATION_TABLE,
    EngineTarget,
    decode_tensorrt_version,
    engine_folder,
    file_sha256,
    gpu_identity,
    has_cached_engine,
    parse_gpu_query,
    provider_options,
    tensorrt_version,
)

H100 = ("NVIDIA H100 80GB HBM3", "9.0")
TARGET = EngineTarget(
    model_sha256="ab" * 32,
    tensorrt_version="10.3.0",
    gpu_name=H100[0],
    compute_capability=H100[1],
    precision="fp16",
    batch=8,
    input_size=(384, 640),
)
HAS_TENSORRT = TENSORRT in ort.get_available_providers()


def test_the_key_names_everything_an_engine_depends_on() -> None:
    key = TARGET.key
    assert key == "abababababababab_trt10.3.0_NVIDIA-H100-80GB-HBM3_sm90_fp16_b8_640x384"
    changes = {
        "model_sha256": "cd" * 32,
        "tensorrt_version": "10.4.0",
        "gpu_name": "NVIDIA A100-SXM4-40GB",
        "compute_capability": "8.0",
        "precision": "fp32",
        "batch": 1,
        "input_size": (256, 384),
    }
    keys = {replace(TARGET, **{field: value}).key for field, value in changes.items()}
    assert len(keys) == len(changes) and key not in keys  # each part alone changes the folder
    int8 = replace(TARGET, precision="int8", calibration_sha256="12345678" + "0" * 56)
    assert "_int8-12345678_" in int8.key
    assert int8.key != replace(int8, calibration_sha256="9" * 64).key  # another table
    odd_gpu = replace(TARGET, gpu_name="  GPU / with spaces\\and:colons ").key
    assert "/" not in odd_gpu and " " not in odd_gpu and "\\" not in odd_gpu
    assert engine_folder(Path("/cache"), TARGET) == Path("/cache") / key


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"precision": "int4"}, "unknown TensorRT precision"),
        ({"batch": 0}, "at least 1"),
        ({"precision": "int8"}, "needs a calibration table"),
        ({"calibration_sha256": "ab" * 32}, "only INT8"),
    ],
)
def test_impossible_targets_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        replace(TARGET, **changes)


def test_an_engine_is_cached_once_an_engine_file_is_there(tmp_path) -> None:
    folder = tmp_path / TARGET.key
    assert not has_cached_engine(folder)  # no folder yet
    folder.mkdir()
    (folder / "TensorrtExecutionProvider_cache_sm90.timing").write_bytes(b"t")
    (folder / "TensorrtExecutionProvider_TRTKernel_graph_0_sm90.profile").write_bytes(b"p")
    assert not has_cached_engine(folder)  # timing cache and profile alone are no engine
    (folder / "TensorrtExecutionProvider_TRTKernel_graph_0_sm90.engine").write_bytes(b"e")
    assert has_cached_engine(folder)


def test_provider_options_per_precision_and_batch(tmp_path) -> None:
    fp16 = provider_options(tmp_path, 1, "fp16", TARGET)
    assert fp16 == {
        "device_id": "1",
        "trt_fp16_enable": "True",
        "trt_int8_enable": "False",
        "trt_engine_cache_enable": "True",
        "trt_engine_cache_path": str(tmp_path),
        "trt_timing_cache_enable": "True",
        "trt_timing_cache_path": str(tmp_path),
    }  # a fixed-batch export needs no profile
    int8 = provider_options(tmp_path, 0, "int8")
    assert (int8["trt_int8_enable"], int8["trt_fp16_enable"]) == ("True", "True")
    assert int8["trt_int8_calibration_table_name"] == CALIBRATION_TABLE
    fp32 = provider_options(tmp_path, 0, "fp32")
    assert (fp32["trt_fp16_enable"], fp32["trt_int8_enable"]) == ("False", "False")
    dynamic = provider_options(tmp_path, 0, "fp16", replace(TARGET, dynamic_batch=True))
    assert dynamic["trt_profile_min_shapes"] == "input:1x3x384x640"
    assert dynamic["trt_profile_opt_shapes"] == dynamic["trt_profile_max_shapes"]
    assert dynamic["trt_profile_max_shapes"] == "input:8x3x384x640"
    with pytest.raises(ConfigError, match="precision"):
        provider_options(tmp_path, 0, "bf16")


def test_provider_chain_caches_each_target_in_its_own_folder(tmp_path) -> None:
    available = [TENSORRT, CUDA, CPU]
    options = OnnxOptions(trt_cache=tmp_path)
    chain = provider_chain("cuda:1", True, options, available, TARGET)
    assert [name for name, _ in chain] == [TENSORRT, CUDA, CPU]
    trt = chain[0][1]
    assert trt["trt_engine_cache_path"] == str(tmp_path / TARGET.key)
    assert (tmp_path / TARGET.key).is_dir() and trt["device_id"] == "1"
    other = provider_chain("cuda", True, options, available, replace(TARGET, batch=1))
    assert other[0][1]["trt_engine_cache_path"] != trt["trt_engine_cache_path"]
    # the precision is the target's, and without TensorRT the chain is CUDA then CPU
    int8 = replace(TARGET, precision="int8", calibration_sha256="ab" * 32)
    assert (
        provider_chain("cuda", False, options, available, int8)[0][1]["trt_int8_enable"] == "True"
    )
    assert [name for name, _ in provider_chain("cuda", True, options, [CUDA, CPU], TARGET)] == [
        CUDA,
        CPU,
    ]


def test_engine_precision_follows_half_and_the_calibration_table(tmp_path) -> None:
    assert OnnxOptions().trt_precision(half=True) == "fp16"
    assert OnnxOptions().trt_precision(half=False) == "fp32"
    assert OnnxOptions(trt_calibration=tmp_path / "t").trt_precision(half=True) == "int8"


def test_engine_target_of_real_exports(raw_export, end2end_export, tmp_path) -> None:  # noqa: F811
    raw = engine_target(raw_export, read_info(raw_export), "fp16", 8, "10.3.0", H100)
    assert raw.model_sha256 == hashlib.sha256(raw_export.read_bytes()).hexdigest()
    assert raw.model_sha256 == file_sha256(raw_export)
    assert (raw.batch, raw.input_size, raw.dynamic_batch) == (1, (256, 384), False)  # fixed
    dynamic = engine_target(end2end_export, read_info(end2end_export), "fp16", 4, "10.3.0", H100)
    assert (dynamic.batch, dynamic.dynamic_batch) == (4, True)
    assert (
        engine_target(end2end_export, read_info(end2end_export), "fp16", None, "10", H100).batch
        == 1
    )
    # the same bytes under another name share the engine; one changed byte does not
    copy = tmp_path / "renamed.onnx"
    shutil.copyfile(raw_export, copy)
    assert engine_target(copy, read_info(copy), "fp16", None, "10.3.0", H100).key == raw.key
    changed = bytearray(raw_export.read_bytes())
    changed[-1] ^= 1
    (tmp_path / "changed.onnx").write_bytes(changed)
    assert file_sha256(tmp_path / "changed.onnx") != raw.model_sha256
    check_batch(raw_export, 1)
    check_batch(end2end_export, 8)
    with pytest.raises(ConfigError, match="exported for batch 1, not 4"):
        check_batch(raw_export, 4)


def test_tensorrt_version_numbers() -> None:
    assert decode_tensorrt_version(100300) == "10.3.0"
    assert decode_tensorrt_version(101200) == "10.12.0"
    assert decode_tensorrt_version(8601) == "8.6.1"
    with pytest.raises(ConfigError, match="version"):
        decode_tensorrt_version(0)


def test_gpu_query_is_parsed() -> None:
    assert parse_gpu_query("NVIDIA H100 80GB HBM3, 9.0\n") == H100
    assert parse_gpu_query("NVIDIA GeForce RTX 4090, 8.9\nNVIDIA A2, 8.6\n") == (
        "NVIDIA GeForce RTX 4090",
        "8.9",
    )
    for text in ("", "No devices were found", "NVIDIA H100, [N/A]"):
        with pytest.raises(ConfigError, match="compute capability"):
            parse_gpu_query(text)


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has a GPU")
def test_without_a_gpu_its_identity_cannot_be_read() -> None:
    with pytest.raises(ConfigError, match="nvidia-smi"):
        gpu_identity(0)


@pytest.mark.skipif(HAS_TENSORRT, reason="this machine has TensorRT")
def test_without_tensorrt_its_version_cannot_be_read() -> None:
    with pytest.raises(ConfigError, match="onnxruntime-gpu"):
        tensorrt_version()


@pytest.mark.skipif(HAS_TENSORRT, reason="this machine has TensorRT")
def test_trt_build_refuses_without_the_tensorrt_provider(raw_export, tmp_path, capsys) -> None:  # noqa: F811
    code = main(["trt-build", str(raw_export), "--cache", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("hybridnets trt-build: error: onnxruntime has no TensorRT provider")
    assert "onnxruntime-gpu" in err and "TensorRT libraries" in err
    assert not any(tmp_path.iterdir())  # nothing was built or written


def test_trt_build_checks_its_arguments(raw_export, tmp_path, capsys) -> None:  # noqa: F811
    for args in (
        ["--precision", "int8"],
        ["--calibration-table", str(tmp_path / "t.flatbuffers")],
    ):
        assert main(["trt-build", str(raw_export), *args]) == 2
        assert "--precision int8 needs --calib" in capsys.readouterr().err
    both = ["--precision", "int8", "--calib", str(tmp_path), "--calibration-table", "t"]
    assert main(["trt-build", str(raw_export), *both]) == 2  # argparse: one or the other
    assert "not allowed with" in capsys.readouterr().err


def test_a_cpu_session_has_no_engine(raw_export) -> None:  # noqa: F811
    runtime = load_onnx_runtime(raw_export)
    assert runtime.provider == CPU and runtime.engine_note is None


def test_calibration_table_of_an_export(
    raw_export,  # noqa: F811
    end2end_export,  # noqa: F811
    varied_checkpoint,  # noqa: F811
    dashcam_paths,
    tmp_path,
) -> None:
    import onnx

    images = dashcam_paths[:2]
    for export in (raw_export, end2end_export):
        table = write_tensorrt_calibration(export, images, tmp_path / export.stem)
        assert table == tmp_path / export.stem / CALIBRATION_TABLE
        parsed = TrtTable.TrtTable.GetRootAsTrtTable(bytearray(table.read_bytes()), 0)
        ranges = {
            parsed.Dict(i).Key().decode(): float(parsed.Dict(i).Value())
            for i in range(parsed.DictLength())
        }
        graph = onnx.load(export).graph
        tensors = {o for node in graph.node for o in node.output} | {i.name for i in graph.input}
        assert "input" in ranges and set(ranges) <= tensors
        assert all(value >= 0.0 for value in ranges.values()) and ranges["input"] > 0.0
    half = export_cli(varied_checkpoint, tmp_path / "half.onnx", "--half")
    with pytest.raises(ConfigError, match="fp16: calibrate TensorRT INT8 on the fp32 export"):
        write_tensorrt_calibration(half, images, tmp_path / "half")


def test_a_dynamic_engine_runs_batches_up_to_its_profile(end2end_export, dashcam_paths) -> None:  # noqa: F811
    """A dynamic-batch engine built for at most 2 images (its profile) runs 3 as 2 + 1, with
    the same results as one at a time (the limit set as TensorRT sets it, on a CPU session)."""
    from hybridnets_core.inference.pipeline import Pipeline
    from hybridnets_core.media import read_image
    from hybridnets_core.settings import DetectionSettings

    pipeline = Pipeline.from_weights(
        end2end_export, backend="onnxruntime", detection=DetectionSettings(conf_threshold=0.05)
    )
    assert pipeline.runtime.session.max_batch is None  # no TensorRT here: any batch at once
    pipeline.runtime.session.max_batch = 2
    images = [read_image(path) for path in dashcam_paths[:3]]
    batch = pipeline.transform.batch(images, "bgr")[0]
    assert [real for _, real in pipeline.runtime._chunks(batch)] == [2, 1]
    for image, together in zip(images, pipeline.run_batch(images)):
        alone = pipeline(image)
        assert len(together) == len(alone) > 0
        assert (together.boxes == alone.boxes).all()
