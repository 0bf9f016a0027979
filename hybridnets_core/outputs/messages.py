"""Message builders written once for every transport, and readers for both.

Builders take numpy data and a `MessageFactory`; readers take any object with the ROS field
names (rclpy messages or rosbags dataclasses). Every field of a message is set, so the bytes
a node publishes equal the bytes a bag writer records for the same data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..decoding.boxes import box_geometry, geometry_to_boxes
from ..scene.camera import CameraIntrinsics, CameraModel
from ..scene.free_space import Scan
from ..scene.ground import GridSpec
from ..scene.lead import LeadVehicle
from ..scene.local_map import LocalMap, MapWindow
from .codec import RAW_ENCODINGS, mask_to_mono8
from .factory import MessageFactory

NS_PER_S = 1_000_000_000
TIME = "builtin_interfaces/msg/Time"
HEADER = "std_msgs/msg/Header"
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
POINT_CLOUD = "sensor_msgs/msg/PointCloud2"
OCCUPANCY_GRID = "nav_msgs/msg/OccupancyGrid"
LASER_SCAN = "sensor_msgs/msg/LaserScan"
DETECTIONS = "vision_msgs/msg/Detection2DArray"
POINT_FIELDS_XYZ = (("x", 0), ("y", 4), ("z", 8))  # float32 fields of lane point clouds
POINT_STEP = 12
FLOAT32_DATATYPE = 7  # sensor_msgs/PointField.FLOAT32


def stamp_ns(header: Any) -> int:
    """A header's stamp in integer nanoseconds."""
    return int(header.stamp.sec) * NS_PER_S + int(header.stamp.nanosec)


def header_of(msg: Any) -> Any:
    """A message's header; a MarkerArray's is its first marker's (ours always has one)."""
    return msg.markers[0].header if hasattr(msg, "markers") else msg.header


def header(factory: MessageFactory, stamp: int, frame_id: str) -> Any:
    """std_msgs/Header for a time in nanoseconds."""
    sec, nanosec = divmod(int(stamp), NS_PER_S)
    return factory.new(HEADER, stamp=factory.new(TIME, sec=sec, nanosec=nanosec), frame_id=frame_id)


def image(factory: MessageFactory, pixels: np.ndarray, encoding: str, hdr: Any) -> Any:
    """sensor_msgs/Image of a uint8 HxW (mono8) or HxWxC array."""
    channels = RAW_ENCODINGS[encoding][0]
    height, width = pixels.shape[:2]
    return factory.new(
        IMAGE,
        header=hdr,
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=width * channels,
        data=factory.uint8_array(np.ascontiguousarray(pixels, np.uint8)),
    )


def mask_image(factory: MessageFactory, mask: np.ndarray, hdr: Any) -> Any:
    """mono8 Image of a boolean mask: 255 foreground, 0 background."""
    return image(factory, mask_to_mono8(mask), "mono8", hdr)


def compressed_image(factory: MessageFactory, data: bytes, fmt: str, hdr: Any) -> Any:
    """sensor_msgs/CompressedImage of encoded bytes (fmt 'jpeg' or 'png')."""
    return factory.new(
        COMPRESSED_IMAGE,
        header=hdr,
        format=fmt,
        data=factory.uint8_array(np.frombuffer(data, np.uint8)),
    )


def camera_info(factory: MessageFactory, camera: CameraIntrinsics, hdr: Any) -> Any:
    """sensor_msgs/CameraInfo of an undistorted pinhole camera."""
    k = [camera.fx, 0, camera.cx, 0, camera.fy, camera.cy, 0, 0, 1]
    p = [camera.fx, 0, camera.cx, 0, 0, camera.fy, camera.cy, 0, 0, 0, 1, 0]
    return calibrated_camera_info(
        factory, hdr, camera.width, camera.height, "plumb_bob", np.zeros(5), k, np.eye(3), p
    )


def calibrated_camera_info(
    factory: MessageFactory,
    hdr: Any,
    width: int,
    height: int,
    distortion_model: str,
    d: Sequence[float] | np.ndarray,
    k: Sequence[float] | np.ndarray,
    r: Sequence[float] | np.ndarray,
    p: Sequence[float] | np.ndarray,
) -> Any:
    """sensor_msgs/CameraInfo of a calibration: K, R (3x3) and P (3x4) in row-major order."""
    roi = factory.new(
        "sensor_msgs/msg/RegionOfInterest", x_offset=0, y_offset=0, height=0, width=0,
        do_rectify=False,
    )  # fmt: skip
    return factory.new(
        CAMERA_INFO,
        header=hdr,
        height=int(height),
        width=int(width),
        distortion_model=distortion_model,
        d=factory.float64_array(np.asarray(d, np.float64).reshape(-1)),
        k=factory.float64_array(np.asarray(k, np.float64).reshape(-1)),
        r=factory.float64_array(np.asarray(r, np.float64).reshape(-1)),
        p=factory.float64_array(np.asarray(p, np.float64).reshape(-1)),
        binning_x=0,
        binning_y=0,
        roi=roi,
    )


def pose(factory: MessageFactory, x: float = 0.0, y: float = 0.0, z: float = 0.0) -> Any:
    """geometry_msgs/Pose at (x, y, z) with identity orientation."""
    return factory.new(
        "geometry_msgs/msg/Pose",
        position=factory.new("geometry_msgs/msg/Point", x=float(x), y=float(y), z=float(z)),
        orientation=factory.new("geometry_msgs/msg/Quaternion", x=0.0, y=0.0, z=0.0, w=1.0),
    )


def hypothesis(
    factory: MessageFactory, class_name: str, score: float, at: Any, covariance: np.ndarray
) -> Any:
    """vision_msgs/ObjectHypothesisWithPose: a class name with its score and a pose."""
    return factory.new(
        "vision_msgs/msg/ObjectHypothesisWithPose",
        hypothesis=factory.new(
            "vision_msgs/msg/ObjectHypothesis", class_id=class_name, score=float(score)
        ),
        pose=factory.new(
            "geometry_msgs/msg/PoseWithCovariance",
            pose=at,
            covariance=factory.float64_array(covariance),
        ),
    )


def detections_2d(
    factory: MessageFactory,
    boxes: np.ndarray,
    scores: np.ndarray,
    class_names: Sequence[str],
    ids: Sequence[str],
    hdr: Any,
) -> Any:
    """Detection2DArray: box centre/size in source pixels, class name as class_id."""
    detections = []
    for (cx, cy, sx, sy), score, name, ident in zip(
        box_geometry(np.asarray(boxes, np.float64).reshape(-1, 4)),
        scores,
        class_names,
        ids,
        strict=True,
    ):
        guess = hypothesis(factory, name, score, pose(factory), np.zeros(36))
        centre = factory.new(
            "vision_msgs/msg/Pose2D",
            position=factory.new("vision_msgs/msg/Point2D", x=float(cx), y=float(cy)),
            theta=0.0,
        )
        bbox = factory.new(
            "vision_msgs/msg/BoundingBox2D", center=centre, size_x=float(sx), size_y=float(sy)
        )
        detections.append(
            factory.new(
                "vision_msgs/msg/Detection2D", header=hdr, results=[guess], bbox=bbox, id=ident
            )
        )
    return factory.new(DETECTIONS, header=hdr, detections=detections)


def occupancy_grid(
    factory: MessageFactory, grid: np.ndarray, spec: GridSpec | MapWindow, hdr: Any
) -> Any:
    """nav_msgs/OccupancyGrid of an int8 [rows, cols] grid; origin is cell (0, 0)'s corner."""
    info = factory.new(
        "nav_msgs/msg/MapMetaData",
        map_load_time=hdr.stamp,
        resolution=float(spec.resolution),
        width=int(grid.shape[1]),
        height=int(grid.shape[0]),
        origin=pose(factory, spec.x_min, spec.y_min),
    )
    data = factory.int8_array(np.ascontiguousarray(grid, np.int8).reshape(-1))
    return factory.new(OCCUPANCY_GRID, header=hdr, info=info, data=data)


def local_map(factory: MessageFactory, fused: LocalMap, hdr: Any) -> Any | None:
    """nav_msgs/OccupancyGrid of the local map in odom_frame (`hdr`), or None before its first
    frame placed it."""
    window = fused.window
    return None if window is None else occupancy_grid(factory, fused.occupancy(), window, hdr)


def laser_scan(factory: MessageFactory, scan: Scan, hdr: Any) -> Any:
    """sensor_msgs/LaserScan of a free-space scan: one instant (no time between bearings), no
    intensities."""
    return factory.new(
        LASER_SCAN,
        header=hdr,
        angle_min=float(scan.angle_min),
        angle_max=float(scan.angle_max),
        angle_increment=float(scan.angle_increment),
        time_increment=0.0,
        scan_time=0.0,
        range_min=float(scan.range_min),
        range_max=float(scan.range_max),
        ranges=factory.float32_array(scan.ranges),
        intensities=factory.float32_array(np.zeros(0, np.float32)),
    )


def point_cloud(factory: MessageFactory, points: np.ndarray, hdr: Any) -> Any:
    """Unorganised PointCloud2 with float32 x, y, z from an [N, 3] array."""
    points = np.ascontiguousarray(points, np.float32).reshape(-1, 3)
    fields = [
        factory.new(
            "sensor_msgs/msg/PointField",
            name=name,
            offset=offset,
            datatype=FLOAT32_DATATYPE,
            count=1,
        )
        for name, offset in POINT_FIELDS_XYZ
    ]
    return factory.new(
        POINT_CLOUD,
        header=hdr,
        height=1,
        width=len(points),
        fields=fields,
        is_bigendian=False,
        point_step=POINT_STEP,
        row_step=POINT_STEP * len(points),
        data=factory.uint8_array(points),
        is_dense=True,
    )


def detections_from_msg(msg: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(boxes x1y1x2y2 float64 [N, 4], scores [N], class names) of a Detection2DArray."""
    geometry = [
        (d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.size_x, d.bbox.size_y)
        for d in msg.detections
    ]
    best = [max(d.results, key=lambda r: r.hypothesis.score).hypothesis for d in msg.detections]
    scores = np.array([h.score for h in best], np.float64)
    return (
        geometry_to_boxes(np.array(geometry, np.float64).reshape(-1, 4)),
        scores,
        [h.class_id for h in best],
    )


def camera_model_from_camera_info(msg: Any, rectified: bool) -> CameraModel:
    """The camera model of a CameraInfo message for rectified images (P) or raw ones (K and
    the distortion D); ConfigError if unusable (e.g. an uncalibrated camera's all-zero K)."""
    return CameraModel.from_camera_info(
        list(msg.k),
        list(msg.p),
        list(msg.d),
        str(msg.distortion_model),
        int(msg.width),
        int(msg.height),
        rectified,
        list(msg.r),
    )


DETECTIONS_3D = "vision_msgs/msg/Detection3DArray"
PATH = "nav_msgs/msg/Path"
MARKERS = "visualization_msgs/msg/MarkerArray"
LABEL_INFO = "vision_msgs/msg/LabelInfo"
UNKNOWN_ANGLE_VARIANCE = math.pi**2  # heading, roll and pitch of a box seen by one camera


def yaw_quaternion(factory: MessageFactory, yaw: float) -> Any:
    """geometry_msgs/Quaternion of a rotation about z."""
    return factory.new(
        "geometry_msgs/msg/Quaternion",
        x=0.0,
        y=0.0,
        z=math.sin(yaw / 2),
        w=math.cos(yaw / 2),
    )


def pose_at(factory: MessageFactory, x: float, y: float, z: float, yaw: float) -> Any:
    return factory.new(
        "geometry_msgs/msg/Pose",
        position=factory.new("geometry_msgs/msg/Point", x=float(x), y=float(y), z=float(z)),
        orientation=yaw_quaternion(factory, float(yaw)),
    )


def pose_covariance(xy: np.ndarray, z_variance: float) -> np.ndarray:
    """Row-major 6x6 pose covariance: the (x, y) block given, z from `z_variance`, the angles
    unknown (pi^2)."""
    covariance = np.zeros((6, 6))
    covariance[:2, :2] = xy
    covariance[2, 2] = z_variance
    covariance[3, 3] = covariance[4, 4] = covariance[5, 5] = UNKNOWN_ANGLE_VARIANCE
    return covariance.reshape(-1)


def detections_3d(
    factory: MessageFactory,
    centres: np.ndarray,
    yaws: np.ndarray,
    sizes: np.ndarray,
    covariances: np.ndarray,
    scores: np.ndarray,
    class_names: Sequence[str],
    ids: Sequence[str],
    hdr: Any,
) -> Any:
    """Detection3DArray: box centre [N, 3] and size [N, 3] (length, width, height) in m, yaw
    along the line of sight, pose covariance [N, 36], class name and score, track id."""
    detections = []
    for centre, yaw, size, covariance, score, name, ident in zip(
        centres, yaws, sizes, covariances, scores, class_names, ids, strict=True
    ):
        centre_pose = pose_at(factory, *centre, yaw)
        guess = hypothesis(factory, name, score, centre_pose, covariance)
        extent = factory.new(
            "geometry_msgs/msg/Vector3", x=float(size[0]), y=float(size[1]), z=float(size[2])
        )
        bbox = factory.new("vision_msgs/msg/BoundingBox3D", center=centre_pose, size=extent)
        detections.append(
            factory.new(
                "vision_msgs/msg/Detection3D", header=hdr, results=[guess], bbox=bbox, id=ident
            )
        )
    return factory.new(DETECTIONS_3D, header=hdr, detections=detections)


def path(factory: MessageFactory, points: np.ndarray | None, hdr: Any) -> Any:
    """nav_msgs/Path through [M, 3] points, each pose facing along the path; empty when None."""
    poses = []
    if points is not None and len(points):
        points = np.asarray(points, np.float64)
        if len(points) > 1:
            yaws = np.arctan2(np.gradient(points[:, 1]), np.gradient(points[:, 0]))
        else:
            yaws = np.zeros(1)
        poses = [
            factory.new("geometry_msgs/msg/PoseStamped", header=hdr, pose=pose_at(factory, *p, yaw))
            for p, yaw in zip(points, yaws)
        ]
    return factory.new(PATH, header=hdr, poses=poses)


def marker(
    factory: MessageFactory,
    hdr: Any,
    namespace: str,
    ident: int,
    kind: int,
    rgba: tuple[float, float, float, float],
    scale: tuple[float, float, float],
    pose: Any = None,
    points: np.ndarray | None = None,
    text: str = "",
) -> Any:
    """One visualization_msgs/Marker (ADD) with the fields RViz and Foxglove draw."""
    r, g, b, a = rgba
    return factory.new(
        "visualization_msgs/msg/Marker",
        header=hdr,
        ns=namespace,
        id=int(ident),
        type=int(kind),
        action=0,
        pose=pose if pose is not None else pose_at(factory, 0.0, 0.0, 0.0, 0.0),
        scale=factory.new("geometry_msgs/msg/Vector3", x=scale[0], y=scale[1], z=scale[2]),
        color=factory.new("std_msgs/msg/ColorRGBA", r=r, g=g, b=b, a=a),
        points=[
            factory.new("geometry_msgs/msg/Point", x=float(p[0]), y=float(p[1]), z=float(p[2]))
            for p in ([] if points is None else points)
        ],
        text=text,
    )


def marker_array(factory: MessageFactory, hdr: Any, markers: list[Any]) -> Any:
    """MarkerArray that first deletes every earlier marker (DELETEALL), then adds `markers`."""
    clear = factory.new(
        "visualization_msgs/msg/Marker",
        header=hdr,
        action=3,
        pose=pose_at(factory, 0.0, 0.0, 0.0, 0.0),
    )
    return factory.new(MARKERS, markers=[clear, *markers])


def label_info(
    factory: MessageFactory, class_names: Sequence[str], threshold: float, hdr: Any
) -> Any:
    """vision_msgs/LabelInfo: class id -> name of the detector, and its score threshold."""
    classes = [
        factory.new("vision_msgs/msg/VisionClass", class_id=index, class_name=name)
        for index, name in enumerate(class_names)
    ]
    return factory.new(LABEL_INFO, header=hdr, class_map=classes, threshold=float(threshold))


TRACKED_OBJECTS = "hybridnets_ros/msg/TrackedObjectArray"
LEAD_VEHICLE = "hybridnets_ros/msg/LeadVehicle"
LANES = "hybridnets_ros/msg/LaneArray"
UNKNOWN_RATE_VARIANCE = 1e6  # (m/s)^2, (rad/s)^2: twist components a tracker does not estimate
LANE_TYPE_UNKNOWN = 0  # LaneBoundary.TYPE_UNKNOWN


def twist_covariance(xy: np.ndarray) -> np.ndarray:
    """Row-major 6x6 twist covariance: the (vx, vy) block given, the other components (not
    estimated) UNKNOWN_RATE_VARIANCE."""
    covariance = np.diag(np.full(6, UNKNOWN_RATE_VARIANCE))
    covariance[:2, :2] = xy
    return covariance.reshape(-1)


def tracked_objects(
    factory: MessageFactory,
    ids: Sequence[str],
    class_names: Sequence[str],
    scores: np.ndarray,
    centres: np.ndarray,
    pose_covariances: np.ndarray,
    velocities: np.ndarray,
    twist_covariances: np.ndarray,
    sizes: np.ndarray,
    lane_indices: np.ndarray,
    in_path: np.ndarray,
    existence: np.ndarray,
    cameras: Sequence[Sequence[str]],
    relative_to_vehicle: bool,
    hdr: Any,
) -> Any:
    """hybridnets_ros/TrackedObjectArray: per object its centre [K, 2] on the ground (z 0,
    heading along x) with a 36-value pose covariance, velocity [K, 2] with a 36-value twist
    covariance, size [K, 3] (along x, along y, height), lane index, in-path, existence
    confidence and the cameras that see it."""
    objects = [
        factory.new(
            "hybridnets_ros/msg/TrackedObject",
            id=ident,
            class_id=name,
            score=float(score),
            pose=factory.new(
                "geometry_msgs/msg/PoseWithCovariance",
                pose=pose_at(factory, centre[0], centre[1], 0.0, 0.0),
                covariance=factory.float64_array(pose_cov),
            ),
            velocity=factory.new(
                "geometry_msgs/msg/TwistWithCovariance",
                twist=factory.new(
                    "geometry_msgs/msg/Twist",
                    linear=factory.new(
                        "geometry_msgs/msg/Vector3", x=float(vel[0]), y=float(vel[1]), z=0.0
                    ),
                    angular=factory.new("geometry_msgs/msg/Vector3", x=0.0, y=0.0, z=0.0),
                ),
                covariance=factory.float64_array(twist_cov),
            ),
            size=factory.new(
                "geometry_msgs/msg/Vector3", x=float(size[0]), y=float(size[1]), z=float(size[2])
            ),
            lane_index=int(lane),
            in_path=bool(inside),
            existence_confidence=float(confidence),
            cameras=list(seen_by),
            velocity_relative_to_vehicle=bool(relative_to_vehicle),
        )
        for ident, name, score, centre, pose_cov, vel, twist_cov, size, lane, inside, confidence,
        seen_by in zip(
            ids, class_names, scores, centres, pose_covariances, velocities, twist_covariances,
            sizes, lane_indices, in_path, existence, cameras, strict=True,
        )
    ]  # fmt: skip
    return factory.new(TRACKED_OBJECTS, header=hdr, objects=objects)


def lead_vehicle(factory: MessageFactory, lead: LeadVehicle | None, hdr: Any) -> Any:
    """hybridnets_ros/LeadVehicle of the lead (present=false and zeros when None)."""
    if lead is None:
        return factory.new(
            LEAD_VEHICLE, header=hdr, present=False, id="", range=0.0, range_rate=0.0,
            time_to_collision=0.0,
        )  # fmt: skip
    return factory.new(
        LEAD_VEHICLE,
        header=hdr,
        present=True,
        id=lead.track_id,
        range=float(lead.range_m),
        range_rate=float(lead.range_rate_mps),
        time_to_collision=float(lead.ttc_s),
    )


def lane_array(
    factory: MessageFactory,
    polylines: Sequence[np.ndarray],
    boundary_indices: Sequence[int],
    confidences: Sequence[float],
    hdr: Any,
) -> Any:
    """hybridnets_ros/LaneArray: one LaneBoundary (type unknown) per [M, 3] polyline."""
    boundaries = [
        factory.new(
            "hybridnets_ros/msg/LaneBoundary",
            points=[
                factory.new("geometry_msgs/msg/Point", x=float(p[0]), y=float(p[1]), z=float(p[2]))
                for p in points
            ],
            type=LANE_TYPE_UNKNOWN,
            confidence=float(confidence),
            boundary_index=int(index),
        )
        for points, index, confidence in zip(polylines, boundary_indices, confidences, strict=True)
    ]
    return factory.new(LANES, header=hdr, boundaries=boundaries)
