"""Torch on CUDA in fp16, the README's vehicle set-up (`device: cuda`, `half: true`).

Needs a CUDA device and is skipped elsewhere; the CPU tests run the same Pipeline and torch
runtime in fp32 (test_pipeline.py also checks the one-line error for fp16 without CUDA).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.settings import DetectionSettings

CONF = DetectionSettings(conf_threshold=0.05)
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@needs_cuda
def test_torch_cuda_half_pipeline_matches_fp32(small_model, small_config, dashcam_frame) -> None:
    """fp16 on the GPU keeps fp32's detections and masks within half precision's error."""
    cpu = Pipeline.from_model(small_model, small_config, detection=CONF)
    gpu = Pipeline.from_model(small_model, small_config, device="cuda", half=True, detection=CONF)
    want, got = cpu(dashcam_frame), gpu(dashcam_frame)
    assert len(got) == len(want)
    np.testing.assert_allclose(got.scores, want.scores, atol=2e-2)
    np.testing.assert_allclose(got.boxes, want.boxes, atol=2.0)
    for name in ("drivable", "lane"):
        agree = np.mean(getattr(got, name) == getattr(want, name))
        assert agree > 0.99, f"{name} masks agree on {agree:.4f} of the pixels"
