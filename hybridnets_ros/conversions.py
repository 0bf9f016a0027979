"""ROS message <-> numpy conversions for the node, validating every incoming image.

Incoming pixel buffers are viewed with `np.frombuffer` (no copy). Outgoing buffers are
assigned to `msg.data` as an `array.array` after construction: every rclpy since Humble
stores that without a per-element check, whereas a plain `bytes` value is checked element
by element on Humble and a `data=` constructor argument is copied element by element.
"""

from __future__ import annotations

import array

import numpy as np
from geometry_msgs.msg import Pose
from nav_msgs.msg import MapMetaData, OccupancyGrid
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import Header
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from hybridnets_core.errors import InputError
from hybridnets_core.ground import CameraIntrinsics, GridSpec
from hybridnets_core.msgcodec import (
    FLOAT32_DATATYPE,
    POINT_FIELDS_XYZ,
    POINT_STEP,
    RAW_ENCODINGS,
    box_geometry,
    compressed_to_array,
    image_to_array,
    mask_to_mono8,
)

__all__ = [
    "RAW_ENCODINGS",
    "array_to_image",
    "camera_info_to_intrinsics",
    "compressed_to_array",
    "detections_to_msg",
    "grid_to_msg",
    "image_to_array",
    "mask_to_image",
    "points_to_cloud",
]


def _byte_array(arr: np.ndarray, typecode: str = "B") -> array.array:
    """Copy a numpy array's bytes once into an array.array for a message field."""
    out = array.array(typecode)
    out.frombytes(np.ascontiguousarray(arr).reshape(-1).view(np.uint8).data)
    return out


def array_to_image(arr: np.ndarray, encoding: str, header: Header) -> Image:
    """Wrap a uint8 HxW (mono8) or HxWxC array as a raw Image with the given header."""
    channels = RAW_ENCODINGS[encoding][0]
    if arr.dtype != np.uint8 or arr.shape[2:] not in ((), (channels,)) or arr.ndim < 2:
        raise InputError(f"array {arr.dtype}{arr.shape} cannot be encoded as {encoding}")
    height, width = arr.shape[:2]
    msg = Image(header=header, height=height, width=width, encoding=encoding, step=width * channels)
    msg.data = _byte_array(arr)
    return msg


def mask_to_image(mask: np.ndarray, header: Header) -> Image:
    """A boolean mask as a mono8 Image: 255 foreground, 0 background."""
    return array_to_image(mask_to_mono8(mask), "mono8", header)


def detections_to_msg(
    boxes: np.ndarray, scores: np.ndarray, class_names: list[str], header: Header
) -> Detection2DArray:
    """Detection2DArray with box centre/size in source pixels and the class name as class_id."""
    out = Detection2DArray(header=header)
    for i, ((centre_x, centre_y, size_x, size_y), score, name) in enumerate(
        zip(box_geometry(boxes), scores, class_names, strict=True)
    ):
        det = Detection2D(header=header, id=str(i))
        det.bbox.center.position.x = float(centre_x)
        det.bbox.center.position.y = float(centre_y)
        det.bbox.size_x = float(size_x)
        det.bbox.size_y = float(size_y)
        hypothesis = ObjectHypothesisWithPose()
        hypothesis.hypothesis.class_id = name
        hypothesis.hypothesis.score = float(score)
        det.results.append(hypothesis)
        out.detections.append(det)
    return out


def grid_to_msg(grid: np.ndarray, spec: GridSpec, header: Header) -> OccupancyGrid:
    """OccupancyGrid of an int8 [rows, cols] grid; origin is the corner of cell (0, 0)."""
    origin = Pose()
    origin.position.x = float(spec.x_min)
    origin.position.y = float(spec.y_min)
    origin.orientation.w = 1.0
    info = MapMetaData(
        map_load_time=header.stamp,
        resolution=float(spec.resolution),
        width=int(grid.shape[1]),
        height=int(grid.shape[0]),
        origin=origin,
    )
    msg = OccupancyGrid(header=header, info=info)
    msg.data = _byte_array(grid, "b")
    return msg


def points_to_cloud(points: np.ndarray, header: Header) -> PointCloud2:
    """An unorganised PointCloud2 with float32 x, y, z fields from an [N, 3] array."""
    points = np.ascontiguousarray(points, dtype=np.float32).reshape(-1, 3)
    fields = [
        PointField(name=name, offset=offset, datatype=FLOAT32_DATATYPE, count=1)
        for name, offset in POINT_FIELDS_XYZ
    ]
    msg = PointCloud2(
        header=header,
        height=1,
        width=points.shape[0],
        fields=fields,
        is_bigendian=False,
        point_step=POINT_STEP,
        row_step=POINT_STEP * points.shape[0],
        is_dense=True,
    )
    msg.data = _byte_array(points)
    return msg


def camera_info_to_intrinsics(msg: CameraInfo) -> CameraIntrinsics:
    """Pinhole intrinsics from CameraInfo.k (image assumed rectified); ConfigError if invalid."""
    return CameraIntrinsics.from_k(list(msg.k), msg.width, msg.height)
