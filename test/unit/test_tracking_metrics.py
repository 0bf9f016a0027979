"""Tracking metrics on hand-made sequences whose MOTA, IDF1, id switches and position errors
are worked out by hand, and on the tracker's own output."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hybridnets_core.errors import ConfigError, InputError
from hybridnets_core.evaluation.tracking import TrackingAccumulator
from hybridnets_core.scene.tracking import Tracker

A_BOX, B_BOX, ELSEWHERE = [0, 0, 10, 10], [20, 0, 30, 10], [100, 100, 110, 110]


def test_hand_made_sequence_gives_the_hand_computed_metrics() -> None:
    """True objects A (frames 0-4) and B (frames 0-3); predictions:
    frames 0-1: 1 on A, 2 on B                      -> 4 matches
    frame 2:    1 on A, B missed, 3 elsewhere        -> 1 match, 1 miss, 1 false positive
    frame 3:    1 on A, 4 on B                       -> 2 matches, B switches 2 -> 4
    frame 4:    1 on A, 4 where B was (B is gone)    -> 1 match, 1 false positive
    true objects 9: MOTA = 1 - (1 miss + 2 fp + 1 switch) / 9 = 5/9.
    IDF1: best mapping A-1 (5 frames), B-2 (2 frames): IDTP 7 of 9 true and 10 predicted boxes,
    IDF1 = 2 * 7 / (9 + 10) = 14/19; IDFN = 2, IDFP = 3."""
    frames = [
        (["1", "2"], [A_BOX, B_BOX], ["A", "B"], [A_BOX, B_BOX]),
        (["1", "2"], [A_BOX, B_BOX], ["A", "B"], [A_BOX, B_BOX]),
        (["1", "3"], [A_BOX, ELSEWHERE], ["A", "B"], [A_BOX, B_BOX]),
        (["1", "4"], [A_BOX, B_BOX], ["A", "B"], [A_BOX, B_BOX]),
        (["1", "4"], [A_BOX, B_BOX], ["A"], [A_BOX]),
    ]
    accumulator = TrackingAccumulator()
    for predicted_ids, predicted_boxes, true_ids, true_boxes in frames:
        accumulator.update(predicted_ids, predicted_boxes, true_ids, true_boxes)
    summary = accumulator.summary()
    json.dumps(summary)  # JSON-ready
    expected = {
        "num_frames": 5,
        "num_objects": 9,
        "num_predictions": 10,
        "num_unique_objects": 2,
        "matches": 8,
        "misses": 1,
        "false_positives": 2,
        "id_switches": 1,
        "idtp": 7,
        "idfp": 3,
        "idfn": 2,
    }
    assert {key: summary[key] for key in expected} == expected
    assert summary["mota"] == pytest.approx(5 / 9)
    assert summary["idf1"] == pytest.approx(14 / 19)
    assert summary["motp"] == pytest.approx(0.0)  # every match is a perfect overlap
    assert accumulator.id_timeline() == {
        "A": {"frames": [0, 1, 2, 3, 4], "track_ids": ["1"] * 5},
        "B": {"frames": [0, 1, 2, 3], "track_ids": ["2", "2", None, "4"]},
    }


@pytest.mark.parametrize(("threshold", "matched"), [(0.5, False), (0.4, True)])
def test_matching_uses_the_iou_threshold(threshold: float, matched: bool) -> None:
    """A box shifted by 4 of its 10 px width overlaps with IoU 60 / 140 = 0.43."""
    accumulator = TrackingAccumulator(iou_threshold=threshold)
    accumulator.update(["7"], [[4, 0, 14, 10]], [1], [A_BOX])
    summary = accumulator.summary()
    assert (summary["matches"], summary["misses"], summary["false_positives"]) == (
        (1, 0, 0) if matched else (0, 1, 1)
    )
    assert summary["motp"] == (pytest.approx(1 - 6 / 14) if matched else None)


def test_position_error_by_true_range_bin() -> None:
    """Relative errors |predicted - true| / true range, binned by true range [lo, hi)."""
    pairs = [  # (true xy, predicted xy): relative error
        ((5.0, 0.0), (5.5, 0.0)),  # 0.1, bin 0-10
        ((15.0, 0.0), (15.0, 3.0)),  # 0.2, bin 10-20
        ((0.0, 20.0), (0.0, 21.0)),  # 0.05, bin 20-30 (20 belongs to the upper bin)
        ((24.0, 7.0), (24.0, 4.5)),  # 2.5 / 25 = 0.1, bin 20-30
        ((30.0, 0.0), (33.0, 0.0)),  # 0.1, bin 30-40
        ((50.0, 0.0), (40.0, 0.0)),  # beyond the last bin: not counted
        ((8.0, 0.0), (np.nan, np.nan)),  # predicted position unknown: not counted
    ]
    boxes = [[40 * i, 0, 40 * i + 30, 30] for i in range(len(pairs))]
    true_xy = np.array([t for t, _ in pairs])
    predicted_xy = np.array([p for _, p in pairs])
    accumulator = TrackingAccumulator()
    ids = [str(i) for i in range(len(pairs))]
    true_buffer, predicted_buffer = np.empty_like(true_xy), np.empty_like(predicted_xy)
    for _ in range(2):
        true_buffer[:], predicted_buffer[:] = true_xy, predicted_xy
        accumulator.update(ids, boxes, ids, boxes, predicted_buffer, true_buffer)
        true_buffer += 100.0  # a caller reusing its arrays does not change what was recorded
        predicted_buffer += 100.0
    accumulator.update([], [], ["0"], [boxes[0]], None, true_xy[:1])  # a miss: no error
    table = accumulator.summary()["position_error_rel"]
    assert table == {
        "0-10": {"count": 2, "median": pytest.approx(0.1)},
        "10-20": {"count": 2, "median": pytest.approx(0.2)},
        "20-30": {"count": 4, "median": pytest.approx(0.075)},
        "30-40": {"count": 2, "median": pytest.approx(0.1)},
    }


def test_tracker_output_scored_against_its_simulated_truth() -> None:
    """Two objects moving apart: the tracker reports them from their second frame on (min_hits
    2), so the first frame is 2 misses and nothing else is wrong."""
    tracker, accumulator = Tracker(), TrackingAccumulator()
    for k in range(10):
        truth = np.array(
            [[200 - 5 * k, 200, 240 - 5 * k, 230], [400 + 5 * k, 200, 440 + 5 * k, 230]]
        )
        result = tracker.update(k * 100_000_000, truth, np.array([0.9, 0.8]), np.array([0, 0]))
        accumulator.update(result.track_ids, result.boxes, ["left", "right"], truth)
    summary = accumulator.summary()
    assert (summary["misses"], summary["false_positives"], summary["id_switches"]) == (2, 0, 0)
    assert summary["mota"] == pytest.approx(1 - 2 / 20)
    assert summary["idf1"] == pytest.approx(2 * 18 / (20 + 18))
    assert accumulator.id_timeline()["right"]["track_ids"] == [None] + ["2"] * 9


def test_region_of_interest_leaves_out_what_lies_beyond_it() -> None:
    """Near object N (in the region) and far object F (beyond it), two frames:
    frame 0: track 1 on N, track 2 on F, track 3 located beyond the region on nothing,
             track 4 on nothing (in the region)          -> F and 2 and 3 left out
    frame 1: track 1 on N, track 5 half off F (IoU 1/3), flagged in the region
                                                         -> 5 stays, a false positive
    In the region: 2 true objects, 2 matches, 2 false positives (4 and 5): MOTA 1 - 2/2 = 0,
    IDF1 = 2 * 2 / (2 + 4) = 2/3. Everything scored without the region: 4 true objects,
    3 matches (5 misses F), 3 false positives (3, 4, 5)."""
    half_off_far = [25, 0, 35, 10]  # IoU with B_BOX: 50 / 150
    frames = [
        (
            ["1", "2", "3", "4"],
            [A_BOX, B_BOX, [300, 0, 310, 10], ELSEWHERE],
            [False, False, True, False],
            [False, True],
        ),
        (["1", "5"], [A_BOX, half_off_far], [False, False], [False, True]),
    ]
    in_region, everything = TrackingAccumulator(), TrackingAccumulator()
    for predicted_ids, boxes, predicted_outside, true_outside in frames:
        in_region.update(
            predicted_ids,
            boxes,
            ["N", "F"],
            [A_BOX, B_BOX],
            true_ignored=np.array(true_outside),
            predicted_ignored=np.array(predicted_outside),
        )
        everything.update(predicted_ids, boxes, ["N", "F"], [A_BOX, B_BOX])
    summary = in_region.summary()
    expected = {"num_objects": 2, "matches": 2, "misses": 0, "false_positives": 2}
    assert {key: summary[key] for key in expected} == expected
    assert (summary["ignored_objects"], summary["ignored_predictions"]) == (2, 2)
    assert summary["mota"] == pytest.approx(0.0)
    assert summary["idf1"] == pytest.approx(2 / 3)
    assert in_region.id_timeline() == {"N": {"frames": [0, 1], "track_ids": ["1", "1"]}}
    full = everything.summary()
    assert (full["num_objects"], full["matches"], full["false_positives"]) == (4, 3, 3)
    assert (full["ignored_objects"], full["ignored_predictions"]) == (0, 0)


def test_region_flags_must_match_the_boxes() -> None:
    with pytest.raises(InputError, match="ignored flags"):
        TrackingAccumulator().update(["1"], [A_BOX], ["A"], [A_BOX], true_ignored=[True, False])
    with pytest.raises(InputError, match="ignored flags"):
        TrackingAccumulator().update(["1"], [A_BOX], ["A"], [A_BOX], predicted_ignored=[])


def test_empty_accumulator_summary_is_defined() -> None:
    summary = TrackingAccumulator().summary()
    assert summary["num_frames"] == 0 and summary["mota"] is None and summary["idf1"] is None
    assert summary["position_error_rel"]["0-10"] == {"count": 0, "median": None}
    assert TrackingAccumulator().id_timeline() == {}


@pytest.mark.parametrize(
    ("predicted_ids", "true_ids", "message"),
    [
        (["1", "1"], ["A", "B"], "unique"),
        (["", "2"], ["A", "B"], "non-empty"),
        (["1"], ["A", "B"], "one id per box"),
    ],
)
def test_bad_ids_are_rejected(predicted_ids: list, true_ids: list, message: str) -> None:
    with pytest.raises(InputError, match=message):
        TrackingAccumulator().update(predicted_ids, [A_BOX, B_BOX], true_ids, [A_BOX, B_BOX])


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        TrackingAccumulator(iou_threshold=0.0)
    with pytest.raises(ConfigError):
        TrackingAccumulator(range_bins_m=(0.0, 10.0, 5.0))
