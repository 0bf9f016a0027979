"""Our ONNX Runtime custom ops (ai.hybridnets::Uint8Lookup, Uint8ChannelMul,
Uint8NearestUpsample) and the INT8 folds that put them in place of ONNX Runtime's operators."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hybridnets_core import native
from hybridnets_core.export.native_folds import (
    CHANNEL_MUL_OP,
    LOOKUP_OP,
    MS_DOMAIN,
    UPSAMPLE_OP,
    fold_native_ops,
)

# empty, one, around one 64-byte vector, and over several 64 KiB thread tasks with a tail
SIZES = (0, 1, 63, 64, 65, 1000, 3 * 65536 + 17)


def session(model: onnx.ModelProto, threads: int = 2) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    assert native.register_ops(options), "the native op library must be built for the tests"
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def lookup_model(table: np.ndarray, rank: int = 1) -> onnx.ModelProto:
    """y = table[x] for a uint8 tensor of any shape."""
    shape = [f"d{axis}" for axis in range(rank)]
    graph = helper.make_graph(
        [helper.make_node(LOOKUP_OP, ["x", "table"], ["y"], domain=native.DOMAIN)],
        "lookup",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, shape)],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, shape)],
        [numpy_helper.from_array(table, "table")],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(native.DOMAIN, 1)]
    return helper.make_model(graph, opset_imports=opsets)


CHANNEL_MUL_INPUTS = ("x", "xs", "xz", "gate", "gs", "gz", "ys", "yz")
CHANNEL_MUL_TYPES = (TensorProto.UINT8, TensorProto.FLOAT, TensorProto.UINT8) * 2 + (
    TensorProto.FLOAT,
    TensorProto.UINT8,
)
# x scale and zero point, gate scale and zero point, y scale and zero point
CHANNEL_MUL_PARAMS = (0.043, 17, 1 / 255, 0, 0.021, 9)


def channel_mul_model(domain: str = native.DOMAIN) -> onnx.ModelProto:
    """y = x * gate[c] along the last axis, quantized; in com.microsoft, ORT's own QLinearMul."""
    op_type = CHANNEL_MUL_OP if domain == native.DOMAIN else "QLinearMul"
    inputs = [
        helper.make_tensor_value_info(name, kind, None)
        for name, kind in zip(CHANNEL_MUL_INPUTS, CHANNEL_MUL_TYPES)
    ]
    graph = helper.make_graph(
        [helper.make_node(op_type, list(CHANNEL_MUL_INPUTS), ["y"], domain=domain)],
        "channel_mul",
        inputs,
        [helper.make_tensor_value_info("y", TensorProto.UINT8, None)],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(domain, 1)]
    return helper.make_model(graph, opset_imports=opsets)


def channel_mul_feeds(x: np.ndarray, gate: np.ndarray) -> dict[str, np.ndarray]:
    x_scale, x_zero, gate_scale, gate_zero, y_scale, y_zero = CHANNEL_MUL_PARAMS
    values = (x, x_scale, x_zero, gate, gate_scale, gate_zero, y_scale, y_zero)
    kinds = (np.uint8, np.float32, np.uint8) * 2 + (np.float32, np.uint8)
    return {name: np.asarray(v, kind) for name, v, kind in zip(CHANNEL_MUL_INPUTS, values, kinds)}


def channel_mul_reference(x: np.ndarray, gate: np.ndarray) -> np.ndarray:
    """The op's arithmetic in numpy: float32 multipliers per image and channel (a gate of
    shape [N or 1, 1, 1, C]), round half to even, saturate."""
    x_scale, x_zero, gate_scale, gate_zero, y_scale, y_zero = map(np.float32, CHANNEL_MUL_PARAMS)
    gate_values = gate.astype(np.float32) - gate_zero
    multiplier = x_scale * gate_scale * gate_values / y_scale
    scaled = (x.astype(np.float32) - x_zero) * multiplier
    return np.clip(np.rint(scaled) + y_zero, 0, 255).astype(np.uint8)


def upsample_model() -> onnx.ModelProto:
    """y = x repeated factors[0] times along H and factors[1] times along W (NHWC, uint8)."""
    graph = helper.make_graph(
        [helper.make_node(UPSAMPLE_OP, ["x", "factors"], ["y"], domain=native.DOMAIN)],
        "upsample",
        [
            helper.make_tensor_value_info("x", TensorProto.UINT8, None),
            helper.make_tensor_value_info("factors", TensorProto.INT64, [2]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, None)],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(native.DOMAIN, 1)]
    return helper.make_model(graph, opset_imports=opsets)


def check_kernels_everywhere() -> None:
    """Both ops against numpy: every size (vector tails, several thread tasks), 1 and 2
    threads, and 4-D NHWC tensors with channel counts around the 16-lane width."""
    rng = np.random.default_rng(0)
    table = rng.integers(0, 256, 256, dtype=np.uint8)
    for threads in (1, 2):
        flat = session(lookup_model(table), threads)
        for size in SIZES:
            x = rng.integers(0, 256, size, dtype=np.uint8)
            np.testing.assert_array_equal(flat.run(None, {"x": x})[0], table[x])
        channel_mul = session(channel_mul_model(), threads)
        shapes = ((1, 1, 1, 1, 1), (1, 3, 5, 16, 1), (1, 7, 9, 17, 1), (1, 48, 80, 40, 1))
        shapes += ((3, 7, 9, 17, 3), (2, 48, 80, 40, 2), (2, 5, 5, 16, 1))  # [batch .. gates]
        for batch, height, width, channels, gates in shapes:
            x = rng.integers(0, 256, (batch, height, width, channels), dtype=np.uint8)
            gate = rng.integers(0, 256, (gates, 1, 1, channels), dtype=np.uint8)
            y = channel_mul.run(None, channel_mul_feeds(x, gate))[0]
            np.testing.assert_array_equal(y, channel_mul_reference(x, gate))
        upsample = session(upsample_model(), threads)
        for shape, factors in (
            ((1, 3, 5, 7), (2, 2)),
            ((2, 24, 40, 64), (2, 2)),
            ((1, 4, 6, 3), (1, 3)),
        ):
            x = rng.integers(0, 256, shape, dtype=np.uint8)
            y = upsample.run(None, {"x": x, "factors": np.array(factors, np.int64)})[0]
            np.testing.assert_array_equal(y, x.repeat(factors[0], 1).repeat(factors[1], 2))
    x = rng.integers(0, 256, (1, 48, 80, 72), dtype=np.uint8)
    y = session(lookup_model(table, rank=4)).run(None, {"x": x})[0]
    assert y.shape == x.shape
    np.testing.assert_array_equal(y, table[x])


def test_library_is_built() -> None:
    path = native.library_path()
    assert path is not None and path.is_file(), native.BUILD_HINT


def test_kernels_match_numpy() -> None:
    check_kernels_everywhere()


def test_portable_kernels_match_numpy() -> None:
    """The scalar loops other CPUs take: forced by the environment, in a fresh process."""
    environment = {**os.environ, "HYBRIDNETS_PORTABLE_KERNELS": "1"}
    code = "import test_native_ops as t; t.check_kernels_everywhere()"
    folder = Path(__file__).parent
    subprocess.run([sys.executable, "-c", code], cwd=folder, env=environment, check=True)


def test_channel_mul_is_within_a_code_of_qlinear_mul() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (1, 24, 40, 144), dtype=np.uint8)
    gate = rng.integers(0, 256, (1, 1, 1, 144), dtype=np.uint8)
    feeds = channel_mul_feeds(x, gate)
    ours = session(channel_mul_model()).run(None, feeds)[0].astype(int)
    theirs = session(channel_mul_model(MS_DOMAIN)).run(None, feeds)[0].astype(int)
    assert np.abs(ours - theirs).max() <= 1


@pytest.mark.parametrize("gate_shape", [(1, 8, 1, 1), (3, 1, 1, 8), (2, 1, 1, 4)])
def test_a_gate_that_does_not_fit_is_an_error(gate_shape: tuple[int, ...]) -> None:
    """Across another axis, more gates than images, or the wrong channel count."""
    x = np.zeros((2, 4, 4, 8), np.uint8)
    with pytest.raises(Exception, match=r"the gate must be \[N or 1, 1, ..., C\]"):
        session(channel_mul_model()).run(None, channel_mul_feeds(x, np.zeros(gate_shape)))


@pytest.mark.parametrize(
    ("shape", "factors", "message"),
    [((1, 4, 4, 2), (2, 0), "two integers >= 1"), ((4, 4, 2), (2, 2), r"\[N, H, W, C\]")],
)
def test_bad_upsample_inputs_are_errors(shape, factors, message: str) -> None:
    feeds = {"x": np.zeros(shape, np.uint8), "factors": np.array(factors, np.int64)}
    with pytest.raises(Exception, match=message):
        session(upsample_model()).run(None, feeds)


def test_a_table_that_is_not_256_entries_is_an_error() -> None:
    bad = session(lookup_model(np.zeros(255, np.uint8)))
    with pytest.raises(Exception, match="the table needs 256 entries"):
        bad.run(None, {"x": np.zeros(4, np.uint8)})


SIGMOID_SCALE, SIGMOID_ZERO = 1 / 255, 0


def qlinear_mul_graph(
    x_scale: float, x_zero: int, y_scale: float, y_zero: int, weight_code: int | None
) -> onnx.ModelProto:
    """ORT's fused int8 graphs, uint8 throughout: y = x * sigmoid(x) (weight_code None), or
    y = x * w for a constant w stored as `weight_code` with scale 0.01 and zero point 100."""
    constants = {
        "xs": np.float32(x_scale),
        "xz": np.uint8(x_zero),
        "ss": np.float32(SIGMOID_SCALE if weight_code is None else 0.01),
        "sz": np.uint8(SIGMOID_ZERO if weight_code is None else 100),
        "ys": np.float32(y_scale),
        "yz": np.uint8(y_zero),
    }
    nodes = []
    if weight_code is None:
        sigmoid = ["x", "xs", "xz", "ss", "sz"]
        nodes.append(helper.make_node("QLinearSigmoid", sigmoid, ["s"], domain=MS_DOMAIN))
    else:
        constants["s"] = np.full((1, 1, 1, 1), weight_code, np.uint8)
    mul = ["x", "xs", "xz", "s", "ss", "sz", "ys", "yz"]
    nodes.append(helper.make_node("QLinearMul", mul, ["y"], name="mul", domain=MS_DOMAIN))
    graph = helper.make_graph(
        nodes,
        "qlinear_mul",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 1, 1, 256])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 1, 1, 256])],
        [numpy_helper.from_array(np.array(v), k) for k, v in constants.items()],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(MS_DOMAIN, 1)]
    return helper.make_model(graph, opset_imports=opsets)


def exact_codes(params: tuple[float, int, float, int], weight_code: int | None) -> np.ndarray:
    """Q(f(DQ(x))) for every code x, in float64 from the graph's float32 scales, rounded half
    to even."""
    x_scale, x_zero, y_scale, y_zero = params
    x_scale, y_scale, weight_scale = (float(np.float32(v)) for v in (x_scale, y_scale, 0.01))
    real = (np.arange(256) - x_zero) * x_scale
    if weight_code is None:
        value = real / (1 + np.exp(-real))
    else:
        value = real * (weight_code - 100) * weight_scale
    return np.clip(np.rint(value / y_scale) + y_zero, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("params", [(0.05, 128, 0.03, 20), (0.11, 10, 0.07, 3)])
@pytest.mark.parametrize("weight_code", [None, 180, 37])
def test_folds_are_exact_and_close_to_onnx_runtime_ops(params, weight_code) -> None:
    model = qlinear_mul_graph(*params, weight_code)
    codes = np.arange(256, dtype=np.uint8).reshape(1, 1, 1, 256)
    stock = session(model).run(None, {"x": codes})[0]
    assert fold_native_ops(model) == {LOOKUP_OP: 1, CHANNEL_MUL_OP: 0, UPSAMPLE_OP: 0}
    assert [node.op_type for node in model.graph.node] == [LOOKUP_OP]
    assert {tensor.name for tensor in model.graph.initializer} == {"y/Uint8Lookup_constant"}
    folded = session(model).run(None, {"x": codes})[0]
    np.testing.assert_array_equal(folded.ravel(), exact_codes(params, weight_code))
    # ORT's swish rounds the sigmoid to 1/255 steps first: off by a few codes at most
    assert np.abs(folded.astype(int) - stock.astype(int)).max() <= (3 if weight_code is None else 1)


def test_mul_by_another_tensor_is_left_alone() -> None:
    """An SE gate, x * sigmoid(g), is not a function of x alone."""
    model = qlinear_mul_graph(0.05, 128, 0.03, 20, None)
    model.graph.node[0].input[0] = "g"
    model.graph.input.append(helper.make_tensor_value_info("g", TensorProto.UINT8, [1, 1, 1, 256]))
    assert fold_native_ops(model) == {LOOKUP_OP: 0, CHANNEL_MUL_OP: 0, UPSAMPLE_OP: 0}
    assert [node.op_type for node in model.graph.node] == ["QLinearSigmoid", "QLinearMul"]


def squeeze_excitation_graph() -> onnx.ModelProto:
    """y = x * sigmoid(pool(x)) per channel, as ORT fuses EfficientNet's SE (NHWC, uint8)."""
    x_scale, x_zero, gate_scale, gate_zero, y_scale, y_zero = CHANNEL_MUL_PARAMS
    constants = {
        "xs": np.float32(x_scale),
        "xz": np.uint8(x_zero),
        "gs": np.float32(gate_scale),
        "gz": np.uint8(gate_zero),
        "ys": np.float32(y_scale),
        "yz": np.uint8(y_zero),
    }
    nodes = [
        helper.make_node(
            "QLinearGlobalAveragePool",
            ["x", "xs", "xz", "xs", "xz"],
            ["pooled"],
            domain=MS_DOMAIN,
            channels_last=1,
        ),
        helper.make_node(
            "QLinearSigmoid", ["pooled", "xs", "xz", "gs", "gz"], ["gate"], domain=MS_DOMAIN
        ),
        helper.make_node("QLinearMul", list(CHANNEL_MUL_INPUTS), ["y"], domain=MS_DOMAIN),
    ]
    shape = [1, 12, 20, 40]
    graph = helper.make_graph(
        nodes,
        "se",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, shape)],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, shape)],
        [numpy_helper.from_array(np.array(v), k) for k, v in constants.items()],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(MS_DOMAIN, 1)]
    return helper.make_model(graph, opset_imports=opsets)


def test_squeeze_excitation_becomes_a_channel_mul() -> None:
    model = squeeze_excitation_graph()
    x = np.random.default_rng(2).integers(0, 256, (1, 12, 20, 40), dtype=np.uint8)
    stock = session(model).run(None, {"x": x})[0].astype(int)
    assert fold_native_ops(model) == {LOOKUP_OP: 0, CHANNEL_MUL_OP: 1, UPSAMPLE_OP: 0}
    assert [node.op_type for node in model.graph.node][-1] == CHANNEL_MUL_OP
    folded = session(model).run(None, {"x": x})[0].astype(int)
    assert np.abs(folded - stock).max() <= 1


def nearest_resize_graph(mode: str = "nearest", scales: tuple[float, ...] = (1, 2, 2, 1)):
    """ORT's NHWC int8 graph around BiFPN's upsampling: QLinearConv-free, a MaxPool feeds it."""
    nodes = [
        helper.make_node("NhwcMaxPool", ["x"], ["pooled"], domain=MS_DOMAIN, kernel_shape=[1, 1]),
        helper.make_node(
            "Resize",
            ["pooled", "", "scales"],
            ["y"],
            mode=mode,
            coordinate_transformation_mode="asymmetric",
            nearest_mode="floor",
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "resize",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 6, 10, 16])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, None)],
        [numpy_helper.from_array(np.array(scales, np.float32), "scales")],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(MS_DOMAIN, 1)]
    return helper.make_model(graph, opset_imports=opsets)


def test_nearest_upsampling_becomes_native_and_equal() -> None:
    x = np.random.default_rng(3).integers(0, 256, (1, 6, 10, 16), dtype=np.uint8)
    model = nearest_resize_graph()
    stock = session(model).run(None, {"x": x})[0]
    assert fold_native_ops(model) == {LOOKUP_OP: 0, CHANNEL_MUL_OP: 0, UPSAMPLE_OP: 1}
    assert [node.op_type for node in model.graph.node] == ["NhwcMaxPool", UPSAMPLE_OP]
    np.testing.assert_array_equal(session(model).run(None, {"x": x})[0], stock)


@pytest.mark.parametrize(
    ("mode", "scales"), [("linear", (1, 2, 2, 1)), ("nearest", (1, 1.5, 2, 1))]
)
def test_other_resizes_are_left_alone(mode: str, scales: tuple[float, ...]) -> None:
    model = nearest_resize_graph(mode, scales)
    assert fold_native_ops(model) == {LOOKUP_OP: 0, CHANNEL_MUL_OP: 0, UPSAMPLE_OP: 0}
