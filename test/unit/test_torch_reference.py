"""The as-trained torch runtime: the reference implementation's way of running the network,
the baseline `hybridnets bench --backend torch-reference` times against the optimised one."""

from __future__ import annotations

import json

import numpy as np
import torch

from hybridnets_core import HybridNets, ModelConfig
from hybridnets_core.cli.main import main
from hybridnets_core.runtime.torch_runtime import TorchRuntime


def norm_layers(network: torch.nn.Module) -> int:
    return sum(isinstance(module, torch.nn.BatchNorm2d) for module in network.modules())


def test_as_trained_runtime_matches_the_folded_one_and_leaves_the_model_alone() -> None:
    torch.manual_seed(0)
    config = ModelConfig(compound_coef=0, input_size=(256, 384))
    model = HybridNets.from_config(config).eval()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    batch = np.random.default_rng(1).normal(size=(1, 3, 256, 384)).astype(np.float32)
    reference = TorchRuntime(model, config, as_trained=True)
    folded = TorchRuntime(model, config)
    assert reference.memory_format == torch.contiguous_format
    assert norm_layers(reference.model) == norm_layers(model) > norm_layers(folded.model)
    for as_trained, optimised in zip(reference.network(batch), folded.network(batch)):
        np.testing.assert_allclose(as_trained, optimised, rtol=1e-3, atol=1e-3)
    assert all(torch.equal(before[name], value) for name, value in model.state_dict().items())


def test_bench_times_the_reference_way_beside_ours(tmp_path, dashcam_paths) -> None:
    report_path = tmp_path / "bench.json"
    argv = ["bench", "--random", "-c", "0", "--size", "384x256", "--runs", "1", "--warmup", "0",
            "--backend", "torch-reference,torch", "--image", str(dashcam_paths[0]),
            "--json", str(report_path)]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(report_path.read_text())
    assert list(report["backends"]) == ["torch-reference", "torch"]
    assert report["ratios"]["forward_speedup"]["torch-reference"] == 1.0
    assert report["backends"]["torch"]["fps"] > 0
