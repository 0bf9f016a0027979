"""One BiFPN cell (EfficientDet style) over pyramid levels P3..P7 (or P3..P8)."""

from __future__ import annotations

import torch
from torch import nn

from .layers import ConvBN, SameMaxPool, SeparableConvBlock

FUSION_EPS = 1e-4


class BiFPN(nn.Module):
    """Top-down then bottom-up fusion with fast normalised attention weights.

    Attribute names (`conv6_up`, `p4_w2`, `p5_down_channel_2`, ...) are generated per level so
    the state_dict keys equal the official ones for P3..P7 and extend naturally to P8.
    """

    def __init__(
        self,
        channels: int,
        backbone_channels: list[int],
        first_time: bool,
        attention: bool,
        top_level: int = 7,
    ) -> None:
        super().__init__()
        self.levels = list(range(3, top_level + 1))
        self.first_time = first_time
        self.attention = attention
        self.swish = nn.SiLU()
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.downsample = SameMaxPool(3, 2)
        top = self.levels[-1]
        for level in self.levels[:-1]:
            self.register_parameter(f"p{level}_w1", nn.Parameter(torch.ones(2)))
            self.add_module(f"conv{level}_up", SeparableConvBlock(channels))
        for level in self.levels[1:]:
            inputs = 2 if level == top else 3
            self.register_parameter(f"p{level}_w2", nn.Parameter(torch.ones(inputs)))
            self.add_module(f"conv{level}_down", SeparableConvBlock(channels))
        if first_time:
            c3, c4, c5 = backbone_channels
            self.p5_down_channel = ConvBN(c5, channels)
            self.p4_down_channel = ConvBN(c4, channels)
            self.p3_down_channel = ConvBN(c3, channels)
            self.p5_to_p6 = nn.Sequential(*ConvBN(c5, channels), SameMaxPool(3, 2))
            self.p4_down_channel_2 = ConvBN(c4, channels)
            self.p5_down_channel_2 = ConvBN(c5, channels)

    def _fuse(self, name: str, inputs: list[torch.Tensor]) -> torch.Tensor:
        """Swish of the sum weighted by relu(w_i)/(sum(relu(w))+eps), or of the plain sum."""
        if self.attention:
            weights = torch.relu(getattr(self, name))
            weights = weights / (weights.sum(0) + FUSION_EPS)
            inputs = [weight * tensor for weight, tensor in zip(weights, inputs)]
        fused = inputs[0]
        for tensor in inputs[1:]:
            fused = fused + tensor
        return self.swish(fused)

    def _project_inputs(
        self, inputs: tuple[torch.Tensor, ...]
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Return the top-down inputs and the bottom-up lateral inputs, per level."""
        if not self.first_time:
            return list(inputs), list(inputs)
        c3, c4, c5 = inputs
        top_down = [self.p3_down_channel(c3), self.p4_down_channel(c4), self.p5_down_channel(c5)]
        extra = self.p5_to_p6(c5)
        top_down.append(extra)
        for _ in self.levels[4:]:
            extra = self.downsample(extra)
            top_down.append(extra)
        lateral = list(top_down)
        lateral[1] = self.p4_down_channel_2(c4)
        lateral[2] = self.p5_down_channel_2(c5)
        return top_down, lateral

    def forward(self, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        top_down_in, lateral_in = self._project_inputs(inputs)
        count = len(self.levels)
        top_down: list[torch.Tensor] = [None] * count  # type: ignore[list-item]
        top_down[-1] = top_down_in[-1]
        for i in range(count - 2, -1, -1):
            level = self.levels[i]
            fused = self._fuse(f"p{level}_w1", [top_down_in[i], self.upsample(top_down[i + 1])])
            top_down[i] = getattr(self, f"conv{level}_up")(fused)
        outputs = [top_down[0]]
        for i in range(1, count):
            level = self.levels[i]
            parts = [lateral_in[i]]
            if i < count - 1:
                parts.append(top_down[i])
            parts.append(self.downsample(outputs[-1]))
            outputs.append(getattr(self, f"conv{level}_down")(self._fuse(f"p{level}_w2", parts)))
        return tuple(outputs)
