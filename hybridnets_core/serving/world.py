"""Outputs of the whole camera rig rather than of one camera: the objects fused across cameras
(`objects`, vision_msgs/Detection3DArray, one id per physical object) and the surround grid
(`grid`, nav_msgs/OccupancyGrid, each cell from the nearest camera that sees it).

Both are in the rig's grid_frame (the flat settings' one) at the batch's newest stamp. A camera
whose own grid_frame differs takes no part; a camera whose grid spec differs takes no part in
the surround grid. Fusion runs on every batch, as tracking does, whatever is subscribed.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..outputs import messages
from ..outputs.factory import MessageFactory
from ..outputs.settings import OutputSettings
from ..scene.fusion import CameraObservations, CrossCameraFusion, FusedObjects, FusionSettings
from ..scene.surround import SurroundGrid
from .session import SessionFrame

WORLD_OUTPUTS = {"objects": messages.DETECTIONS_3D, "grid": messages.OCCUPANCY_GRID}
Z_VARIANCE = 0.1**2  # m^2: objects stand on the flat ground, z = 0 of grid_frame


@dataclass(frozen=True)
class RigFrame:
    """One camera's frame of a batch, with the output settings it was built under."""

    camera: str
    frame: SessionFrame
    settings: OutputSettings


class WorldOutputs:
    """Fuses each batch of the rig's frames and builds the rig-level messages."""

    def __init__(
        self, factory: MessageFactory, class_names: Sequence[str], settings: FusionSettings
    ) -> None:
        self.factory = factory
        self.class_names = list(class_names)
        self.fusion = CrossCameraFusion(settings)
        self.surround = SurroundGrid()

    def update(
        self, frames: Sequence[RigFrame], rig: OutputSettings, wanted: Container[str]
    ) -> tuple[FusedObjects | None, dict[str, Any]]:
        """Fuse a batch (frames placed in `rig`'s grid_frame) and build the `wanted` rig
        outputs: the fused objects (None without any tracked, located camera) and messages by
        output name."""
        grid_frame = rig.ground.grid_frame
        same_frame = [f for f in frames if f.settings.ground.grid_frame == grid_frame]
        stamp = max(f.frame.stamp for f in frames)
        header = messages.header(self.factory, stamp, grid_frame)
        observations = [
            CameraObservations.of(f.camera, f.frame.scene.tracks, f.frame.scene.objects)
            for f in same_frame
            if f.frame.scene.tracks is not None and f.frame.scene.objects is not None
        ]
        fused = self._fuse(observations) if observations else None
        built: dict[str, Any] = {}
        if "objects" in wanted and fused is not None:
            built["objects"] = self._objects(fused, header)
        if "grid" in wanted:
            grid = self._grid(same_frame, rig, header)
            if grid is not None:
                built["grid"] = grid
        return fused, built

    def _fuse(self, observations: list[CameraObservations]) -> FusedObjects:
        try:
            return self.fusion.update(observations)
        except InputError:  # stamps went backwards (a bag replayed again): start afresh
            self.fusion.reset()
            return self.fusion.update(observations)

    def _objects(self, fused: FusedObjects, header: Any) -> Any:
        """Detection3DArray of the fused objects: box centred on each object's middle, along
        grid x (yaw 0), its position covariance; coasting objects included."""
        centres = np.column_stack([fused.position, fused.size[:, 2] / 2])
        covariances = [messages.pose_covariance(c[:2, :2], Z_VARIANCE) for c in fused.covariance]
        names = [self.class_names[int(i)] for i in fused.class_ids]
        return messages.detections_3d(
            self.factory,
            centres,
            np.zeros(len(fused)),
            fused.size,
            covariances,
            fused.scores,
            names,
            fused.ids,
            header,
        )

    def _grid(self, frames: Sequence[RigFrame], rig: OutputSettings, header: Any) -> Any | None:
        """The surround grid of the frames placed on the rig's grid spec, or None (none is)."""
        spec = rig.ground.grid
        views = [
            f.frame
            for f in frames
            if f.frame.occupancy is not None and f.frame.grid == spec
            and f.frame.ground_origin is not None
        ]  # fmt: skip
        if not views:
            return None
        merged = self.surround.merge(
            [v.occupancy for v in views], [v.ground_origin for v in views], spec
        )
        return messages.occupancy_grid(self.factory, merged, spec, header)
