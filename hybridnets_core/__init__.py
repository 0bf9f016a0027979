"""hybridnets_core: HybridNets network, pipeline, training and tools, free of ROS."""

from .config import ModelConfig
from .model import HybridNets
from .pipeline import Pipeline
from .results import PerceptionResult

__all__ = ["HybridNets", "ModelConfig", "PerceptionResult", "Pipeline"]
