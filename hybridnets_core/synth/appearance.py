"""Photometric look: sky, ground texture, cast shadows, day/dusk/night tone, lamps, noise, blur."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .camera import Projector
from .raster import fill
from .shapes import BGR, Light

MODES = ("day", "dusk", "night")
MODE_P = (0.6, 0.15, 0.25)
NOISE_PAD = 256  # random crop margin of the cached noise fields
NOISE_STD = 32.0  # standard deviation of the cached noise fields, in grey levels
LOWRES = 4  # shading maps are computed at 1/LOWRES of the image size
CONE_UNIT = 64  # headlight gain map value meaning "x1"
GLOW_SCALE = 1.8  # glow radius relative to the lamp radius
# Sky gradients (top, bottom) per mode.
SKIES = {
    "day": (((200, 150, 95), (235, 215, 190)), ((205, 200, 195), (230, 228, 225))),
    "dusk": (((120, 80, 70), (110, 170, 235)), ((105, 90, 110), (150, 175, 215))),
    "night": (((22, 14, 10), (50, 40, 35)), ((30, 24, 22), (60, 55, 60))),
}


@dataclass(frozen=True)
class Shadow:
    """An elliptic cast shadow (tree, building) on the ground, in the road frame."""

    lateral_m: float
    distance_m: float
    radius_lateral_m: float
    radius_distance_m: float


@dataclass(frozen=True)
class Cloud:
    """A soft elliptic cloud; position and radii are fractions of the image width and height."""

    u: float
    v: float
    radius_u: float
    radius_v: float
    opacity: float


@dataclass(frozen=True)
class LightingParams:
    """Time of day and camera imperfections."""

    mode: str  # one of MODES
    sky_top_bgr: BGR
    sky_bottom_bgr: BGR
    clouds: tuple[Cloud, ...]
    gain_bgr: tuple[float, float, float]  # per-channel exposure applied after gamma
    gamma: float
    shadows: tuple[Shadow, ...]
    shadow_strength: float  # 0 = no cast shadows, 1 = black
    lights_on: bool  # vehicle and street lamps glow
    grain: float  # ground texture amplitude, grey levels
    noise_sigma: float  # sensor noise, grey levels
    blur_sigma: float  # optical blur in pixels at 1280 px width


def sample_lighting(rng: np.random.Generator) -> LightingParams:
    """Random time of day with matching exposure, shadows and lamps."""
    mode = str(rng.choice(MODES, p=MODE_P))
    skies = SKIES[mode]
    top, bottom = skies[int(rng.integers(len(skies)))]
    if mode == "day":
        gain = rng.uniform(0.85, 1.15) * np.ones(3) + rng.normal(0, 0.03, 3)
        gamma, strength = rng.uniform(0.85, 1.15), rng.uniform(0.15, 0.45)
    elif mode == "dusk":
        gain = rng.uniform(0.5, 0.75) * np.array([0.85, 0.95, 1.1])
        gamma, strength = rng.uniform(1.0, 1.3), rng.uniform(0.0, 0.2)
    else:
        gain = rng.uniform(0.28, 0.45) * np.array([1.05, 1.0, 0.95])
        gamma, strength = rng.uniform(1.2, 1.6), 0.0
    shadows = tuple(
        Shadow(
            lateral_m=float(rng.uniform(-14.0, 14.0)),
            distance_m=float(rng.uniform(4.0, 80.0)),
            radius_lateral_m=float(rng.uniform(1.5, 6.0)),
            radius_distance_m=float(rng.uniform(1.0, 8.0)),
        )
        for _ in range(int(rng.integers(0, 8)) if strength > 0 else 0)
    )
    clouds = tuple(
        Cloud(
            u=float(rng.uniform(0.0, 1.0)),
            v=float(rng.uniform(0.0, 0.35)),
            radius_u=float(rng.uniform(0.04, 0.2)),
            radius_v=float(rng.uniform(0.015, 0.06)),
            opacity=float(rng.uniform(0.3, 0.85)),
        )
        for _ in range(int(rng.integers(0, 9)) if mode != "night" else 0)
    )
    return LightingParams(
        mode=mode,
        sky_top_bgr=top,
        sky_bottom_bgr=bottom,
        clouds=clouds,
        gain_bgr=tuple(float(g) for g in gain),
        gamma=float(gamma),
        shadows=shadows,
        shadow_strength=float(strength),
        lights_on=mode == "night" or (mode == "dusk" and rng.random() < 0.7),
        grain=float(rng.uniform(3.0, 9.0)),
        noise_sigma=float(rng.uniform(1.0, 4.0) * (2.0 if mode == "night" else 1.0)),
        blur_sigma=float(rng.uniform(0.0, 1.3)),
    )


def paint_sky(img: np.ndarray, horizon_row: int, lighting: LightingParams) -> None:
    """Vertical sky gradient above the horizon, with soft clouds."""
    if horizon_row <= 0:
        return
    t = np.linspace(0.0, 1.0, horizon_row)[:, None]
    top, bottom = np.array(lighting.sky_top_bgr, float), np.array(lighting.sky_bottom_bgr, float)
    sky = img[:horizon_row]
    sky[:] = (top + t * (bottom - top)).astype(np.uint8)[:, None, :]
    if not lighting.clouds:
        return
    height, width = img.shape[:2]
    small = _lowres_map((width, height), 0)
    scale = np.array([small.shape[1], small.shape[0]], float)
    for cloud in lighting.clouds:
        centre = np.array([cloud.u, cloud.v]) * scale
        radii = np.array([cloud.radius_u, cloud.radius_v]) * scale
        angles = np.linspace(0.0, 2 * np.pi, 24, endpoint=False)
        poly = centre + radii * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        fill(small, [poly], int(255 * cloud.opacity), antialias=False)
    alpha = _upscale(small, (width, height), 3.0)[:horizon_row]
    whiten = cv2.multiply(cv2.subtract(np.full_like(sky, 245), sky), alpha, scale=1 / 255)
    cv2.add(sky, whiten, dst=sky)


@lru_cache(maxsize=4)
def _noise_field(side: int, channels: int) -> np.ndarray:
    """A fixed Gaussian noise image (mean 128) of side+NOISE_PAD pixels, cropped at random offsets.

    Drawing fresh noise for every frame costs more than the rest of the render; random crops of
    one fixed field are as good for training data and stay deterministic.
    """
    shape = (side + NOISE_PAD, side + NOISE_PAD, channels)
    field = np.random.default_rng(20220317).normal(128.0, NOISE_STD, shape)
    return np.clip(field, 0, 255).astype(np.uint8)


def _add_noise(img: np.ndarray, rng: np.random.Generator, sigma: float, channels: int) -> None:
    """Add zero-mean noise of standard deviation `sigma` in place (channels 1 = luminance)."""
    height, width = img.shape[:2]
    field = _noise_field(max(height, width), channels)
    dy, dx = rng.integers(0, NOISE_PAD, 2)
    crop = field[dy : dy + height, dx : dx + width]
    if channels == 1:
        crop = cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR)
    alpha = sigma / NOISE_STD
    cv2.addWeighted(img, 1.0, crop, alpha, -128.0 * alpha, dst=img)


def add_ground_texture(img: np.ndarray, seed: int, row: int, amplitude: float) -> None:
    """Blotchy wear and fine grain, fixed by `seed`, on everything below image row `row`."""
    ground = img[row:]
    height, width = ground.shape[:2]
    if height == 0:
        return
    rng = np.random.default_rng(seed)
    blotches = rng.normal(128.0, 40.0, (6, 12)).clip(0, 255).astype(np.uint8)
    blotches = cv2.resize(blotches, (width, height), interpolation=cv2.INTER_CUBIC)
    alpha = amplitude / 40.0
    blotches = cv2.cvtColor(blotches, cv2.COLOR_GRAY2BGR)
    cv2.addWeighted(ground, 1.0, blotches, alpha, -128 * alpha, dst=ground)
    _add_noise(ground, rng, amplitude, channels=1)


def _lowres_map(size: tuple[int, int], value: int) -> np.ndarray:
    """A blank single-channel shading map at reduced resolution."""
    width, height = size
    return np.full((max(1, height // LOWRES), max(1, width // LOWRES)), value, np.uint8)


def _upscale(small: np.ndarray, size: tuple[int, int], sigma: float) -> np.ndarray:
    """Soften a low-resolution map and bring it to full size as a 3-channel image."""
    small = cv2.GaussianBlur(small, (0, 0), sigma)
    return cv2.cvtColor(cv2.resize(small, size, interpolation=cv2.INTER_LINEAR), cv2.COLOR_GRAY2BGR)


def cast_shadows(img: np.ndarray, proj: Projector, lighting: LightingParams) -> None:
    """Darken soft-edged patches of ground where trees and buildings block the sun."""
    if not lighting.shadows:
        return
    size = (proj.width, proj.height)
    small = _lowres_map(size, 255)
    angles = np.linspace(0.0, 2 * np.pi, 20, endpoint=False)
    polys = []
    for s in lighting.shadows:
        d = np.maximum(s.distance_m + s.radius_distance_m * np.sin(angles), 1.0)
        y = s.lateral_m + s.radius_lateral_m * np.cos(angles)
        polys.append(proj.polygon(y, d) / LOWRES)
    fill(small, polys, int(255 * (1.0 - lighting.shadow_strength)), antialias=False)
    cv2.multiply(img, _upscale(small, size, 1.5), dst=img, scale=1 / 255)


def apply_tone(img: np.ndarray, lighting: LightingParams) -> None:
    """Exposure and gamma for the time of day, as a per-channel lookup table."""
    x = np.arange(256) / 255.0
    table = np.stack([255.0 * x**lighting.gamma * g for g in lighting.gain_bgr], axis=1)
    cv2.LUT(img, np.clip(table, 0, 255).astype(np.uint8).reshape(256, 1, 3), dst=img)


def headlight_cone(img: np.ndarray, proj: Projector) -> None:
    """Brighten the road ahead of the ego car as its headlights would."""
    size = (proj.width, proj.height)
    small = _lowres_map(size, CONE_UNIT)
    height, width = small.shape
    centre = (width / 2, height * 1.05)
    axes = (width * 0.45, (height - proj.horizon / LOWRES) * 0.75)
    for scale, gain in ((1.0, 1.8), (0.6, 2.8)):
        poly = np.array(
            cv2.ellipse2Poly(
                (int(centre[0]), int(centre[1])),
                (int(axes[0] * scale), int(axes[1] * scale)),
                0, 180, 360, 10,
            )
        )  # fmt: skip
        fill(small, [poly], int(CONE_UNIT * gain), antialias=False)
    cv2.multiply(img, _upscale(small, size, 4.0), dst=img, scale=1 / CONE_UNIT)


def draw_glows(img: np.ndarray, lights: list[Light]) -> None:
    """Bright lamp cores plus blurred halos added on top of the exposed image."""
    if not lights:
        return
    height, width = img.shape[:2]
    small = np.zeros((max(1, height // LOWRES), max(1, width // LOWRES), 3), np.uint8)
    for light in lights:
        radius = max(light.radius * GLOW_SCALE / LOWRES, 1.0)
        centre = (int(light.u / LOWRES), int(light.v / LOWRES))
        cv2.circle(small, centre, int(np.ceil(radius)), tuple(c * 0.45 for c in light.color), -1)
    halo = cv2.resize(cv2.GaussianBlur(small, (0, 0), 2.0), (width, height))
    cv2.add(img, halo, dst=img)
    for light in lights:
        core = (int(light.u), int(light.v))
        color = tuple(min(255, c + 90) for c in light.color)
        cv2.circle(img, core, max(1, int(light.radius * 0.6)), color, -1, cv2.LINE_AA)


def finish(img: np.ndarray, rng: np.random.Generator, lighting: LightingParams) -> None:
    """Camera imperfections: optical blur then sensor noise."""
    sigma = lighting.blur_sigma * img.shape[1] / 1280
    if sigma > 0.3:
        cv2.GaussianBlur(img, (0, 0), sigma, dst=img)
    _add_noise(img, rng, lighting.noise_sigma, channels=3)
