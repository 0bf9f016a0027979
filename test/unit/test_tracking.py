"""Multi-object tracker on simulated scenes: id continuity, life cycle, two-stage association,
stamps and the ground-velocity filter."""

from __future__ import annotations

import numpy as np
import pytest

from hybridnets_core.errors import ConfigError, InputError
from hybridnets_core.scene.tracking import Tracker, TrackerSettings, TrackResult, TrackState

MS = 1_000_000  # ns
F, CX, CY, CAMERA_HEIGHT = 800.0, 640.0, 360.0, 1.5  # pinhole looking straight ahead


def box(cx: float, cy: float, w: float = 40.0, h: float = 30.0) -> list[float]:
    """An (x1, y1, x2, y2) box around a centre."""
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def step(
    tracker: Tracker, stamp_ms: float, boxes: list[list[float]], scores: list[float] | None = None
) -> TrackResult:
    """One frame of class-0 detections (score 0.9 unless given)."""
    scores = [0.9] * len(boxes) if scores is None else scores
    return tracker.update(
        round(stamp_ms * MS),
        np.array(boxes, dtype=float).reshape(-1, 4),
        np.array(scores, dtype=float),
        np.zeros(len(boxes), dtype=int),
    )


def projected_box(x: float, y: float, width: float = 1.8, height: float = 1.5) -> np.ndarray:
    """Image box of a width x height object standing on the ground at (x, y), vehicle frame."""
    left, right = CX - F * (y + width / 2) / x, CX - F * (y - width / 2) / x
    return np.array(
        [left, CY + F * (CAMERA_HEIGHT - height) / x, right, CY + F * CAMERA_HEIGHT / x]
    )


def ray_covariance(x: float, y: float, along: float, across: float) -> np.ndarray:
    """Ground-position covariance with std `along` the viewing ray and `across` it."""
    angle = np.arctan2(y, x)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return rotation @ np.diag([along**2, across**2]) @ rotation.T


def test_tentative_until_min_hits_then_confirmed_with_first_id() -> None:
    tracker = Tracker(TrackerSettings(min_hits=3))
    results = [step(tracker, 100 * k, [box(100 + 5 * k, 200)]) for k in range(4)]
    assert [r.detection_track_ids for r in results] == [[""], [""], ["1"], ["1"]]
    assert [r.track_ids for r in results] == [[], [], ["1"], ["1"]]
    last = results[-1]
    assert last.states.tolist() == [TrackState.TRACKED]
    assert last.hits.tolist() == [4]
    assert last.age_s.tolist() == pytest.approx([0.3])
    assert last.detection_index.tolist() == [0]
    np.testing.assert_allclose(last.boxes[0], box(115, 200), atol=1.0)


def test_tentative_track_dies_on_its_first_miss() -> None:
    tracker = Tracker(TrackerSettings(min_hits=3))
    step(tracker, 0, [box(100, 200)])
    step(tracker, 100, [box(100, 200)])
    step(tracker, 200, [])
    results = [step(tracker, 300 + 100 * k, [box(100, 200)]) for k in range(3)]
    assert [r.detection_track_ids for r in results] == [[""], [""], ["1"]]


def test_occluded_object_keeps_its_id_and_coasts_while_lost() -> None:
    """Moving 200 px/s; missing for 0.6 s (6 frames); found again at its predicted place."""
    tracker = Tracker()
    seen = {}
    for k in range(20):
        centre = 100 + 20 * k
        result = step(tracker, 100 * k, [] if 8 <= k < 14 else [box(centre, 200)])
        seen[k] = result
    assert {tuple(seen[k].detection_track_ids) for k in range(2, 20) if not 8 <= k < 14} == {("1",)}
    during = seen[12]
    assert during.track_ids == ["1"] and during.states.tolist() == [TrackState.LOST]
    assert during.time_since_update_s.tolist() == pytest.approx([0.5])
    assert during.detection_index.tolist() == [-1]
    np.testing.assert_allclose(during.boxes[0], box(100 + 20 * 12, 200), atol=6.0)
    assert seen[19].states.tolist() == [TrackState.TRACKED]


def test_irregular_stamps_predict_with_real_intervals() -> None:
    """200 px/s with 40 px boxes: over a 300 ms gap the object moves 1.5 box widths, so only a
    prediction over the real interval lands on it (one frame's worth would be a width short)."""
    stamps = [0, 100, 200, 300, 600, 700, 800, 1100, 1200, 1300]
    tracker = Tracker()
    ids = [step(tracker, t, [box(100 + 0.2 * t, 200)]).detection_track_ids for t in stamps]
    assert ids[2:] == [["1"]] * (len(stamps) - 2)


def test_ids_are_never_reused_after_a_track_dies() -> None:
    tracker = Tracker(TrackerSettings(max_age_s=0.5))
    for k in range(5):
        step(tracker, 100 * k, [box(300, 200)])
    gone = [step(tracker, 500 + 100 * k, []) for k in range(7)]  # last seen at 400 ms
    assert gone[4].track_ids == ["1"]  # 0.5 s without detections: still LOST
    assert gone[5].track_ids == []  # 0.6 s: deleted
    again = [step(tracker, 1200 + 100 * k, [box(300, 200)]) for k in range(3)]
    assert again[-1].detection_track_ids == ["2"]
    tracker.reset()
    after_reset = [step(tracker, 100 * k, [box(300, 200)]) for k in range(3)]
    assert after_reset[-1].detection_track_ids == ["3"]


@pytest.mark.parametrize("occluded", [False, True])
def test_crossing_objects_keep_their_ids(occluded: bool) -> None:
    """Two equal boxes move towards each other (5 px per frame each) and cross; with
    `occluded`, the far one is not detected while the two overlap."""
    tracker = Tracker()
    ids_of = {0: set(), 1: set()}
    for k in range(40):
        centres = [(200 + 5 * k, 200), (400 - 5 * k, 208)]
        overlap = abs(centres[0][0] - centres[1][0]) < 40
        visible = [0] if occluded and overlap else [0, 1]
        result = step(tracker, 100 * k, [box(*centres[i]) for i in visible])
        for row, obj in enumerate(visible):
            if k >= 2:
                ids_of[obj].add(result.detection_track_ids[row])
    assert ids_of == {0: {"1"}, 1: {"2"}}


def test_low_score_detection_continues_a_tracked_object_only() -> None:
    """min_hits=1, so any track a detection started would show at once."""
    tracker = Tracker(TrackerSettings(min_hits=1))
    for k in range(4):
        step(tracker, 100 * k, [box(200, 200)])
    # stage 2: a low-score box on the track continues it; a low-score box alone starts nothing
    result = step(tracker, 400, [box(200, 200), box(600, 300)], scores=[0.3, 0.3])
    assert result.detection_track_ids == ["1", ""] and result.track_ids == ["1"]
    # stage 2 needs min_iou_low (0.5): a shifted low-score box (IoU ~0.33) is not taken
    result = step(tracker, 500, [box(220, 200)], scores=[0.3])
    assert result.detection_track_ids == [""] and result.states.tolist() == [TrackState.LOST]
    # a LOST track is not revived by a low-score box, only by a high-score one
    assert step(tracker, 600, [box(200, 200)], scores=[0.3]).detection_track_ids == [""]
    assert step(tracker, 700, [box(200, 200)], scores=[0.8]).detection_track_ids == ["1"]
    # below low_score a detection is ignored, on the track or elsewhere
    result = step(tracker, 800, [box(200, 200), box(600, 300)], scores=[0.05, 0.05])
    assert result.detection_track_ids == ["", ""] and result.track_ids == ["1"]


def test_new_tracks_need_new_track_score() -> None:
    tracker = Tracker(TrackerSettings(min_hits=1))
    result = step(tracker, 0, [box(100, 100), box(300, 100)], scores=[0.55, 0.65])
    assert result.detection_track_ids == ["", "1"]


def test_class_flicker_keeps_the_track_and_the_heavier_class_wins() -> None:
    tracker = Tracker(TrackerSettings(min_hits=1))
    classes = [2, 2, 5, 5, 5, 2]
    scores = [0.9, 0.6, 0.7, 0.7, 0.7, 0.9]  # summed (2 vs 5): 1.5 vs 2.1 at frame 4, 2.4 vs 2.1
    reported = []
    for k, (cls, score) in enumerate(zip(classes, scores)):
        result = tracker.update(
            100 * k * MS, np.array([box(200, 200)]), np.array([score]), np.array([cls])
        )
        assert result.detection_track_ids == ["1"]
        reported.append(int(result.class_ids[0]))
    assert reported == [2, 2, 2, 2, 5, 2]


def test_class_aware_tracks_only_take_their_own_class() -> None:
    tracker = Tracker(TrackerSettings(min_hits=1, class_aware=True))
    first = tracker.update(0, np.array([box(200, 200)]), np.array([0.9]), np.array([0]))
    second = tracker.update(100 * MS, np.array([box(200, 200)]), np.array([0.9]), np.array([1]))
    assert first.detection_track_ids == ["1"] and second.detection_track_ids == ["2"]
    assert second.track_ids == ["1", "2"]
    assert second.states.tolist() == [TrackState.LOST, TrackState.TRACKED]


@pytest.mark.parametrize("accel", [2.0, TrackerSettings().ground_accel_std])
def test_ground_velocity_converges_to_the_true_constant_velocity(accel: float) -> None:
    """An object at 30 m approaching at 4 m/s and drifting left at 0.8 m/s, measured with
    ray-aligned noise (3 % of range along the ray, 0.15 m across), stamps jittered by up to
    20 ms and 300 ms lost once. Tolerance: over the last 2 s the mean velocity error is below
    0.4 m/s per axis, and the errors are consistent with the reported covariance, whose
    settled velocity sigma is below 1.2 m/s at 2 m/s^2 of process noise and grows with it as
    a constant-velocity filter's does (steady-state velocity variance ~ q^(3/4))."""
    rng = np.random.default_rng(7)
    velocity, start = np.array([-4.0, 0.8]), np.array([30.0, -2.0])
    stamps = np.cumsum(rng.uniform(0.08, 0.12, 60))
    stamps[30:] += 0.3
    tracker = Tracker(TrackerSettings(ground_accel_std=accel))
    errors, sigmas = [], []
    for stamp in stamps:
        truth = start + velocity * stamp
        cov = ray_covariance(*truth, along=0.03 * truth[0], across=0.15)
        measured = rng.multivariate_normal(truth, cov)
        image_box = projected_box(*truth) + rng.normal(0.0, 1.0, 4)
        result = tracker.update(
            int(stamp * 1e9),
            image_box[None],
            np.array([0.9]),
            np.array([0]),
            measured[None],
            cov[None],
        )
        if result.track_ids:
            assert result.detection_track_ids == ["1"]
            errors.append(result.ground_velocity[0] - velocity)
            sigmas.append(np.sqrt(np.diag(result.ground_cov[0])[2:]))
    errors, sigmas = np.array(errors), np.array(sigmas)
    last = stamps > stamps[-1] - 2.0
    recent_errors, recent_sigmas = errors[last[-len(errors) :]], sigmas[last[-len(errors) :]]
    assert np.abs(recent_errors.mean(axis=0)).max() < 0.4
    assert (np.sqrt((recent_errors**2).mean(axis=0)) < 2.0 * recent_sigmas.mean(axis=0)).all()
    assert np.abs(errors[:3]).max() > np.abs(recent_errors.mean(axis=0)).max()  # it converged
    assert recent_sigmas.max() < 1.2 * (accel / 2.0) ** 0.75


def closing_lead(
    bias_into_noise: bool, seconds: float = 4.0
) -> tuple[np.ndarray, list[TrackResult]]:
    """A car ahead whose range rate swings from 0 to -6 m/s and back over 4 s (a braking
    lead), measured every 0.1 s with 0.3 m of fresh noise along the line of sight and a
    2 m persistent (tilt) error: given apart (`ground_bias_cov`) or, as before that
    existed, folded into the fresh noise. Returns the true range rates and the results."""
    rng = np.random.default_rng(3)
    stamps = np.arange(1, round(seconds * 10) + 1) * 0.1
    rate = -3.0 * (1.0 - np.cos(2.0 * np.pi * stamps / seconds))
    ranges = 30.0 + np.cumsum(rate) * 0.1
    noise, bias = np.diag([0.3**2, 0.1**2]), np.diag([2.0**2, 0.0])
    tracker, results = Tracker(TrackerSettings(min_hits=1)), []
    for stamp, true_range in zip(stamps, ranges):
        measured = np.array([[true_range + rng.normal(0.0, 0.3), 0.0]])
        given = {"ground_cov": (noise + bias)[None]}
        if not bias_into_noise:
            given = {"ground_cov": noise[None], "ground_bias_cov": bias[None]}
        image_box = projected_box(true_range, 0.0)[None]
        results.append(
            tracker.update(
                round(stamp * 1e9), image_box, np.array([0.9]), np.array([0]), measured, **given
            )
        )
    return rate, results


def test_a_persistent_error_given_apart_keeps_velocities_timely_and_is_reported() -> None:
    """With the tilt error given apart the filter follows the closing lead's range rate
    (mean error below 1 m/s after the first second); folded into the fresh noise it lags by
    more than twice that. The reported position covariance holds the persistent error: the
    along-range variance is at least its 4 m^2, and the velocity covariance is untouched."""
    rate, apart = closing_lead(bias_into_noise=False)
    _, folded = closing_lead(bias_into_noise=True)
    settled = slice(10, None)

    def rate_error(results: list[TrackResult]) -> float:
        estimated = np.array([result.ground_velocity[0, 0] for result in results])
        return float(np.abs(estimated - rate)[settled].mean())

    assert rate_error(apart) < 1.0
    assert rate_error(folded) > 2.0 * rate_error(apart)
    last = apart[-1].ground_cov[0]
    assert last[0, 0] >= 4.0 and last[1, 1] < 0.1
    assert np.allclose(last, last.T) and np.all(np.linalg.eigvalsh(last) > 0)


def test_a_ground_position_only_predicted_for_too_long_is_forgotten() -> None:
    """An object located for 0.5 s moving at 2 m/s, then (cut at the image's side) detected
    without a ground position: its track goes on, its ground position is predicted for
    ground_max_coast_s = 0.3 s and then unknown; located again, the track starts its ground
    state afresh at the measurement, with no velocity carried over."""
    tracker = Tracker(TrackerSettings(min_hits=1, ground_max_coast_s=0.3))
    cov = np.eye(2)[None] * 0.01
    results = []
    for k in range(16):
        located = k < 5 or k == 15
        xy = np.array([[10.0 + 0.2 * k, 0.0]]) if located else np.full((1, 2), np.nan)
        detections = (np.array([box(200, 200)]), np.array([0.9]), np.array([0]))
        results.append(tracker.update(k * 100 * MS, *detections, xy, cov, np.array([located])))
    assert all(result.detection_track_ids == ["1"] for result in results)
    known = [bool(result.ground_valid[0]) for result in results]
    assert known == [True] * 8 + [False] * 7 + [True]  # coasting 0.1, 0.2, 0.3 s, then not
    assert np.isnan(results[8].ground_xy).all() and np.isnan(results[8].ground_cov).all()
    assert results[7].ground_xy[0, 0] == pytest.approx(10.0 + 0.2 * 7, abs=0.05)
    np.testing.assert_allclose(results[15].ground_xy[0], [13.0, 0.0])
    np.testing.assert_allclose(results[15].ground_velocity[0], [0.0, 0.0])


def test_objects_without_ground_positions_are_tracked_in_the_image() -> None:
    tracker = Tracker(TrackerSettings(min_hits=1))
    boxes = np.array([box(200, 200), box(500, 200)])
    xy, cov = np.array([[12.0, 1.0], [np.nan, np.nan]]), np.tile(np.eye(2) * 0.04, (2, 1, 1))
    for k in range(3):
        valid = np.array([True, k == 2])
        xy[1] = [20.0, -3.0] if k == 2 else np.nan
        result = tracker.update(
            100 * k * MS, boxes, np.array([0.9, 0.9]), np.array([0, 0]), xy, cov, valid
        )
        assert result.detection_track_ids == ["1", "2"]
        assert result.ground_valid.tolist() == [True, k == 2]
    np.testing.assert_allclose(result.ground_xy[0], [12.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(result.ground_xy[1], [20.0, -3.0])
    np.testing.assert_allclose(result.ground_velocity[0], [0.0, 0.0], atol=1e-6)
    assert np.isfinite(result.ground_cov).all()
    only_image = step(Tracker(TrackerSettings(min_hits=1)), 0, [box(200, 200)])
    assert not only_image.ground_valid[0] and np.isnan(only_image.ground_xy).all()


@pytest.mark.parametrize("bad_stamp_ms", [300, 200])
def test_stamps_must_increase_and_a_rejected_frame_changes_nothing(bad_stamp_ms: int) -> None:
    tracker = Tracker()
    for k in range(4):
        step(tracker, 100 * k, [box(200 + 10 * k, 200)])
    with pytest.raises(InputError, match="not after the previous one"):
        step(tracker, bad_stamp_ms, [box(600, 300)])
    assert step(tracker, 400, [box(240, 200)]).detection_track_ids == ["1"]
    with pytest.raises(InputError, match="integer nanoseconds"):
        tracker.update(0.5e9, np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=int))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"boxes": np.zeros((2, 3))}, r"\[N, 4\]"),
        ({"scores": np.ones(3)}, "like the boxes"),
        ({"boxes": np.array([[10.0, 0, 0, 10]] * 2)}, "x2 >= x1"),
        ({"class_ids": np.array([0.0, 1.0])}, "non-negative integers"),
        ({"ground_xy": np.zeros((2, 2))}, "needs ground_cov"),
        ({"ground_xy": np.zeros((2, 2)), "ground_cov": -np.ones((2, 2, 2))}, "positive definite"),
        ({"ground_xy": np.full((2, 2), np.nan), "ground_cov": np.ones((2, 2, 2))}, "finite"),
        ({"ground_valid": np.ones(2, dtype=bool)}, "without ground_xy"),
        ({"ground_bias_cov": np.zeros((2, 2, 2))}, "ground_bias_cov given without ground_xy"),
        (
            {
                "ground_xy": np.zeros((2, 2)),
                "ground_cov": np.tile(np.eye(2), (2, 1, 1)),
                "ground_bias_cov": np.zeros((2, 2)),
            },
            r"ground_bias_cov must be \[2, 2, 2\]",
        ),
        (
            {
                "ground_xy": np.zeros((2, 2)),
                "ground_cov": np.tile(np.eye(2), (2, 1, 1)),
                "ground_bias_cov": -np.tile(np.eye(2), (2, 1, 1)),
            },
            "positive semi-definite",
        ),
    ],
)
def test_bad_detections_are_rejected_in_one_line(arguments: dict, message: str) -> None:
    inputs = {
        "boxes": np.array([box(100, 100), box(300, 100)]),
        "scores": np.array([0.9, 0.8]),
        "class_ids": np.array([0, 1]),
    } | arguments
    with pytest.raises(InputError, match=message):
        Tracker().update(0, **inputs)


@pytest.mark.parametrize(
    "settings",
    [
        {"low_score": 0.6, "high_score": 0.5},
        {"new_track_score": 0.4},
        {"min_iou": 0.0},
        {"min_hits": 0},
        {"max_age_s": -1.0},
        {"ground_accel_std": float("nan")},
    ],
)
def test_bad_settings_are_config_errors(settings: dict) -> None:
    with pytest.raises(ConfigError, match="tracker"):
        TrackerSettings(**settings)
