"""Synthetic driving scenes with BDD100K-style labels, for tests, demos and the default model."""

from .scene import BoxLabel, Scene, SceneParams, render_scene, sample_scene_params
from .writer import generate_dataset

__all__ = [
    "BoxLabel",
    "Scene",
    "SceneParams",
    "generate_dataset",
    "render_scene",
    "sample_scene_params",
]
