"""Segmentation decoder over the BiFPN levels plus backbone C2 (keys `bifpndecoder.*`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import SamePadConv, SeparableConvBlock, batch_norm

SEGMENTATION_CHANNELS = 64


class Conv3x3BNSwish(nn.Module):
    """3x3 conv + BN, swish, separable conv + BN, then optional bilinear x2 upsampling."""

    def __init__(self, in_channels: int, out_channels: int, upsample: bool) -> None:
        super().__init__()
        self.upsample = upsample
        self.block = nn.Sequential(
            SamePadConv(in_channels, out_channels, 3, bias=False), batch_norm(out_channels)
        )
        self.swish = nn.SiLU()
        self.conv_sp = SeparableConvBlock(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_sp(self.swish(self.block(x)))
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=True)
        return x


class SegmentationBlock(nn.Module):
    """`n_upsamples` upsampling units (at least one unit, which upsamples only if n > 0)."""

    def __init__(self, in_channels: int, out_channels: int, n_upsamples: int) -> None:
        super().__init__()
        units = [Conv3x3BNSwish(in_channels, out_channels, upsample=n_upsamples > 0)]
        units += [Conv3x3BNSwish(out_channels, out_channels, True) for _ in range(1, n_upsamples)]
        self.block = nn.Sequential(*units)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class BiFPNDecoder(nn.Module):
    """Brings P7..P3 and C2 to stride 4, sums them and applies Dropout2d(0.2)."""

    def __init__(self, pyramid_channels: int, c2_channels: int, dropout: float = 0.2) -> None:
        super().__init__()
        self.seg_blocks = nn.ModuleList(
            [
                SegmentationBlock(pyramid_channels, SEGMENTATION_CHANNELS, n_upsamples)
                for n_upsamples in (5, 4, 3, 2, 1)
            ]
        )
        self.seg_p2 = SegmentationBlock(c2_channels, SEGMENTATION_CHANNELS, n_upsamples=0)
        self.dropout = nn.Dropout2d(p=dropout)

    def forward(self, c2: torch.Tensor, pyramid: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """`pyramid` is (P3, ..., P7); levels above P7 are not used by the decoder."""
        merged = self.seg_p2(c2)
        for block, feature in zip(self.seg_blocks, reversed(pyramid[:5])):
            merged = merged + block(feature)
        return self.dropout(merged)


class SegmentationHead(nn.Sequential):
    """1x1 conv to K logits then bilinear x4 upsampling back to the input resolution."""

    def __init__(self, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(SEGMENTATION_CHANNELS, out_channels, kernel_size=1),
            nn.Upsample(scale_factor=4, mode="bilinear", align_corners=True),
        )
