"""Camera poses from TF (tf2_ros), when it is installed; otherwise the pose parameters apply.

The ROS side is these few lines; the geometry is `hybridnets_core.scene.ground.OpticalPose`, which
turns a transform of the camera's optical frame (REP 103/105) in grid_frame into the pose the
ground projection uses, and is tested on its own.
"""

from __future__ import annotations

from typing import Any

from hybridnets_core.errors import HybridNetsError
from hybridnets_core.scene.ground import OpticalPose

WARN_EVERY_S = 30.0


def pose_of_transform(transform: Any) -> OpticalPose:
    """The OpticalPose of a geometry_msgs/Transform (child = optical frame, parent = grid)."""
    t, q = transform.translation, transform.rotation
    return OpticalPose.from_transform((t.x, t.y, t.z), (q.x, q.y, q.z, q.w))


class CameraPoseSource:
    """Looks up each camera's optical frame in grid_frame at the image stamp.

    Without tf2_ros, or without the transform, `lookup` gives None and the node uses the
    camera.* pose parameters; tf2's buffer keeps static transforms, and the ground mapping is
    rebuilt only when the looked-up pose changes.
    """

    def __init__(self, node: Any) -> None:
        self.node = node
        self.frames: dict[str, str] = {}  # camera -> optical frame named by its camera_info
        try:
            import tf2_ros
        except ImportError:
            self.buffer = None
            node.get_logger().info(
                "tf2_ros not installed: camera poses from the camera.* parameters"
            )
            return
        self.errors = (tf2_ros.LookupException, tf2_ros.ConnectivityException,
                       tf2_ros.ExtrapolationException)  # fmt: skip
        self.buffer = tf2_ros.Buffer()
        self.listener = tf2_ros.TransformListener(self.buffer, node)

    def transform(self, parent: str, child: str, stamp_ns: int) -> Any | None:
        """The geometry_msgs/Transform of `child` in `parent` at `stamp_ns`, or None (no TF,
        no such transform at that time)."""
        if self.buffer is None:
            return None
        from rclpy.time import Time

        try:
            found = self.buffer.lookup_transform(parent, child, Time(nanoseconds=stamp_ns))
        except self.errors:
            return None
        return found.transform

    def remember_frame(self, camera: str, frame_id: str) -> None:
        """The optical frame a camera's camera_info names (its header.frame_id)."""
        if frame_id:
            self.frames[camera] = frame_id

    def lookup(self, camera: str, grid_frame: str, header: Any) -> OpticalPose | None:
        """The camera's pose at the image stamp, or None (no TF, no transform yet)."""
        frame = self.frames.get(camera) or header.frame_id
        if self.buffer is None or not frame:
            return None
        from rclpy.time import Time

        try:
            transform = self.buffer.lookup_transform(grid_frame, frame, Time.from_msg(header.stamp))
            return pose_of_transform(transform.transform)
        except (*self.errors, HybridNetsError) as exc:
            self.node.get_logger().warning(
                f"no usable transform {grid_frame} <- {frame} ({type(exc).__name__}: {exc}); "
                "using the camera.* pose parameters",
                throttle_duration_sec=WARN_EVERY_S,
            )
            return None
