"""Box regression and classification heads shared across pyramid levels."""

from __future__ import annotations

import math

import torch
from torch import nn

from .layers import SeparableConvBlock, batch_norm

PRIOR_PROBABILITY = 0.01


class AnchorHead(nn.Module):
    """`depth` separable convs shared by all levels, BN per level, swish; then a header conv.

    Output is NHWC-flattened level by level: [B, sum(H*W*anchors), values_per_anchor].
    """

    def __init__(
        self, channels: int, num_anchors: int, values_per_anchor: int, depth: int, num_levels: int
    ) -> None:
        super().__init__()
        self.values_per_anchor = values_per_anchor
        self.conv_list = nn.ModuleList(
            [SeparableConvBlock(channels, norm=False) for _ in range(depth)]
        )
        self.bn_list = nn.ModuleList(
            [nn.ModuleList([batch_norm(channels) for _ in range(depth)]) for _ in range(num_levels)]
        )
        self.header = SeparableConvBlock(
            channels, num_anchors * values_per_anchor, norm=False, activation=False
        )
        self.swish = nn.SiLU()

    def forward(self, features: tuple[torch.Tensor, ...]) -> torch.Tensor:
        outputs = []
        for feature, level_norms in zip(features, self.bn_list):
            for conv, norm in zip(self.conv_list, level_norms):
                feature = self.swish(norm(conv(feature)))
            feature = self.header(feature).permute(0, 2, 3, 1)
            outputs.append(feature.reshape(feature.shape[0], -1, self.values_per_anchor))
        return torch.cat(outputs, dim=1)


class Regressor(AnchorHead):
    """Per-anchor box deltas (dy, dx, dh, dw)."""

    def __init__(self, channels: int, num_anchors: int, depth: int, num_levels: int) -> None:
        super().__init__(channels, num_anchors, 4, depth, num_levels)


class Classifier(AnchorHead):
    """Per-anchor class probabilities (sigmoid)."""

    def __init__(
        self, channels: int, num_anchors: int, num_classes: int, depth: int, num_levels: int
    ) -> None:
        super().__init__(channels, num_anchors, num_classes, depth, num_levels)
        nn.init.constant_(
            self.header.pointwise_conv.conv.bias,
            -math.log((1 - PRIOR_PROBABILITY) / PRIOR_PROBABILITY),
        )

    def forward(self, features: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return super().forward(features).sigmoid()
