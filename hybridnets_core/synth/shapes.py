"""Building blocks for 3D objects: road-aligned boxes, their projected faces, and lamps."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .camera import Projector

BGR = tuple[int, int, int]


def shade(color: tuple[int, ...], factor: float) -> BGR:
    """Scale a BGR colour, saturating at white."""
    return tuple(int(min(255, c * factor)) for c in color)  # type: ignore[return-value]


def circle_polygon(u: float, v: float, radius: float, vertices: int = 16) -> np.ndarray:
    """A regular polygon approximating a disc in pixels."""
    angles = np.linspace(0.0, 2 * np.pi, vertices, endpoint=False)
    return np.stack([u + radius * np.cos(angles), v + radius * np.sin(angles)], axis=1)


@dataclass(frozen=True)
class Light:
    """A lamp in pixels, for night and dusk glows."""

    u: float
    v: float
    radius: float
    color: BGR


@dataclass
class Drawing:
    """One object as polygons: body parts form its silhouette, details are painted on top."""

    depth: float  # distance of the nearest face, for far-to-near drawing
    body: list[tuple[np.ndarray, BGR]] = field(default_factory=list)
    details: list[tuple[np.ndarray, BGR]] = field(default_factory=list)
    lights: list[Light] = field(default_factory=list)


@dataclass(frozen=True)
class Block:
    """A road-aligned box: lateral centre y, distances d0..d1, heights z0..z1.

    `taper` narrows the top by that fraction of the width (a car's cabin leans inwards).
    """

    y: float
    width: float
    d0: float
    d1: float
    z0: float
    z1: float
    taper: float = 0.0

    def _lateral(self, fx: np.ndarray, fz: np.ndarray) -> np.ndarray:
        """Lateral position of fraction fx across the width at height fraction fz."""
        return self.y + (fx - 0.5) * self.width * (1.0 - self.taper * fz)

    def _height(self, fz: np.ndarray) -> np.ndarray:
        """Height of fraction fz between z0 and z1."""
        return self.z0 + (self.z1 - self.z0) * fz

    def near_rect(self, fx0: float, fx1: float, fz0: float, fz1: float) -> tuple[np.ndarray, ...]:
        """Road-frame corners of a sub-rectangle of the near face, given as fractions."""
        fx, fz = np.array([fx0, fx1, fx1, fx0]), np.array([fz0, fz0, fz1, fz1])
        return self._lateral(fx, fz), np.full(4, self.d0), self._height(fz)

    def side_rect(
        self, side: int, fd0: float, fd1: float, fz0: float, fz1: float
    ) -> tuple[np.ndarray, ...]:
        """Road-frame corners of a sub-rectangle of the left (-1) or right (+1) side face."""
        ds = self.d0 + (self.d1 - self.d0) * np.array([fd0, fd1, fd1, fd0])
        fz = np.array([fz0, fz0, fz1, fz1])
        return self._lateral(np.full(4, 0.5 + 0.5 * side), fz), ds, self._height(fz)

    def visible_side(self, proj: Projector) -> int | None:
        """The side face (-1 left, +1 right) the camera sees, or None when straight ahead."""
        shift = proj.bend(0.5 * (self.d0 + self.d1))
        if self.y - self.width / 2 + shift > proj.lateral():
            return -1
        if self.y + self.width / 2 + shift < proj.lateral():
            return 1
        return None

    def add_faces(self, drawing: Drawing, proj: Projector, color: BGR) -> None:
        """Append the visible faces (side, top, near), shaded, to a drawing's silhouette."""
        side = self.visible_side(proj)
        if side is not None:
            drawing.body.append(
                (proj.polygon(*self.side_rect(side, 0, 1, 0, 1)), shade(color, 0.7))
            )
        if proj.cam_height > self.z1:
            ys = self._lateral(np.array([0.0, 1.0, 1.0, 0.0]), np.ones(4))
            ds = np.array([self.d0, self.d0, self.d1, self.d1])
            drawing.body.append((proj.polygon(ys, ds, self.z1), shade(color, 1.12)))
        drawing.body.append((proj.polygon(*self.near_rect(0, 1, 0, 1)), color))
