"""The network: official checkpoint layout, parameter count, every coefficient and seg mode."""

from __future__ import annotations

import json

import pytest
import torch
from testdata import SPEC_FILE

from hybridnets_core import HybridNets, ModelConfig
from hybridnets_core.errors import ConfigError
from hybridnets_core.model.backbone import EfficientNetEncoder
from hybridnets_core.model.checkpoint import load_model
from hybridnets_core.model.layers import SameMaxPool

UNUSED_HEAD = ("encoder._conv_head", "encoder._bn1")


def spec_tensors() -> list[tuple[str, list[int], str]]:
    return json.loads(SPEC_FILE.read_text())["tensors"]


def state_dict_from_spec() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    state = {}
    for name, shape, dtype in spec_tensors():
        if dtype == "torch.int64":
            state[name] = torch.tensor(7)
        elif "running_var" in name:
            state[name] = torch.rand(shape, generator=generator) + 0.5
        else:
            state[name] = torch.randn(shape, generator=generator) * 0.05
    return state


def test_official_layout_loads_strictly() -> None:
    model = HybridNets(compound_coef=3, num_classes=1, seg_classes=2, seg_mode="multiclass")
    expected = {name: shape for name, shape, _ in spec_tensors()}
    actual = {name: list(t.shape) for name, t in model.state_dict().items()}
    assert len(expected) == 1502
    assert actual == expected
    result = model.load_state_dict(state_dict_from_spec(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_parameter_count_matches_paper() -> None:
    model = HybridNets()
    total = sum(p.numel() for p in model.parameters())
    used = sum(p.numel() for n, p in model.named_parameters() if not n.startswith(UNUSED_HEAD))
    assert used == 12_831_274
    assert total == 13_424_170


def test_official_plain_state_dict_file_loads(tmp_path) -> None:
    state = state_dict_from_spec()
    path = tmp_path / "hybridnets.pth"
    torch.save(state, path)
    model, config = load_model(path)
    assert (config.compound_coef, config.obj_list, config.seg_list, config.seg_mode) == (
        3,
        ["car"],
        ["road", "lane"],
        "multiclass",
    )
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


def test_backbone_keeps_package_static_padding() -> None:
    """B3's stem pads as computed for its 300 px default size, whatever the input size."""
    stem = HybridNets().encoder._conv_stem
    assert stem.static_padding.padding == (0, 1, 0, 1)


def test_same_maxpool_pads_with_zeros() -> None:
    """The official pooling pads right/bottom with 0, so an all-negative map yields 0 there."""
    pooled = SameMaxPool()(-torch.ones(1, 1, 4, 4))
    assert pooled.shape == (1, 1, 2, 2)
    assert pooled[0, 0, 0, 0] == -1 and pooled[0, 0, 1, 1] == 0


@pytest.mark.parametrize("coef", range(9))
def test_every_coefficient_builds_and_runs(coef: int) -> None:
    height, width = 256, 256
    model = HybridNets(compound_coef=coef, num_classes=3).eval()
    with torch.inference_mode():
        regression, classification, segmentation = model(torch.randn(1, 3, height, width))
    anchors = model.anchors(height, width)
    assert regression.shape == (1, len(anchors), 4)
    assert classification.shape == (1, len(anchors), 3)
    assert segmentation.shape == (1, 3, height, width)
    assert classification.min() >= 0 and classification.max() <= 1
    assert len(model.strides) == (6 if coef == 8 else 5)


@pytest.mark.parametrize(
    ("seg_mode", "seg_classes", "channels"),
    [("binary", 1, 1), ("multiclass", 2, 3), ("multiclass", 4, 5), ("multilabel", 3, 3)],
)
def test_segmentation_modes(seg_mode: str, seg_classes: int, channels: int) -> None:
    model = HybridNets(compound_coef=0, seg_classes=seg_classes, seg_mode=seg_mode).eval()
    with torch.inference_mode():
        _, _, segmentation = model(torch.randn(2, 3, 128, 256))
    assert segmentation.shape == (2, channels, 128, 256)


def test_custom_anchors_and_classes() -> None:
    model = HybridNets(
        compound_coef=0, num_classes=10, anchor_scales=(1.0, 2.0), anchor_ratios=((1.0, 1.0),)
    ).eval()
    with torch.inference_mode():
        regression, classification, _ = model(torch.randn(1, 3, 128, 128))
    locations = sum((128 // s) ** 2 for s in model.strides)
    assert regression.shape == (1, locations * 2, 4)
    assert classification.shape == (1, locations * 2, 10)


@pytest.mark.parametrize("size", [(300, 640), (384, 600), (0, 128)])
def test_input_size_must_be_multiple_of_128(size: tuple[int, int]) -> None:
    with pytest.raises(ConfigError, match="not a multiple of 128"):
        ModelConfig(input_size=size)


def test_invalid_structure_is_rejected() -> None:
    with pytest.raises(ConfigError, match="compound_coef"):
        HybridNets(compound_coef=9)
    with pytest.raises(ConfigError, match="seg_mode"):
        HybridNets(seg_mode="panoptic")


@pytest.mark.parametrize(
    ("variant", "taps", "channels"),
    [
        (0, [2, 4, 8, 15], [24, 40, 112, 320]),  # B0: stride 16 after the first 112-ch block
        (1, [4, 7, 15, 22], [24, 40, 112, 320]),
        (3, [4, 7, 17, 25], [32, 48, 136, 384]),
        (7, [10, 17, 37, 54], [48, 80, 224, 640]),
    ],
)
def test_backbone_taps_the_reference_encoder_blocks(
    variant: int, taps: list[int], channels: list[int]
) -> None:
    """The stride-4/8/16/32 features come from the blocks the paper's encoder returns."""
    encoder = EfficientNetEncoder(variant)
    assert encoder.stage_ends == taps
    assert encoder.out_channels == channels
    features = encoder(torch.zeros(1, 3, 128, 128))
    assert [f.shape[1] for f in features] == channels
    assert [128 // f.shape[2] for f in features] == [4, 8, 16, 32]
