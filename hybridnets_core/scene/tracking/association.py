"""One association stage: optimal one-to-one track/detection matching on image IoU."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def match_by_iou(
    iou: np.ndarray, track_rows: np.ndarray, detection_cols: np.ndarray, min_iou: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (tracks, detections), index arrays into `iou`'s rows and columns, that maximise
    the summed IoU among the given rows and columns, each pair with IoU >= min_iou.

    Pairs below the threshold are zeroed before solving, so they can never displace an
    acceptable pair from the optimum.
    """
    empty = np.zeros(0, dtype=np.intp)
    if not len(track_rows) or not len(detection_cols):
        return empty, empty
    block = iou[track_rows][:, detection_cols]
    block[block < min_iou] = 0.0
    rows, cols = linear_sum_assignment(block, maximize=True)
    accepted = block[rows, cols] > 0.0
    return track_rows[rows[accepted]], detection_cols[cols[accepted]]
