#!/usr/bin/env bash
# One prepared GPU measurement (run on a machine with onnxruntime-gpu and CUDA): torch fp16
# against ONNX Runtime CUDA/TensorRT fp16 at 640x384, batch 1, whole Pipeline, side by side.
# Writes JSON into ${OUT:-gpu_results}. TensorRT builds its engine on the first run (minutes);
# the cache folder keeps it for the next.
set -euo pipefail
out="${OUT:-gpu_results}"
mkdir -p "$out"
export HYBRIDNETS_HOME="${HYBRIDNETS_HOME:-$out/cache}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
python -c "import onnxruntime as o; print(o.__version__, o.get_available_providers())" \
  | tee -a "$out/gpu.txt"
for extra in "" "--end2end"; do
  name="bench_fp16${extra:+_e2e}"
  hybridnets bench --random --device cuda --half --backend torch,onnxruntime $extra \
    --image test/data/dashcam/1.jpg --runs 200 --warmup 20 --json "$out/$name.json" \
    | grep -v '^{' | tee "$out/$name.txt"
done
