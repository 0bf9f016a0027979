"""Serving cameras: one session per camera (decode, camera_info, outputs), batching frames of
several cameras and overlapping the stages."""
