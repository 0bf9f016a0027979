"""Serving camera streams: batching frames of several cameras and overlapping the stages."""
