"""The one transform between camera images and the network input, and back.

`ImageTransform` owns the network input size, the letterbox rule and the normalisation. It
fits each source image (`fit` gives a `Letterbox`, which maps boxes and masks both ways) and
builds the normalised batch; training, BatchNorm calibration and INT8 calibration use the
same normalisation, so every path feeds the network exactly what inference feeds it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..model.config import ModelConfig, check_input_size
from .letterbox import Letterbox

COLOR_ORDERS = ("bgr", "rgb")
MIN_IMAGE_SIDE = 2


def validate_image(image: object) -> np.ndarray:
    """Return the image if it is a usable HxWx3 uint8 array, else raise a one-line InputError."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InputError(
            f"image dtype is {image.dtype}, expected uint8 (0-255); convert with "
            "np.clip(img, 0, 255).astype(np.uint8)"
        )
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(
            f"image shape is {image.shape}, expected HxWx3 colour; convert grayscale or "
            "4-channel images with cv2.cvtColor first"
        )
    if min(image.shape[:2]) < MIN_IMAGE_SIDE:
        raise InputError(
            f"image is {image.shape[1]}x{image.shape[0]} pixels; need at least "
            f"{MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE}"
        )
    return image


@dataclass(frozen=True)
class ImageTransform:
    """Letterbox to `network_size` (H, W), RGB, then (pixel / 255 - mean) / std per channel."""

    network_size: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @classmethod
    def for_config(
        cls, config: ModelConfig, input_size: tuple[int, int] | None = None
    ) -> ImageTransform:
        """The transform of a network at `input_size` (default: the config's)."""
        size = tuple(input_size or config.input_size)
        check_input_size(size, config.max_stride)
        return cls((int(size[0]), int(size[1])), tuple(config.mean), tuple(config.std))

    @property
    def scale_shift(self) -> tuple[np.ndarray, np.ndarray]:
        """float32 (scale, shift) per RGB channel: normalised = pixel * scale - shift."""
        std = np.asarray(self.std, np.float32) * 255.0
        return 1.0 / std, np.asarray(self.mean, np.float32) * 255.0 / std

    def fit(self, source_size: tuple[int, int]) -> Letterbox:
        """How a source image of (H, W) sits in the network input."""
        return Letterbox.fit(source_size, self.network_size)

    def letterboxed(
        self, image: np.ndarray, letterbox: Letterbox | None = None
    ) -> tuple[np.ndarray, Letterbox]:
        """The uint8 image fitted and padded to the network size (colour order unchanged);
        `letterbox` is its fit when the caller has it already."""
        validate_image(image)
        if letterbox is None:
            letterbox = self.fit(image.shape[:2])
        elif (letterbox.source_size, letterbox.network_size) != (
            image.shape[:2],
            self.network_size,
        ):
            raise InputError(
                f"letterbox for {letterbox.source_size} -> {letterbox.network_size} given for a "
                f"{image.shape[:2]} image and a {self.network_size} network: fit it anew"
            )
        return letterbox.apply(image), letterbox

    def batch(
        self,
        images: Sequence[np.ndarray],
        color: str | Sequence[str],
        letterboxes: Sequence[Letterbox] | None = None,
    ) -> tuple[np.ndarray, list[Letterbox]]:
        """float32 RGB NCHW network input of uint8 HxWx3 images, and each one's letterbox;
        `color` is the colour order of all images, or one per image (cameras may differ);
        `letterboxes`, each image's fit when the caller has made them already."""
        scale, shift = self.scale_shift
        batch = np.empty((len(images), 3, *self.network_size), dtype=np.float32)
        used = []
        for index, (rgb, letterbox) in enumerate(self._rgb_frames(images, color, letterboxes)):
            batch[index] = (rgb.astype(np.float32) * scale - shift).transpose(2, 0, 1)
            used.append(letterbox)
        return batch, used

    def uint8_batch(
        self,
        images: Sequence[np.ndarray],
        color: str | Sequence[str],
        letterboxes: Sequence[Letterbox] | None = None,
    ) -> tuple[np.ndarray, list[Letterbox]]:
        """The letterboxed frames as uint8 RGB NHWC, not normalised (a `--uint8-input` export
        normalises inside its graph), and each one's letterbox; arguments as `batch`'s."""
        batch = np.empty((len(images), *self.network_size, 3), dtype=np.uint8)
        used = []
        for index, (rgb, letterbox) in enumerate(self._rgb_frames(images, color, letterboxes)):
            batch[index] = rgb
            used.append(letterbox)
        return batch, used

    def _rgb_frames(
        self,
        images: Sequence[np.ndarray],
        color: str | Sequence[str],
        letterboxes: Sequence[Letterbox] | None,
    ) -> Iterator[tuple[np.ndarray, Letterbox]]:
        """Each image letterboxed, as an RGB view, with its letterbox (checked arguments)."""
        colors = [color] * len(images) if isinstance(color, str) else list(color)
        if len(colors) != len(images) or any(c not in COLOR_ORDERS for c in colors):
            raise InputError(f"color must be 'bgr' or 'rgb' (one, or one per image), got {color!r}")
        fits = list(letterboxes) if letterboxes is not None else [None] * len(images)
        if len(fits) != len(images):
            raise InputError(f"{len(fits)} letterboxes given for {len(images)} images")
        for image, order, fit in zip(images, colors, fits):
            padded, letterbox = self.letterboxed(image, fit)
            yield (padded[..., ::-1] if order == "bgr" else padded), letterbox
