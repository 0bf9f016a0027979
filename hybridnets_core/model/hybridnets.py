"""HybridNets: EfficientNet + BiFPN + detection heads + segmentation decoder."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .anchors import anchors_for
from .backbone import EfficientNetEncoder
from .bifpn import BiFPN
from .config import BDD_ANCHOR_RATIOS, BDD_ANCHOR_SCALES, ModelConfig
from .heads import Classifier, Regressor
from .segmentation import BiFPNDecoder, SegmentationHead

BIFPN_CHANNELS = (64, 88, 112, 160, 224, 288, 384, 384, 384)
BIFPN_CELLS = (3, 4, 5, 6, 7, 7, 8, 8, 8)
HEAD_DEPTH = (3, 3, 3, 4, 4, 4, 5, 5, 5)
BACKBONE_VARIANT = (0, 1, 2, 3, 4, 5, 6, 6, 7)
ATTENTION_MAX_COEF = 5


class HybridNets(nn.Module):
    """The HybridNets network; `forward` returns (regression, classification, segmentation).

    regression [B, N, 4] (dy, dx, dh, dw); classification [B, N, C] sigmoid probabilities;
    segmentation [B, K, H, W] logits at input resolution. Anchors come from `anchors(H, W)`.
    """

    def __init__(
        self,
        compound_coef: int = 3,
        num_classes: int = 1,
        seg_classes: int = 2,
        seg_mode: str = "multiclass",
        anchor_scales: Sequence[float] = BDD_ANCHOR_SCALES,
        anchor_ratios: Sequence[tuple[float, float]] = BDD_ANCHOR_RATIOS,
    ) -> None:
        super().__init__()
        config = ModelConfig(
            compound_coef=compound_coef,
            obj_list=[f"class{i}" for i in range(num_classes)],
            seg_list=[f"seg{i}" for i in range(seg_classes)],
            seg_mode=seg_mode,
            anchor_scales=tuple(anchor_scales),
            anchor_ratios=tuple(anchor_ratios),
        )
        self.compound_coef = compound_coef
        self.num_classes = num_classes
        self.seg_mode = seg_mode
        self.anchor_config = config
        self.strides = config.strides

        channels = BIFPN_CHANNELS[compound_coef]
        depth = HEAD_DEPTH[compound_coef]
        num_levels = len(self.strides)
        self.encoder = EfficientNetEncoder(BACKBONE_VARIANT[compound_coef])
        c2, c3, c4, c5 = self.encoder.out_channels
        self.bifpn = nn.Sequential(
            *[
                BiFPN(
                    channels,
                    [c3, c4, c5],
                    first_time=index == 0,
                    attention=compound_coef <= ATTENTION_MAX_COEF,
                    top_level=len(self.strides) + 2,
                )
                for index in range(BIFPN_CELLS[compound_coef])
            ]
        )
        self.regressor = Regressor(channels, config.num_anchors, depth, num_levels)
        self.classifier = Classifier(channels, config.num_anchors, num_classes, depth, num_levels)
        self.bifpndecoder = BiFPNDecoder(channels, c2)
        self.segmentation_head = SegmentationHead(config.seg_channels)
        self._initialise()

    @classmethod
    def from_config(cls, config: ModelConfig) -> HybridNets:
        """Build the network described by a ModelConfig (random initialisation)."""
        return cls(
            compound_coef=config.compound_coef,
            num_classes=config.num_classes,
            seg_classes=len(config.seg_list),
            seg_mode=config.seg_mode,
            anchor_scales=config.anchor_scales,
            anchor_ratios=config.anchor_ratios,
        )

    def _initialise(self) -> None:
        """Kaiming init for BiFPN/decoder convs, Xavier for the seg head, BN to identity."""
        for module in (self.bifpn, self.bifpndecoder):
            for layer in module.modules():
                if isinstance(layer, nn.Conv2d):
                    nn.init.kaiming_uniform_(layer.weight, mode="fan_in", nonlinearity="relu")
                    if layer.bias is not None:
                        nn.init.zeros_(layer.bias)
                elif isinstance(layer, nn.BatchNorm2d):
                    nn.init.ones_(layer.weight)
                    nn.init.zeros_(layer.bias)
        head_conv = self.segmentation_head[0]
        nn.init.xavier_uniform_(head_conv.weight)
        nn.init.zeros_(head_conv.bias)

    def anchors(self, height: int, width: int) -> torch.Tensor:
        """Anchors [N, 4] (y1, x1, y2, x2) in input pixels for an HxW input (`anchors_for`)."""
        return torch.from_numpy(np.array(anchors_for(self.anchor_config, (height, width))))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c2, c3, c4, c5 = self.encoder(x)
        pyramid = self.bifpn((c3, c4, c5))
        segmentation = self.segmentation_head(self.bifpndecoder(c2, pyramid))
        return self.regressor(pyramid), self.classifier(pyramid), segmentation
