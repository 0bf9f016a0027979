"""Letterbox geometry: fit a source image into the network input and map results back."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import InputError
from ..model.config import PAD_VALUE

MIN_RESIZED_SIDE = 1  # px: an image whose short side would shrink below this is rejected


@dataclass(frozen=True)
class Letterbox:
    """How one source image sits inside the network input (scale, then centred padding)."""

    source_size: tuple[int, int]  # (H, W) of the source image
    network_size: tuple[int, int]  # (H, W) of the network input
    scale: float
    resized_size: tuple[int, int]  # (H, W) after scaling, before padding
    pad_top: int
    pad_left: int

    @classmethod
    def fit(cls, source_size: tuple[int, int], network_size: tuple[int, int]) -> Letterbox:
        """Largest aspect-preserving fit, sides truncated as the paper's code does (int(w * r));
        1280x720 into 384x640 gives 640x360 + 12 px top and bottom, 1366x768 gives 640x359 +
        12 px top and 13 px bottom. InputError when a side would shrink below MIN_RESIZED_SIDE.
        """
        height, width = source_size
        net_h, net_w = network_size
        scale = min(net_h / height, net_w / width)
        resized = (min(net_h, int(height * scale)), min(net_w, int(width * scale)))
        if min(resized) < MIN_RESIZED_SIDE:
            raise InputError(
                f"image {width}x{height} is too elongated for the {net_w}x{net_h} network input: "
                f"it would be {resized[1]}x{resized[0]} pixels (need at least "
                f"{MIN_RESIZED_SIDE} px a side); crop it to a less extreme aspect ratio"
            )
        return cls(
            source_size=(height, width),
            network_size=(net_h, net_w),
            scale=scale,
            resized_size=resized,
            pad_top=(net_h - resized[0]) // 2,
            pad_left=(net_w - resized[1]) // 2,
        )

    @property
    def content_slice(self) -> tuple[slice, slice]:
        """Rows and columns of the network input covered by the image (not padding)."""
        return (
            slice(self.pad_top, self.pad_top + self.resized_size[0]),
            slice(self.pad_left, self.pad_left + self.resized_size[1]),
        )

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Resize (INTER_AREA when shrinking) and pad with gray 114 to the network size."""
        interpolation = cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR
        resized = image
        if self.resized_size != self.source_size:
            resized = cv2.resize(
                image, (self.resized_size[1], self.resized_size[0]), interpolation=interpolation
            )
        bottom = self.network_size[0] - self.resized_size[0] - self.pad_top
        right = self.network_size[1] - self.resized_size[1] - self.pad_left
        if not (self.pad_top or bottom or self.pad_left or right):
            return resized
        return cv2.copyMakeBorder(
            resized,
            self.pad_top,
            bottom,
            self.pad_left,
            right,
            cv2.BORDER_CONSTANT,
            value=(PAD_VALUE, PAD_VALUE, PAD_VALUE),
        )

    def boxes_to_source(self, boxes: np.ndarray) -> np.ndarray:
        """Map (x1, y1, x2, y2) network-pixel boxes to source pixels, clipped to the image."""
        offset = np.array([self.pad_left, self.pad_top] * 2, dtype=np.float32)
        mapped = (boxes - offset) / np.float32(self.scale)
        height, width = self.source_size
        np.clip(mapped[:, 0::2], 0, width, out=mapped[:, 0::2])
        np.clip(mapped[:, 1::2], 0, height, out=mapped[:, 1::2])
        return mapped

    def boxes_to_network(self, boxes: np.ndarray) -> np.ndarray:
        """Map (x1, y1, x2, y2) source-pixel boxes into network pixels (for labels)."""
        offset = np.array([self.pad_left, self.pad_top] * 2, dtype=np.float32)
        return boxes * np.float32(self.scale) + offset

    def crop(self, network_map: np.ndarray) -> np.ndarray:
        """The part of a network-resolution map [..., H, W] that covers the image."""
        rows, cols = self.content_slice
        return network_map[..., rows, cols]

    def masks_to_network(self, masks: np.ndarray, labels: bool) -> np.ndarray:
        """Bool masks [C, h, w] at source size fitted into the network input like the image.

        labels=True applies the paper's rule for truth masks: the 0/255 label image is resized
        (INTER_AREA when shrinking) and any value > 0 is foreground, which widens thin lines;
        labels=False maps predicted masks back with nearest neighbours. Padding is background.
        """
        out = np.zeros((len(masks), *self.network_size), dtype=bool)
        rows, cols = self.content_slice
        size = (self.resized_size[1], self.resized_size[0])
        interpolation = cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR
        for channel, mask in enumerate(masks):
            if labels:
                label_image = mask.view(np.uint8) * np.uint8(255)
                resized = cv2.resize(label_image, size, interpolation=interpolation) > 0
            else:
                nearest = cv2.resize(mask.view(np.uint8), size, interpolation=cv2.INTER_NEAREST)
                resized = nearest.view(bool)
            out[channel, rows, cols] = resized
        return out

    def map_to_source(self, network_map: np.ndarray) -> np.ndarray:
        """Crop the padding off an HxW label map and resize it to the source (nearest)."""
        cropped = self.crop(network_map)
        height, width = self.source_size
        if cropped.shape[:2] == (height, width):
            return np.ascontiguousarray(cropped)
        return cv2.resize(cropped, (width, height), interpolation=cv2.INTER_NEAREST)
