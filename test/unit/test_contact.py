"""Contact rows from the drivable-area mask: hand-made masks with known road boundaries, and
objects placed from them on the ground by the scene, as the node and bag-eval do."""

from __future__ import annotations

import numpy as np
import pytest

from hybridnets_core.errors import ConfigError, InputError
from hybridnets_core.inference.letterbox import Letterbox
from hybridnets_core.inference.results import Detections, FrameResult
from hybridnets_core.outputs.scene import SceneState
from hybridnets_core.scene.camera import CameraIntrinsics
from hybridnets_core.scene.contact import ContactSettings, drivable_contact_rows
from hybridnets_core.scene.ground import CameraPose, GridSpec
from hybridnets_core.scene.objects import locate_objects

SETTINGS = ContactSettings()


def road_with_car(height: int, width: int, car: tuple[int, int, int, int]) -> np.ndarray:
    """Drivable everywhere below row 20 except a car (x1, y1, x2, y2 in pixels, edges)."""
    drivable = np.zeros((height, width), bool)
    drivable[20:] = True
    x1, y1, x2, y2 = car
    drivable[y1:y2, x1:x2] = False
    return drivable


def test_the_row_where_the_road_resumes_below_the_object() -> None:
    """The car's pixels end at row 70 (edge); a box 4 px too low and one 3 px too high both
    find 70, at scale 1 and (network half the source size) at scale 0.5."""
    drivable = road_with_car(100, 200, (50, 30, 110, 70))
    boxes = np.array([[50, 30, 110, 74], [52, 28, 108, 67]], float)
    np.testing.assert_array_equal(drivable_contact_rows(boxes, drivable, 1.0, SETTINGS), [70, 70])
    rows = drivable_contact_rows(boxes * 2, drivable, 0.5, SETTINGS)
    np.testing.assert_array_equal(rows, [140, 140])


def test_the_median_of_the_central_columns_is_taken() -> None:
    """A sloping boundary, 68 to 72 across the box's central half, gives its median 70; the
    outer quarters (a wheel arch reaching row 80) do not count."""
    drivable = road_with_car(100, 200, (40, 30, 120, 68))
    for offset, column in enumerate(range(60, 101)):
        drivable[68 : 68 + offset // 10, column] = False
    drivable[68:80, 40:59] = False
    drivable[68:80, 101:120] = False
    (row,) = drivable_contact_rows(np.array([[40, 30, 120, 70]], float), drivable, 1.0, SETTINGS)
    assert row == 70


@pytest.mark.parametrize(
    ("case", "blocked_rows"),
    [
        ("no road below: the band ends inside the non-drivable area", slice(20, 100)),
        ("road below only beyond the band (box height 40: band 12 px)", slice(70, 83)),
    ],
)
def test_no_boundary_in_the_band_leaves_the_box_edge(case: str, blocked_rows: slice) -> None:
    drivable = road_with_car(100, 200, (50, 30, 110, 70))
    drivable[blocked_rows, 40:120] = False
    rows = drivable_contact_rows(np.array([[50, 30, 110, 70]], float), drivable, 1.0, SETTINGS)
    assert np.isnan(rows).all(), case


def test_too_few_columns_with_a_boundary_leave_the_box_edge() -> None:
    """Road resumes under 12 of the 31 central columns; half are needed (the default)."""
    drivable = road_with_car(100, 200, (50, 30, 110, 70))
    drivable[70:90, 65:84] = False  # 19 of the 31 central columns (65..95) stay blocked
    box = np.array([[50, 30, 110, 70]], float)
    assert np.isnan(drivable_contact_rows(box, drivable, 1.0, SETTINGS)).all()
    lenient = ContactSettings(min_columns=0.3)
    assert drivable_contact_rows(box, drivable, 1.0, lenient)[0] == 70


def test_boxes_at_or_beyond_the_image_edges_are_clipped_to_it() -> None:
    drivable = road_with_car(100, 200, (0, 30, 40, 70))
    boxes = np.array([[-20, 30, 40, 70], [195, 90, 260, 99], [10, 99, 11, 100]], float)
    rows = drivable_contact_rows(boxes, drivable, 1.0, SETTINGS)
    assert rows[0] == 70 and np.isnan(rows[1:]).all()
    assert drivable_contact_rows(np.zeros((0, 4)), drivable, 1.0, SETTINGS).shape == (0,)


@pytest.mark.parametrize("values", [{"band": 0.0}, {"band": 1.5}, {"min_columns": 0.0}])
def test_bad_contact_settings_are_config_errors(values: dict) -> None:
    with pytest.raises(ConfigError):
        ContactSettings(**values)


W, H, F, CAMERA_HEIGHT = 640, 360, 500.0, 1.5
CAMERA = CameraIntrinsics(F, F, (W - 1) / 2, (H - 1) / 2, W, H)
GRID = GridSpec()


def test_contact_rows_replace_the_box_bottom_on_the_ground() -> None:
    """Contact edge 255 (its pixel row 254.5 lies 75 rows below the centre 179.5): range
    h f / 75 = 10 m, whatever the box's own bottom edge; a NaN row keeps the box's (here also
    255); a wrong-sized array is an InputError."""
    boxes = np.array([[300, 200, 340, 259], [300, 200, 340, 255]], float)
    found = locate_objects(
        boxes, np.zeros(2, int), ["car"], CAMERA, CameraPose(z=CAMERA_HEIGHT), GRID,
        contact_rows=np.array([255.0, np.nan]),
    )  # fmt: skip
    np.testing.assert_allclose(found.range, CAMERA_HEIGHT * F / 75.0, rtol=1e-9)
    with pytest.raises(InputError, match="contact rows"):
        locate_objects(boxes, np.zeros(2, int), ["car"], CAMERA, CameraPose(z=CAMERA_HEIGHT),
                       GRID, contact_rows=np.zeros(3))  # fmt: skip


def frame_with_car(box_bottom: float) -> FrameResult:
    """A 640x360 frame through a 384x640 network (scale 1, 12 px padding top and bottom):
    a car whose pixels end at source row 255.5 rounded to the network's 256, and its box."""
    letterbox = Letterbox.fit((H, W), (384, 640))
    drivable = np.zeros((384, 640), bool)
    drivable[12 + 200 : 12 + H] = True
    drivable[12 + 200 : 12 + 256, 300:340] = False
    detections = Detections(
        boxes=np.array([[300, 210, 340, box_bottom]], np.float32),
        scores=np.array([0.9], np.float32),
        class_ids=np.zeros(1, np.int64),
    )
    return FrameResult(
        detections=detections,
        names=["car"],
        label_maps=np.stack([drivable, np.zeros_like(drivable)]),
        seg_names=["road", "lane"],
        letterbox=letterbox,
    )


@pytest.mark.parametrize("contact_from_drivable", [True, False])
def test_the_scene_places_objects_on_the_drivable_boundary(contact_from_drivable: bool) -> None:
    """The box's bottom is 6 px too low; from the mask the car stands at row 256 (range
    h f / (255.5 - 179.5) = 9.87 m), from the box at row 262 (9.09 m)."""
    scene = SceneState(tracking=False)
    found = scene.update(
        frame_with_car(262.0), 0, CAMERA, CameraPose(z=CAMERA_HEIGHT), GRID, ["car"],
        contact_from_drivable,
    ).objects  # fmt: skip
    bottom = 256.0 if contact_from_drivable else 262.0
    np.testing.assert_allclose(found.range, CAMERA_HEIGHT * F / (bottom - 0.5 - 179.5))
