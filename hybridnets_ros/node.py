"""ROS 2 node: camera images in; detections, masks, a ground grid, lane points, diagnostics out.

The subscription only stores the newest frame; a worker thread runs the Pipeline, so a slow
model never queues stale images (a frame replaced before it is processed counts as dropped).
All perception is in `hybridnets_core`; this module only moves data between it and ROS.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import cv2
import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from nav_msgs.msg import OccupancyGrid
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from hybridnets_core.errors import ConfigError, HybridNetsError, InputError
from hybridnets_core.ground import CachedProjector, CameraIntrinsics, GroundProjector
from hybridnets_core.pipeline import Pipeline
from hybridnets_core.results import PerceptionResult
from hybridnets_core.visualize import draw_overlay

from . import conversions, params
from .stats import FrameStats

NODE_NAME = "hybridnets_node"
WARN_EVERY_S = 5.0
RUNTIME_PIPELINE_SETTINGS = ("conf_threshold", "iou_threshold", "max_detections")


class HybridNetsNode(Node):
    """Runs hybridnets_core.Pipeline on the newest camera frame and publishes its results."""

    def __init__(self, **node_options: Any) -> None:
        super().__init__(NODE_NAME, **node_options)
        self.declare_parameters("", [(s.name, s.default, s.descriptor()) for s in params.SPECS])
        self.values: dict[str, Any] = {
            s.name: self.get_parameter(s.name).value for s in params.SPECS
        }
        reason = params.problem(self.values)
        if reason:
            raise ConfigError(f"invalid parameter: {reason}")
        self.pipeline = self._load_pipeline()
        self.class_names = params.class_names(self.values, self.pipeline.class_names)
        self.stats = FrameStats()
        self.debug_images = 0  # overlays rendered (only while ~/debug_image has subscribers)
        self._camera_info: CameraIntrinsics | None = None
        self._ground = CachedProjector()
        self._latest: tuple[Any, float] | None = None
        self._wake = threading.Condition()
        self._stopping = False
        self._last_start = 0.0
        self._make_publishers()
        self._make_subscriptions()
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.create_timer(1.0, self._publish_diagnostics)
        self._worker = threading.Thread(target=self._work, name="hybridnets_worker", daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"ready: {self.pipeline.backend_name} on {self.pipeline.device}, "
            f"input {self.pipeline.input_size[1]}x{self.pipeline.input_size[0]}, "
            f"listening on {self._image_topic} ({self.values['input_mode']})"
        )

    def _load_pipeline(self) -> Pipeline:
        """Build the Pipeline from weights/backend/device; HybridNetsError if impossible."""
        v = self.values
        return Pipeline.from_weights(
            v["weights"] or None,
            device=v["device"],
            half=v["half"],
            backend=v["backend"],
            conf_threshold=v["conf_threshold"],
            iou_threshold=v["iou_threshold"],
            max_detections=v["max_detections"],
            mask_resolution=v["mask_resolution"],
        )

    def _make_publishers(self) -> None:
        """Reliable outputs, so both reliable and best-effort subscribers match."""
        out = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        self._det_pub = self.create_publisher(Detection2DArray, "~/detections", out)
        self._drivable_pub = self.create_publisher(Image, "~/drivable_mask", out)
        self._lane_pub = self.create_publisher(Image, "~/lane_mask", out)
        self._grid_pub = self.create_publisher(OccupancyGrid, "~/grid", out)
        self._points_pub = self.create_publisher(PointCloud2, "~/lane_points", out)
        self._debug_pub = self.create_publisher(Image, "~/debug_image", out)
        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)

    def _make_subscriptions(self) -> None:
        """Image (raw or compressed) and camera_info with the configured input QoS."""
        reliability = {
            "best_effort": ReliabilityPolicy.BEST_EFFORT,
            "reliable": ReliabilityPolicy.RELIABLE,
        }[self.values["qos.reliability"]]
        qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=self.values["qos.depth"], reliability=reliability
        )
        compressed = self.values["input_mode"] == "compressed"
        msg_type = CompressedImage if compressed else Image
        self._image_topic = "image/compressed" if compressed else "image"
        self.create_subscription(msg_type, self._image_topic, self._on_image, qos)
        self.create_subscription(CameraInfo, "camera_info", self._on_camera_info, qos)

    # --- callbacks (executor thread) -------------------------------------------------------

    def _on_image(self, msg: Image | CompressedImage) -> None:
        """Keep only the newest frame; one that was still waiting counts as dropped."""
        self.stats.count("received")
        with self._wake:
            if self._latest is not None:
                self.stats.count("dropped")
            self._latest = (msg, time.perf_counter())
            self._wake.notify()

    def _on_camera_info(self, msg: CameraInfo) -> None:
        """Keep the latest valid intrinsics for the ground projection."""
        try:
            self._camera_info = conversions.camera_info_to_intrinsics(msg)
        except HybridNetsError as exc:
            self.get_logger().warning(
                f"ignoring camera_info: {exc}", throttle_duration_sec=WARN_EVERY_S
            )

    def _on_set_parameters(self, changes: list[Parameter]) -> SetParametersResult:
        """Accept a change only if the resulting parameter set is valid; apply it at once."""
        values = dict(self.values)
        values.update({p.name: p.value for p in changes if p.name in values})
        reason = params.problem(values)
        if reason:
            return SetParametersResult(successful=False, reason=reason)
        for name in RUNTIME_PIPELINE_SETTINGS:
            setattr(self.pipeline, name, values[name])
        self.values = values
        with self._wake:
            self._wake.notify()
        return SetParametersResult(successful=True)

    # --- worker thread ---------------------------------------------------------------------

    def _next_frame(self) -> tuple[Any, float] | None:
        """Block until a frame is due (respecting max_rate); None when stopping."""
        with self._wake:
            while not self._stopping:
                rate = self.values["max_rate"]
                wait = self._last_start + 1.0 / rate - time.perf_counter() if rate > 0 else 0.0
                if self._latest is not None and wait <= 0:
                    frame, self._latest = self._latest, None
                    self._last_start = time.perf_counter()
                    return frame
                self._wake.wait(timeout=wait if self._latest is not None else 0.5)
        return None

    def _work(self) -> None:
        """Worker loop: process frames until stopped; a failing frame is counted, not fatal."""
        while (frame := self._next_frame()) is not None:
            try:
                self._process(*frame)
            except InputError as exc:
                self.stats.count("rejected", f"bad input: {exc}")
                self.get_logger().warning(
                    f"skipping frame: {exc}", throttle_duration_sec=WARN_EVERY_S
                )
            except Exception as exc:  # one bad frame must not stop the node
                if not self.context.ok():
                    return  # shutting down (Ctrl-C) while a frame was in flight
                self.stats.count("failed", f"{type(exc).__name__}: {exc}")
                self.get_logger().error(
                    f"frame failed: {type(exc).__name__}: {exc}", throttle_duration_sec=WARN_EVERY_S
                )

    def _process(self, msg: Image | CompressedImage, received: float) -> None:
        """Decode, run the Pipeline, publish, and record the stage latencies of one frame."""
        start = time.perf_counter()
        if isinstance(msg, CompressedImage):
            image, color = conversions.compressed_to_array(msg), "bgr"
        else:
            image, color = conversions.image_to_array(msg)
        decoded = time.perf_counter()
        result = self.pipeline(image, color=color)
        inferred = time.perf_counter()
        self._publish(result, msg.header, image, color)
        done = time.perf_counter()
        self.stats.count("processed")
        self.stats.record(
            {
                "wait": (start - received) * 1000,
                "decode": (decoded - start) * 1000,
                **result.timings,
                "publish": (done - inferred) * 1000,
                "total": (done - received) * 1000,
            }
        )

    def _publish(
        self, result: PerceptionResult, header: Header, image: np.ndarray, color: str
    ) -> None:
        """Detections always; masks, ground outputs and overlay only for topics with subscribers."""
        result.class_names = [self.class_names[i] for i in result.class_ids]
        self._det_pub.publish(
            conversions.detections_to_msg(result.boxes, result.scores, result.class_names, header)
        )
        for mask, pub in ((result.drivable, self._drivable_pub), (result.lane, self._lane_pub)):
            if mask is not None and _subscribed(pub):
                pub.publish(conversions.mask_to_image(mask, header))
        self._publish_ground(result, header)
        if _subscribed(self._debug_pub):
            bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if color == "rgb" else image
            self._debug_pub.publish(
                conversions.array_to_image(draw_overlay(bgr, result), "bgr8", header)
            )
            self.debug_images += 1

    def _publish_ground(self, result: PerceptionResult, header: Header) -> None:
        """Grid and lane points in grid_frame, when wanted and intrinsics are known."""
        drivable, lane = result.drivable, result.lane
        want_grid = self.values["publish_grid"] and drivable is not None
        want_grid = want_grid and _subscribed(self._grid_pub)
        want_points = self.values["publish_lane_points"] and lane is not None
        want_points = want_points and _subscribed(self._points_pub)
        if not (want_grid or want_points):
            return
        mask_shape = (drivable if drivable is not None else lane).shape
        projector = self._ground_projector(result.image_size, mask_shape)
        if projector is None:
            return
        ground_header = Header(stamp=header.stamp, frame_id=self.values["grid_frame"])
        if want_grid:
            grid = projector.occupancy(drivable)
            self._grid_pub.publish(conversions.grid_to_msg(grid, projector.grid, ground_header))
        if want_points:
            points = projector.ground_points(lane)
            self._points_pub.publish(conversions.points_to_cloud(points, ground_header))

    def _ground_projector(
        self, image_size: tuple[int, int], mask_shape: tuple[int, int]
    ) -> GroundProjector | None:
        """The cached pixel-to-cell mapping, rebuilt only when the calibration changes."""
        height, width = image_size
        intrinsics = self._camera_info or params.parameter_intrinsics(self.values, width, height)
        if intrinsics is None:
            self.get_logger().warning(
                "no intrinsics (camera_info or camera.fx/fy parameters): grid and lane points off",
                throttle_duration_sec=WARN_EVERY_S * 6,
            )
            return None
        pose, spec = params.camera_pose(self.values), params.grid_spec(self.values)
        start = time.perf_counter()
        projector, rebuilt = self._ground.get(intrinsics, mask_shape, pose, spec)
        if rebuilt:
            self.get_logger().info(
                f"ground mapping built in {(time.perf_counter() - start) * 1000:.1f} ms: "
                f"{spec.width}x{spec.height} cells, {projector.visible_fraction:.0%} visible"
            )
        return projector

    @property
    def ground_builds(self) -> int:
        """Pixel-to-cell mappings computed so far (once per calibration)."""
        return self._ground.builds

    # --- diagnostics -----------------------------------------------------------------------

    def _publish_diagnostics(self) -> None:
        """One DiagnosticStatus with rates, counts, stage latencies and the last error."""
        totals, rates = self.stats.rates()
        status = DiagnosticStatus(
            name=f"{self.get_fully_qualified_name()}: perception",
            hardware_id=f"{self.pipeline.backend_name}:{self.pipeline.device}",
        )
        status.level, status.message = self._health(totals, rates)
        values = {
            "input_rate_hz": f"{rates['received']:.2f}",
            "processed_rate_hz": f"{rates['processed']:.2f}",
            **{f"frames_{name}": str(count) for name, count in totals.items()},
            "backend": self.pipeline.backend_name,
            "device": self.pipeline.device,
            "last_error": self.stats.last_error,
            "latency_window_s": f"{self.stats.window_s:g}",
        }
        for stage, (median, p95) in self.stats.latency_summary().items():
            values[f"latency_{stage}_median_ms"] = f"{median:.2f}"
            values[f"latency_{stage}_p95_ms"] = f"{p95:.2f}"
        status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diag_pub.publish(array)

    @staticmethod
    def _health(totals: dict[str, int], rates: dict[str, float]) -> tuple[bytes, str]:
        """Diagnostic level and summary for the last period."""
        if rates["failed"] > 0:
            return DiagnosticStatus.ERROR, "frames failed in the pipeline"
        if rates["rejected"] > 0:
            return DiagnosticStatus.WARN, "malformed frames skipped"
        if totals["received"] == 0:
            return DiagnosticStatus.WARN, "no image received yet"
        if rates["received"] == 0:
            return DiagnosticStatus.WARN, "no image in the last period"
        return DiagnosticStatus.OK, "ok"

    def stop(self) -> None:
        """Stop the worker thread (waits for the frame in progress)."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._worker.join(timeout=10.0)


def _subscribed(publisher: Any) -> bool:
    """Whether anyone listens, so unused outputs cost nothing."""
    return publisher.get_subscription_count() > 0


def main(args: list[str] | None = None) -> None:
    """Entry point `hybridnets_node`: exit 1 with one fatal line when the node cannot start."""
    rclpy.init(args=args)
    node = None
    try:
        node = HybridNetsNode()
        rclpy.spin(node)
    except (HybridNetsError, ParameterException) as exc:
        rclpy.logging.get_logger(NODE_NAME).fatal(f"cannot start: {exc}")
        sys.exit(1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.stop()
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()


if __name__ == "__main__":
    main()
