#!/usr/bin/env bash
# Prepared GPU measurement of several cameras through one network (run where CUDA works):
# one hybridnets_node batching 1, 2, 4 and 8 cameras against as many single-camera nodes, the
# paper's architecture (coefficient 3, 640x384), 30 Hz per camera, torch on cuda. On a GPU
# the batch is the point: one forward pass of N images costs far less than N passes.
# Writes JSON into ${OUT:-gpu_results}.
set -euo pipefail
out="${OUT:-gpu_results}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
python benchmarks/multi_camera.py --random-coef 3 --device cuda --cameras 1 2 4 8 \
  --rate 30 --duration 20 --out "$out/multi_camera_cuda_coef3.json"
