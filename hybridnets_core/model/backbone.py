"""EfficientNet encoder returning the stride 4/8/16/32 feature maps (keys `encoder.*`)."""

from __future__ import annotations

import torch
from efficientnet_pytorch import EfficientNet
from efficientnet_pytorch.utils import get_model_params
from torch import nn

# Blocks before each stride-4/8/16/32 tap of EfficientNet-B0..B7 in the reference encoder
# (segmentation_models_pytorch's `stage_idxs`). Each is the end of its stride's blocks except
# for B0, whose stride-16 tap follows block 8, the first 112-channel block, not block 10.
STAGE_INDICES: dict[int, tuple[int, int, int, int]] = {
    0: (3, 5, 9, 16),
    1: (5, 8, 16, 23),
    2: (5, 8, 16, 23),
    3: (5, 8, 18, 26),
    4: (6, 10, 22, 32),
    5: (8, 13, 27, 39),
    6: (9, 15, 31, 45),
    7: (11, 18, 38, 55),
}


class EfficientNetEncoder(EfficientNet):
    """EfficientNet-B{n} from efficientnet-pytorch without its classifier.

    Keeps `_conv_head`/`_bn1` (unused) so the official checkpoint's keys match, and keeps the
    package's static 'same' padding computed for the variant's default image size, which the
    official weights were trained with. Features are tapped where the reference encoder taps
    them (its segmentation-models stage indices), so every coefficient is the paper's network.
    """

    def __init__(self, variant: int) -> None:
        blocks_args, global_params = get_model_params(f"efficientnet-b{variant}", None)
        super().__init__(blocks_args, global_params)
        del self._fc
        self._use_plain_swish()
        self.stage_ends = [end - 1 for end in STAGE_INDICES[variant]]
        self.out_channels = [self._block_out_channels(i) for i in self.stage_ends]

    def _use_plain_swish(self) -> None:
        """Swap the package's custom-autograd swish for SiLU: same maths, fused and exportable."""
        self._swish = nn.SiLU()
        for block in self._blocks:
            block._swish = nn.SiLU()

    def _block_out_channels(self, index: int) -> int:
        return self._blocks[index]._bn2.num_features

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:  # type: ignore[override]
        """Return [C2, C3, C4, C5]: features at strides 4, 8, 16 and 32."""
        x = self._swish(self._bn0(self._conv_stem(x)))
        features = []
        drop_rate = self._global_params.drop_connect_rate or 0.0
        num_blocks = len(self._blocks)
        for index, block in enumerate(self._blocks):
            x = block(x, drop_connect_rate=drop_rate * index / num_blocks)
            if index in self.stage_ends:
                features.append(x)
        return features
