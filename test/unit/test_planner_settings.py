"""Every planner knob (objects on the ground, tracking, contact rows, lane lines, the path, the
lead vehicle) is a typed output setting: a node parameter with its range and description, a key
of config/hybridnets.yaml and a bag-eval flag, and the value given there is what the scene
uses."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from testdata import config_parameters

from hybridnets_core.bag.typestore import RosbagsFactory
from hybridnets_core.cli.main import build_parser
from hybridnets_core.cli.output_options import output_settings_from_args
from hybridnets_core.errors import ConfigError
from hybridnets_core.inference.letterbox import Letterbox
from hybridnets_core.inference.results import Detections, FrameResult
from hybridnets_core.outputs.frame import FrameOutputs
from hybridnets_core.outputs.settings import OutputSettings
from hybridnets_core.scene.contact import ContactSettings
from hybridnets_core.scene.lanes import LaneSettings
from hybridnets_core.scene.lead import LeadSettings
from hybridnets_core.scene.objects import ObjectSettings
from hybridnets_core.scene.path import PathSettings
from hybridnets_core.scene.tracking import TrackerSettings
from hybridnets_core.settings import Floats, Names, described, rebuild

REPO = Path(__file__).resolve().parents[2]
GROUPS = {
    "objects.": ObjectSettings,
    "tracking.": TrackerSettings,
    "contact.": ContactSettings,
    "lanes.": LaneSettings,
    "path.": PathSettings,
    "lead.": LeadSettings,
}
PLANNER = {
    name: (default, info)
    for name, default, info in described(OutputSettings)
    if name.startswith(tuple(GROUPS))
}
W, H, F, CAMERA_HEIGHT = 640, 360, 500.0, 1.5
CY = (H - 1) / 2
BAG_EVAL = ["bag-eval", "--bag", "b", "--topic", "/t", "--out", "o"]
CAMERA_FLAGS = ["--intrinsics", f"{F},{F},{(W - 1) / 2},{CY}", "--camera-pose", "0,0,1.5,0,0,0"]
WANTED = {"detections", "objects", "ego_lane/center"}


def test_every_planner_knob_is_a_described_setting_in_the_config() -> None:
    fields = {
        f"{prefix}{item.name}": item.default
        for prefix, cls in GROUPS.items()
        for item in dataclasses.fields(cls)
    }
    assert len(fields) == 67  # 64 knobs; the per-class size priors are four parallel lists
    assert {name: default for name, (default, _) in PLANNER.items()} == fields
    values = config_parameters()
    for name, (default, info) in PLANNER.items():
        assert values[name] == default, name
        assert info.description.endswith(".") and "\n" not in info.description, name
        # a number has its range; bool and the class-name list have no range to give
        assert info.low is not None or type(default) in (bool, Names), name
    assert not PLANNER["objects.prior_classes"][1].runtime  # fixes the priors' lengths
    assert all(info.runtime for name, (_, info) in PLANNER.items() if "prior_classes" not in name)


def test_every_planner_knob_is_a_bag_eval_flag_with_the_default(capsys) -> None:
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["bag-eval", "--help"])
    flags = set(re.findall(r"--[a-z0-9-]+", capsys.readouterr().out))
    for name in PLANNER:
        assert "--" + name.replace(".", "-").replace("_", "-") in flags, name
    assert output_settings_from_args(parser.parse_args(BAG_EVAL)) == OutputSettings()


def out_of_range(default: Any, high: float) -> Any:
    """A value just above a setting's range, of the setting's own kind."""
    if isinstance(default, Floats):
        return Floats([high * 2 + 1] * len(default))
    return type(default)(high * 2 + 1)


@pytest.mark.parametrize(
    "name", [name for name, (_, info) in PLANNER.items() if info.low is not None]
)
def test_out_of_range_knobs_are_one_line_config_errors(name: str) -> None:
    default, info = PLANNER[name]
    with pytest.raises(ConfigError, match=f"^{name} (values )?must be within") as error:
        rebuild(OutputSettings, {name: out_of_range(default, info.high)})
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"tracking.min_iou": 0.0}, r"^tracking.min_iou must be within \[0.01, 1\], got 0.0$"),
        ({"tracking.min_hits": 1.5}, "^tracking.min_hits must be an integer"),
        ({"tracking.class_aware": 1}, "^tracking.class_aware must be true or false"),
        ({"lanes.step_m": float("nan")}, "^lanes.step_m must be finite"),
        ({"objects.prior_heights_m": (1.5, "tall")}, "must be a list of numbers"),
        ({"objects.prior_widths_m": (1.0,)}, "prior_widths_m needs one value per prior_classes"),
        ({"tracking.low_score": 0.55}, "tracker scores need low_score <= high_score"),
        ({"lanes.min_range_m": 70.0, "lanes.max_range_m": 60.0}, "min_range_m < max_range_m"),
    ],
)
def test_bad_values_and_combinations_are_config_errors(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        rebuild(OutputSettings, values)
    assert "\n" not in str(error.value)


def lane_pixels(mask: np.ndarray, lateral_m: float, top: int) -> None:
    """Mark a 3 px wide lane line at `lateral_m` (left positive) on the flat ground seen by a
    level camera at CAMERA_HEIGHT, from the bottom image row up to row `top`."""
    for row in range(max(top, int(CY) + 2), H):
        forward = F * CAMERA_HEIGHT / (row - CY)
        column = round((W - 1) / 2 - F * lateral_m / forward)
        mask[12 + row, max(column - 1, 0) : column + 2] = True


def drive_frame() -> FrameResult:
    """A 640x360 frame through a 384x640 network (12 px padding top and bottom): lane lines
    1.75 m either side out to ~60 m, and a car whose pixels end on the road at source row 256
    while its box ends 6 px lower."""
    drivable = np.zeros((384, 640), bool)
    drivable[12 + 200 : 12 + H] = True
    drivable[12 + 200 : 12 + 256, 300:340] = False
    lanes = np.zeros_like(drivable)
    for lateral in (1.75, -1.75):
        lane_pixels(lanes, lateral, top=192)
    detections = Detections(
        boxes=np.array([[300, 210, 340, 262]], np.float32),
        scores=np.array([0.9], np.float32),
        class_ids=np.zeros(1, np.int64),
    )
    return FrameResult(
        detections=detections,
        names=["car"],
        label_maps=np.stack([drivable, lanes]),
        seg_names=["road", "lane"],
        letterbox=Letterbox.fit((H, W), (384, 640)),
    )


def bag_eval_outputs(*flags: str) -> FrameOutputs:
    """The outputs bag-eval makes with these flags (and the test camera)."""
    args = build_parser().parse_args([*BAG_EVAL, *CAMERA_FLAGS, *flags])
    return FrameOutputs(RosbagsFactory(), output_settings_from_args(args), ["car"])


def first_frame(outputs: FrameOutputs) -> Any:
    """The scene and lanes of one frame of the test drive."""
    return outputs.build(drive_frame(), 1_000_000_000, "camera", WANTED).context


def test_bag_eval_flags_reach_the_tracker() -> None:
    """ByteTrack's default confirms a track at its second detection: the first frame's car has
    no id yet; with --tracking-min-hits 1 it has one at once."""
    assert first_frame(bag_eval_outputs()).scene.track_ids(1) == [""]
    quick = bag_eval_outputs("--tracking-min-hits", "1")
    assert quick.scene.tracker.settings.min_hits == 1
    assert first_frame(quick).scene.track_ids(1) == ["1"]


def test_bag_eval_flags_reach_the_lane_estimate() -> None:
    lines = first_frame(bag_eval_outputs()).lanes.lines
    assert len(lines) == 2 and max(line.x_max for line in lines) > 40.0
    short = first_frame(bag_eval_outputs("--lanes-max-range-m", "20")).lanes
    assert len(short.lines) == 2 and max(line.x_max for line in short.lines) <= 20.0
    assert short.ego.center is not None  # the boundaries of the ego lane, 3.5 m apart


def test_bag_eval_flags_reach_object_priors_and_contact_rows() -> None:
    """The car's length is its class prior; its contact row is where the drivable area
    resumes (row 256, range h f / (255.5 - cy)) while the search band reaches that far, and
    its box's bottom edge (262) with a band too narrow to."""
    default = first_frame(bag_eval_outputs()).scene.objects
    lengths = list(ObjectSettings().prior_lengths_m)
    lengths[0] = 5.2  # car
    longer = bag_eval_outputs("--objects-prior-lengths-m", ",".join(map(str, lengths)))
    assert default.size[0, 0] == 4.5 and first_frame(longer).scene.objects.size[0, 0] == 5.2
    np.testing.assert_allclose(default.range, CAMERA_HEIGHT * F / (255.5 - CY))
    narrow = first_frame(bag_eval_outputs("--contact-band", "0.05")).scene.objects
    np.testing.assert_allclose(narrow.range, CAMERA_HEIGHT * F / (261.5 - CY))


def test_a_frame_under_new_settings_reconfigures_the_running_scene() -> None:
    """A runtime change (a frame built under the node's new settings snapshot) reaches the
    scene: the confirmed track keeps its id under new tracker settings, the lane range
    changes."""
    outputs = bag_eval_outputs()
    frame = drive_frame()
    outputs.build(frame, 1_000_000_000, "camera", WANTED)
    second = outputs.build(frame, 1_100_000_000, "camera", WANTED).context
    assert second.scene.track_ids(1) == ["1"]
    changed = rebuild(
        OutputSettings,
        {"tracking.min_hits": 5, "tracking.max_age_s": 0.5, "lanes.max_range_m": 20.0},
    )
    changed = dataclasses.replace(changed, ground=outputs.settings.ground)
    context = outputs.build(frame, 1_200_000_000, "camera", WANTED, settings=changed).context
    assert context.scene.track_ids(1) == ["1"]
    assert outputs.scene.tracker.settings.max_age_s == 0.5
    assert max(line.x_max for line in context.lanes.lines) <= 20.0
    back = outputs.build(frame, 1_300_000_000, "camera", WANTED).context
    assert outputs.scene.tracker.settings.max_age_s == TrackerSettings().max_age_s
    assert max(line.x_max for line in back.lanes.lines) > 20.0
