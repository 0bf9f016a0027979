"""Storage of all live tracks: one row per track in three packed arrays, so selecting or
appending tracks is three array operations whatever the number of fields.

The named fields are views into the packed arrays: writing through them (in place or by
index assignment) changes the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# float columns
_BOX_MEAN, _BOX_COV = slice(0, 8), slice(8, 20)  # [4, 2] and [4, 3] per track (motion.py)
_GROUND_MEAN, _GROUND_COV = slice(20, 24), slice(24, 40)  # [4] and [4, 4]
_SCORE = 40
_GROUND_BIAS_COV = slice(41, 45)  # [2, 2]: the persistent error of the latest ground position
_FLOAT_COLUMNS = 45
# integer columns
_STATE, _NUMBER, _HITS, _BORN_NS, _UPDATED_NS, _GROUND_KNOWN, _GROUND_UPDATED_NS = range(7)
_INT_COLUMNS = 7


@dataclass
class TrackTable:
    """Per track: box and ground filter states, life-cycle counters and class votes."""

    floats: np.ndarray  # [T, 45] float64
    ints: np.ndarray  # [T, 7] int64 (stamps in ns need all 64 bits)
    class_votes: np.ndarray  # [T, C] summed detection scores per class

    @classmethod
    def empty(cls) -> TrackTable:
        return cls(
            np.zeros((0, _FLOAT_COLUMNS)), np.zeros((0, _INT_COLUMNS), np.int64), np.zeros((0, 1))
        )

    @classmethod
    def new(
        cls,
        box_mean: np.ndarray,
        box_cov: np.ndarray,
        ground_mean: np.ndarray,
        ground_cov: np.ndarray,
        ground_bias_cov: np.ndarray,
        ground_known: np.ndarray,
        state: int,
        stamp_ns: int,
        scores: np.ndarray,
        class_votes: np.ndarray,
    ) -> TrackTable:
        """Rows for tracks started now with one detection each (no id yet)."""
        count = len(box_mean)
        floats = np.empty((count, _FLOAT_COLUMNS))
        floats[:, _BOX_MEAN] = box_mean.reshape(count, -1)
        floats[:, _BOX_COV] = box_cov.reshape(count, -1)
        floats[:, _GROUND_MEAN] = ground_mean
        floats[:, _GROUND_COV] = ground_cov.reshape(count, -1)
        floats[:, _SCORE] = scores
        floats[:, _GROUND_BIAS_COV] = ground_bias_cov.reshape(count, -1)
        ints = np.zeros((count, _INT_COLUMNS), np.int64)
        ints[:, _STATE], ints[:, _HITS] = state, 1
        ints[:, _BORN_NS] = ints[:, _UPDATED_NS] = ints[:, _GROUND_UPDATED_NS] = stamp_ns
        ints[:, _GROUND_KNOWN] = ground_known
        return cls(floats, ints, class_votes)

    def __len__(self) -> int:
        return len(self.ints)

    def subset(self, index: np.ndarray) -> TrackTable:
        """The rows picked by a boolean mask or index array."""
        return TrackTable(self.floats[index], self.ints[index], self.class_votes[index])

    def extended(self, other: TrackTable) -> TrackTable:
        """These rows followed by `other`'s (class-vote columns padded to the wider one)."""
        width = max(self.class_votes.shape[1], other.class_votes.shape[1])
        votes = np.zeros((len(self) + len(other), width))
        votes[: len(self), : self.class_votes.shape[1]] = self.class_votes
        votes[len(self) :, : other.class_votes.shape[1]] = other.class_votes
        return TrackTable(
            np.concatenate([self.floats, other.floats]),
            np.concatenate([self.ints, other.ints]),
            votes,
        )

    def widen_votes(self, width: int) -> None:
        """Make room for class ids below `width`."""
        if width > self.class_votes.shape[1]:
            extra = np.zeros((len(self), width - self.class_votes.shape[1]))
            self.class_votes = np.concatenate([self.class_votes, extra], axis=1)

    @property
    def box_mean(self) -> np.ndarray:
        return self.floats[:, _BOX_MEAN].reshape(-1, 4, 2)

    @property
    def box_cov(self) -> np.ndarray:
        return self.floats[:, _BOX_COV].reshape(-1, 4, 3)

    @property
    def ground_mean(self) -> np.ndarray:
        return self.floats[:, _GROUND_MEAN]

    @property
    def ground_cov(self) -> np.ndarray:
        return self.floats[:, _GROUND_COV].reshape(-1, 4, 4)

    @property
    def ground_bias_cov(self) -> np.ndarray:
        """[T, 2, 2] writable view: the persistent error of each track's latest ground position."""
        return self.floats[:, _GROUND_BIAS_COV].reshape(-1, 2, 2)

    @property
    def score(self) -> np.ndarray:
        return self.floats[:, _SCORE]

    @property
    def state(self) -> np.ndarray:
        return self.ints[:, _STATE]

    @property
    def number(self) -> np.ndarray:
        """Public id, 0 until confirmed."""
        return self.ints[:, _NUMBER]

    @property
    def hits(self) -> np.ndarray:
        return self.ints[:, _HITS]

    @property
    def born_ns(self) -> np.ndarray:
        return self.ints[:, _BORN_NS]

    @property
    def updated_ns(self) -> np.ndarray:
        return self.ints[:, _UPDATED_NS]

    @property
    def ground_updated_ns(self) -> np.ndarray:
        """Stamp of each track's latest ground measurement (its start before the first)."""
        return self.ints[:, _GROUND_UPDATED_NS]

    @property
    def ground_known(self) -> np.ndarray:
        """0/1 per track: has had a valid ground position (write 1 to set)."""
        return self.ints[:, _GROUND_KNOWN]
