"""Building blocks shared by the BiFPN, the heads and the segmentation decoder.

Module and attribute names are chosen so that state_dict keys equal the official checkpoint's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

BN_MOMENTUM = 0.01
BN_EPS = 1e-3


def batch_norm(channels: int) -> nn.BatchNorm2d:
    """BatchNorm with the official momentum/eps (TensorFlow's 0.99 decay, 1e-3)."""
    return nn.BatchNorm2d(channels, momentum=BN_MOMENTUM, eps=BN_EPS)


class SamePadConv(nn.Module):
    """Stride-1 conv with TensorFlow 'same' padding, stored under `.conv` like the official code.

    For stride 1 and an odd kernel the runtime 'same' rule pads k//2 on every side, so the
    padding is folded into the convolution itself (no separate pad op per call).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
        groups: int = 1,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            padding=kernel_size // 2,
            bias=bias,
            groups=groups,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class SameMaxPool(nn.Module):
    """3x3 stride-2 max-pool with 'same' padding computed from the input, zero-filled.

    The official code pads with zeros (not -inf) before pooling; values at the border are
    therefore max(x, 0). Kept for numerical equality with the official weights.
    """

    def __init__(self, kernel_size: int = 3, stride: int = 2) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.pool = nn.MaxPool2d(kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        extra_w = same_padding_total(int(width), self.stride, self.kernel_size)
        extra_h = same_padding_total(int(height), self.stride, self.kernel_size)
        if extra_w or extra_h:
            left, top = extra_w // 2, extra_h // 2
            x = F.pad(x, [left, extra_w - left, top, extra_h - top])
        return self.pool(x)


def same_padding_total(size: int, stride: int, kernel: int) -> int:
    """Total 'same' padding along one axis: (ceil(size/stride)-1)*stride - size + kernel."""
    return max((math.ceil(size / stride) - 1) * stride - size + kernel, 0)


class SeparableConvBlock(nn.Module):
    """Depthwise 3x3 (no bias) then pointwise 1x1 (bias), optional BN and swish."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int | None = None,
        norm: bool = True,
        activation: bool = False,
    ) -> None:
        super().__init__()
        out_channels = out_channels or in_channels
        self.depthwise_conv = SamePadConv(
            in_channels, in_channels, 3, bias=False, groups=in_channels
        )
        self.pointwise_conv = SamePadConv(in_channels, out_channels, 1)
        self.bn = batch_norm(out_channels) if norm else None
        self.swish = nn.SiLU() if activation else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pointwise_conv(self.depthwise_conv(x))
        if self.bn is not None:
            x = self.bn(x)
        if self.swish is not None:
            x = self.swish(x)
        return x


class ConvBN(nn.Sequential):
    """1x1 projection + BN, keys `.0.conv.*` and `.1.*` as in the official BiFPN."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(SamePadConv(in_channels, out_channels, 1), batch_norm(out_channels))
