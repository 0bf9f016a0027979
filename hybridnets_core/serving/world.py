"""Outputs of the whole camera rig rather than of one camera: the objects fused across cameras
(`objects`, vision_msgs/Detection3DArray, one id per physical object; `tracked_objects`, ours,
with velocity, lane index and in-path; `lead_vehicle`), and the surround grid (`grid`,
nav_msgs/OccupancyGrid, each cell from the nearest camera that sees it).

All are in the rig's grid_frame (the flat settings' one) at the batch's newest stamp. A camera
whose own grid_frame differs takes no part; a camera whose grid spec differs takes no part in
the surround grid. Lane index, in-path and the lead vehicle read the lanes of the first camera
that has an ego lane this batch (the corridor without one). Fusion runs on every batch, as
tracking does, whatever is subscribed.
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
from ..scene.ego_motion import EgoTwist
from ..scene.fusion import CameraObservations, CrossCameraFusion, FusedObjects, FusionSettings
from ..scene.lanes import LaneEstimate
from ..scene.lead import PathAssessment, find_lead
from ..scene.path import in_path, lane_indices
from ..scene.surround import SurroundGrid
from ..scene.track_shapes import existence_confidence
from .session import SessionFrame

WORLD_OUTPUTS = {
    "objects": messages.DETECTIONS_3D,
    "grid": messages.OCCUPANCY_GRID,
    "tracked_objects": messages.TRACKED_OBJECTS,
    "lead_vehicle": messages.LEAD_VEHICLE,
}
PLANNER_OUTPUTS = ("tracked_objects", "lead_vehicle")  # need the lanes and the path
Z_VARIANCE = 0.1**2  # m^2: objects stand on the flat ground, z = 0 of grid_frame


@dataclass(frozen=True)
class RigFrame:
    """One camera's frame of a batch (`camera`: its name in the rig, `frame_id`: its image's
    frame), with the output settings it was built under."""

    camera: str
    frame_id: str
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
        self,
        frames: Sequence[RigFrame],
        rig: OutputSettings,
        wanted: Container[str],
        ego: EgoTwist | None = None,
    ) -> tuple[FusedObjects | None, dict[str, Any]]:
        """Fuse a batch (frames placed in `rig`'s grid_frame) and build the `wanted` rig
        outputs: the fused objects (None without any tracked, located camera) and messages by
        output name. `ego`: the vehicle's motion at the batch's stamp (tracked objects'
        velocities over the ground; relative to the vehicle without it)."""
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
        if fused is not None and any(name in wanted for name in PLANNER_OUTPUTS):
            lanes = next((f.frame.lanes for f in same_frame if _has_ego_lane(f.frame.lanes)), None)
            path = self._assess(fused, lanes, rig)
            if "tracked_objects" in wanted:
                frame_ids = {f.camera: f.frame_id for f in frames}
                built["tracked_objects"] = self._tracked(fused, path, frame_ids, ego, header)
            if "lead_vehicle" in wanted:
                built["lead_vehicle"] = messages.lead_vehicle(self.factory, path.lead, header)
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

    def _assess(
        self, fused: FusedObjects, lanes: LaneEstimate | None, rig: OutputSettings
    ) -> PathAssessment:
        """Lane index and in-path of each fused object (at its centre, across its width) and
        the lead: the nearest in-path vehicle ahead, its range to its rear end."""
        names = np.asarray(self.class_names, dtype=object)[fused.class_ids]
        lane = lane_indices(fused.position, lanes, rig.path)
        inside = in_path(fused.position, fused.size[:, 1], lanes, rig.path)
        vehicle = np.isin(names, list(rig.lead.vehicle_classes))
        rear = fused.position - np.column_stack([fused.size[:, 0] / 2, np.zeros(len(fused))])
        lead = find_lead(rear, fused.velocity, inside & vehicle, fused.ids, rig.lead)
        return PathAssessment(list(fused.ids), lane, inside, lead)

    def _tracked(
        self,
        fused: FusedObjects,
        path: PathAssessment,
        frame_ids: dict[str, str],
        ego: EgoTwist | None,
        header: Any,
    ) -> Any:
        """TrackedObjectArray of the fused objects: centres, the fusion filter's covariances,
        velocities over the ground where `ego` is known, the frames of the cameras that saw
        each this batch."""
        velocity = (
            fused.velocity if ego is None else ego.over_ground(fused.position, fused.velocity)
        )
        max_age = self.fusion.settings.max_age_s
        return messages.tracked_objects(
            self.factory,
            fused.ids,
            [self.class_names[int(i)] for i in fused.class_ids],
            fused.scores,
            fused.position,
            [messages.pose_covariance(c[:2, :2], Z_VARIANCE) for c in fused.covariance],
            velocity,
            [messages.twist_covariance(c[2:, 2:]) for c in fused.covariance],
            fused.size,
            path.lane_index,
            path.in_path,
            existence_confidence(fused.scores, fused.time_since_update_s, max(max_age, 1e-9)),
            [sorted({frame_ids[camera] for camera in seen}) for seen in fused.cameras],
            ego is None,
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


def _has_ego_lane(lanes: LaneEstimate | None) -> bool:
    return lanes is not None and lanes.ego.left is not None and lanes.ego.right is not None
