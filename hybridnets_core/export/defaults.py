"""Export settings and their defaults, importable without onnx or onnxruntime (the CLI shows
them in `hybridnets export --help`; only running an export needs the optional packages)."""

from __future__ import annotations

DEFAULT_OPSET = 17
DEFAULT_CALIB_IMAGES = 32
# ONNX Runtime's CalibrationMethod members, by lower-case name
CALIBRATION_METHODS = ("entropy", "percentile", "minmax")
# Entropy (KL) ranges kept the built-in model within 0.4 points of fp32 with every layer in
# int8, where percentile and minmax lost about 2 points of mAP50 (README, INT8 accuracy).
DEFAULT_CALIB_METHOD = "entropy"
DEFAULT_FLOAT_MODULES: tuple[str, ...] = ()
