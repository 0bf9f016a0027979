"""`rosbags` messages of the node's outputs and of camera inputs, built from numpy data.

Field values come from `hybridnets_core.msgcodec`, shared with the live node, so a bag written
here holds what the node would have published for the same frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ground import CameraIntrinsics, GridSpec
from ..msgcodec import (
    FLOAT32_DATATYPE,
    POINT_FIELDS_XYZ,
    POINT_STEP,
    RAW_ENCODINGS,
    box_geometry,
    geometry_to_boxes,
    mask_to_mono8,
)
from .typestore import typestore

NS_PER_S = 1_000_000_000
DETECTIONS = "vision_msgs/msg/Detection2DArray"
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
OCCUPANCY_GRID = "nav_msgs/msg/OccupancyGrid"
POINT_CLOUD = "sensor_msgs/msg/PointCloud2"


def _types() -> Any:
    return typestore().types


def stamp_ns(header: Any) -> int:
    """A header's stamp in integer nanoseconds."""
    return int(header.stamp.sec) * NS_PER_S + int(header.stamp.nanosec)


def make_header(stamp: int, frame_id: str) -> Any:
    """std_msgs/Header for a time in nanoseconds."""
    types = _types()
    sec, nanosec = divmod(int(stamp), NS_PER_S)
    return types["std_msgs/msg/Header"](
        stamp=types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec), frame_id=frame_id
    )


def with_frame(header: Any, frame_id: str) -> Any:
    """The same stamp in another frame (the grid lives in the vehicle frame)."""
    return make_header(stamp_ns(header), frame_id)


def image_msg(pixels: np.ndarray, encoding: str, header: Any) -> Any:
    """sensor_msgs/Image of a uint8 HxW (mono8) or HxWxC array."""
    channels = RAW_ENCODINGS[encoding][0]
    height, width = pixels.shape[:2]
    return _types()[IMAGE](
        header=header,
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=width * channels,
        data=np.ascontiguousarray(pixels, np.uint8).reshape(-1),
    )


def compressed_msg(data: bytes, fmt: str, header: Any) -> Any:
    """sensor_msgs/CompressedImage of encoded bytes (fmt 'jpeg' or 'png')."""
    return _types()[COMPRESSED_IMAGE](
        header=header, format=fmt, data=np.frombuffer(data, np.uint8).copy()
    )


def camera_info_msg(camera: CameraIntrinsics, header: Any) -> Any:
    """sensor_msgs/CameraInfo of an undistorted pinhole camera."""
    types = _types()
    k = np.array([camera.fx, 0, camera.cx, 0, camera.fy, camera.cy, 0, 0, 1], np.float64)
    p = np.array([camera.fx, 0, camera.cx, 0, 0, camera.fy, camera.cy, 0, 0, 0, 1, 0], np.float64)
    roi = types["sensor_msgs/msg/RegionOfInterest"](
        x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
    )
    return types[CAMERA_INFO](
        header=header,
        height=camera.height,
        width=camera.width,
        distortion_model="plumb_bob",
        d=np.zeros(5),
        k=k,
        r=np.eye(3).reshape(-1),
        p=p,
        binning_x=0,
        binning_y=0,
        roi=roi,
    )


def intrinsics_from_camera_info(msg: Any) -> CameraIntrinsics:
    """Pinhole intrinsics of a CameraInfo message (rectified image assumed)."""
    return CameraIntrinsics.from_k(list(msg.k), int(msg.width), int(msg.height))


def _pose(x: float = 0.0, y: float = 0.0) -> Any:
    """geometry_msgs/Pose at (x, y, 0) with identity orientation."""
    types = _types()
    return types["geometry_msgs/msg/Pose"](
        position=types["geometry_msgs/msg/Point"](x=x, y=y, z=0.0),
        orientation=types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
    )


def detections_msg(
    boxes: np.ndarray, scores: np.ndarray, class_names: list[str], header: Any
) -> Any:
    """Detection2DArray: box centre/size in source pixels, class name as class_id."""
    types = _types()
    detections = []
    for index, ((cx, cy, sx, sy), score, name) in enumerate(
        zip(box_geometry(boxes), scores, class_names, strict=True)
    ):
        hypothesis = types["vision_msgs/msg/ObjectHypothesisWithPose"](
            hypothesis=types["vision_msgs/msg/ObjectHypothesis"](class_id=name, score=float(score)),
            pose=types["geometry_msgs/msg/PoseWithCovariance"](
                pose=_pose(), covariance=np.zeros(36)
            ),
        )
        centre = types["vision_msgs/msg/Pose2D"](
            position=types["vision_msgs/msg/Point2D"](x=float(cx), y=float(cy)), theta=0.0
        )
        bbox = types["vision_msgs/msg/BoundingBox2D"](
            center=centre, size_x=float(sx), size_y=float(sy)
        )
        detections.append(
            types["vision_msgs/msg/Detection2D"](
                header=header, results=[hypothesis], bbox=bbox, id=str(index)
            )
        )
    return types[DETECTIONS](header=header, detections=detections)


def detections_from_msg(msg: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(boxes x1y1x2y2 float64 [N, 4], scores [N], class names) of a Detection2DArray."""
    geometry = [
        (d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.size_x, d.bbox.size_y)
        for d in msg.detections
    ]
    best = [max(d.results, key=lambda r: r.hypothesis.score).hypothesis for d in msg.detections]
    scores = np.array([h.score for h in best], np.float64)
    return geometry_to_boxes(np.array(geometry)), scores, [h.class_id for h in best]


def mask_msg(mask: np.ndarray, header: Any) -> Any:
    """mono8 Image of a boolean mask (0/255)."""
    return image_msg(mask_to_mono8(mask), "mono8", header)


def grid_msg(grid: np.ndarray, spec: GridSpec, header: Any) -> Any:
    """nav_msgs/OccupancyGrid of an int8 [rows, cols] grid; origin is cell (0, 0)'s corner."""
    types = _types()
    info = types["nav_msgs/msg/MapMetaData"](
        map_load_time=header.stamp,
        resolution=float(spec.resolution),
        width=int(grid.shape[1]),
        height=int(grid.shape[0]),
        origin=_pose(float(spec.x_min), float(spec.y_min)),
    )
    data = np.ascontiguousarray(grid, np.int8).reshape(-1)
    return types[OCCUPANCY_GRID](header=header, info=info, data=data)


def cloud_msg(points: np.ndarray, header: Any) -> Any:
    """Unorganised PointCloud2 with float32 x, y, z from an [N, 3] array."""
    types = _types()
    points = np.ascontiguousarray(points, np.float32).reshape(-1, 3)
    fields = [
        types["sensor_msgs/msg/PointField"](
            name=name, offset=offset, datatype=FLOAT32_DATATYPE, count=1
        )
        for name, offset in POINT_FIELDS_XYZ
    ]
    return types[POINT_CLOUD](
        header=header,
        height=1,
        width=len(points),
        fields=fields,
        is_bigendian=False,
        point_step=POINT_STEP,
        row_step=POINT_STEP * len(points),
        data=points.view(np.uint8).reshape(-1),
        is_dense=True,
    )
