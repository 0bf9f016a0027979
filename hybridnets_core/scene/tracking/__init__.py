"""Multi-object tracking over frames: stable ids, image boxes and ground velocities."""

from .tracker import Tracker, TrackerSettings, TrackResult, TrackState

__all__ = ["TrackResult", "TrackState", "Tracker", "TrackerSettings"]
