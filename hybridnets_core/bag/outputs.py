"""The node's output topics for one frame, written to a bag instead of published.

Same topics (`<node>/detections`, `drivable_mask`, `lane_mask`, `grid`, `lane_points`), types,
headers and ground projection as `hybridnets_ros.node`, so both can be compared in RViz or
Foxglove; each message is logged at the input image's log time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..ground import CachedProjector, CameraIntrinsics, CameraPose, GridSpec
from ..results import PerceptionResult
from . import messages
from .writer import BagWriter

NODE_NAME = "/hybridnets_node"


@dataclass(frozen=True)
class GroundSettings:
    """Vehicle frame, camera pose and grid extent: the node's grid_frame, camera.*, grid.*."""

    frame: str = "base_link"
    pose: CameraPose = field(default_factory=CameraPose)
    grid: GridSpec = field(default_factory=GridSpec)


class OutputTopics:
    """Writes one frame's results as the node's messages; counts messages per topic."""

    def __init__(self, bag: BagWriter, ground: GroundSettings, node: str = NODE_NAME) -> None:
        self.bag = bag
        self.node = node.rstrip("/")
        self.ground = ground
        self.projectors = CachedProjector()
        self.counts: dict[str, int] = {}

    def _write(self, name: str, msgtype: str, log_ns: int, message: Any) -> None:
        topic = f"{self.node}/{name}"
        self.bag.write(topic, msgtype, log_ns, message)
        self.counts[topic] = self.counts.get(topic, 0) + 1

    def write(
        self,
        result: PerceptionResult,
        header: Any,
        log_ns: int,
        intrinsics: CameraIntrinsics | None,
    ) -> None:
        """Detections and masks always; grid and lane points when intrinsics are known."""
        detections = messages.detections_msg(
            result.boxes, result.scores, result.class_names, header
        )
        self._write("detections", messages.DETECTIONS, log_ns, detections)
        for name, mask in (("drivable_mask", result.drivable), ("lane_mask", result.lane)):
            if mask is not None:
                self._write(name, messages.IMAGE, log_ns, messages.mask_msg(mask, header))
        reference = result.drivable if result.drivable is not None else result.lane
        if intrinsics is None or reference is None:
            return
        projector, _ = self.projectors.get(
            intrinsics, reference.shape, self.ground.pose, self.ground.grid
        )
        ground_header = messages.with_frame(header, self.ground.frame)
        if result.drivable is not None:
            grid = messages.grid_msg(
                projector.occupancy(result.drivable), projector.grid, ground_header
            )
            self._write("grid", messages.OCCUPANCY_GRID, log_ns, grid)
        if result.lane is not None:
            cloud = messages.cloud_msg(projector.ground_points(result.lane), ground_header)
            self._write("lane_points", messages.POINT_CLOUD, log_ns, cloud)
