"""Freezing parts of the network for the paper's staged training."""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn

from ..errors import ConfigError
from ..model import HybridNets

GROUPS = {
    "backbone": ("encoder",),
    "det": ("bifpn", "regressor", "classifier"),
    "seg": ("bifpndecoder", "segmentation_head"),
}
UNUSED = ("_conv_head", "_bn1")  # encoder layers kept only so the official keys match


def frozen_modules(model: HybridNets, groups: Iterable[str]) -> list[nn.Module]:
    """The sub-modules that belong to the named groups (backbone, det, seg)."""
    return [getattr(model, name) for group in groups for name in GROUPS[group]]


def freeze(model: HybridNets, groups: Iterable[str]) -> None:
    """Stop gradients for the named groups and for the encoder layers forward never uses
    (DistributedDataParallel requires every trainable parameter to get a gradient)."""
    groups = list(groups)
    if {"det", "seg"} <= set(groups):
        raise ConfigError("--freeze_det and --freeze_seg together leave nothing to train")
    for name in UNUSED:
        getattr(model.encoder, name).requires_grad_(False)
    for module in frozen_modules(model, groups):
        module.requires_grad_(False)


def train_mode(model: HybridNets, groups: Iterable[str]) -> None:
    """model.train(), but frozen groups keep eval mode so their BatchNorm statistics stay fixed."""
    model.train()
    for module in frozen_modules(model, groups):
        module.eval()
