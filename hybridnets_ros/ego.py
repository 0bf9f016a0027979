"""The vehicle's pose in odom at each image stamp: from TF (odom_frame <- grid_frame) when
tf2_ros is installed and has the transform, else from a nav_msgs/Odometry topic
(`ego.odometry_topic`), interpolated to the stamp by hybridnets_core.scene.ego_motion.
"""

from __future__ import annotations

from typing import Any

from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

from hybridnets_core.errors import HybridNetsError
from hybridnets_core.outputs.messages import stamp_ns
from hybridnets_core.scene.ego_motion import EgoPose, EgoSettings, EgoTwist, PoseHistory

from .tf import CameraPoseSource

WARN_EVERY_S = 30.0
TWIST_SPAN_NS = 100_000_000  # the vehicle's motion at a stamp: from its poses this far apart
# best effort matches reliable and best-effort odometry publishers alike
ODOMETRY_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=50, reliability=ReliabilityPolicy.BEST_EFFORT
)


def ego_pose_of(t: Any, q: Any) -> EgoPose:
    """The 2D pose of a translation (Point or Vector3) and rotation (Quaternion)."""
    return EgoPose.from_transform((t.x, t.y, t.z), (q.x, q.y, q.z, q.w))


class EgoPoseSource:
    """Gives grid_frame's pose in odom_frame at an image stamp, from TF (through the node's
    buffer) or the odometry history; subscribes to the odometry topic when one is set."""

    def __init__(self, node: Any, settings: EgoSettings, tf: CameraPoseSource) -> None:
        self.node = node
        self.odom_frame = settings.odom_frame
        self.tf = tf
        odometry = settings.odometry
        self.history = PoseHistory(round(odometry.odometry_tolerance * 1e9))
        self.subscription = None
        if odometry.odometry_topic:
            from nav_msgs.msg import Odometry

            self.subscription = node.create_subscription(
                Odometry, odometry.odometry_topic, self._on_odometry, ODOMETRY_QOS
            )

    def _on_odometry(self, msg: Any) -> None:
        """Keep the pose of an odometry message in odom_frame (one in another frame is
        ignored: the map would be placed in the wrong frame)."""
        if msg.header.frame_id and msg.header.frame_id != self.odom_frame:
            self.node.get_logger().warning(
                f"ignoring odometry in frame '{msg.header.frame_id}': odom_frame is "
                f"'{self.odom_frame}'",
                throttle_duration_sec=WARN_EVERY_S,
            )
            return
        try:
            pose = msg.pose.pose
            self.history.add(stamp_ns(msg.header), ego_pose_of(pose.position, pose.orientation))
        except HybridNetsError as exc:
            self.node.get_logger().warning(
                f"ignoring odometry: {exc}", throttle_duration_sec=WARN_EVERY_S
            )

    def pose_at(self, grid_frame: str, stamp: int) -> EgoPose | None:
        """grid_frame's pose in odom_frame at `stamp` (ns), or None when neither TF nor the
        odometry has one."""
        transform = self.tf.transform(self.odom_frame, grid_frame, stamp)
        if transform is not None:
            try:
                return ego_pose_of(transform.translation, transform.rotation)
            except HybridNetsError:
                pass  # an unusable transform: the odometry may still have the pose
        return self.history.at(stamp)

    def twist_at(self, grid_frame: str, stamp: int) -> EgoTwist | None:
        """The vehicle's motion at `stamp` (ns), from its poses TWIST_SPAN_NS before and at
        it; None when either is not known."""
        before = self.pose_at(grid_frame, stamp - TWIST_SPAN_NS)
        now = self.pose_at(grid_frame, stamp) if before is not None else None
        if now is None:
            return None
        return EgoTwist.between(before, now, TWIST_SPAN_NS / 1e9)
