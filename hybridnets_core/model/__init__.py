"""The HybridNets network and its building blocks."""

from .hybridnets import HybridNets

__all__ = ["HybridNets"]
