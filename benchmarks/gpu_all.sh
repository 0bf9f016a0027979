#!/usr/bin/env bash
# Every GPU measurement in one run, sized for one H100 in about 8 minutes, engine builds included:
#   - the Pipeline (coefficient 3, 640x384, random weights, the dashcam frame), raw and
#     end-to-end graphs, batch 1 and 8, backends side by side in one `hybridnets bench` run:
#     torch fp16, ONNX Runtime CUDA fp16, TensorRT fp16 and TensorRT INT8 (engines built before
#     the timed runs, cached under $HYBRIDNETS_HOME/tensorrt; INT8 calibrated on 16 synthetic
#     scenes);
#   - the node at 30 Hz per camera for 1, 4 and 8 cameras (benchmarks/multi_camera.py).
# Writes JSON into ${OUT:-gpu_results} (6 files with gpu.txt). Needs an NVIDIA GPU, onnxruntime-gpu
# with the TensorRT libraries, torch with CUDA and the node installed; stops at once without.
#   benchmarks/gpu_all.sh            # measure
#   benchmarks/gpu_all.sh --dry-run  # print the commands only (or GPU_ALL_DRY_RUN=1)
set -euo pipefail
cd "$(dirname "$0")/.."
dry="${GPU_ALL_DRY_RUN:-0}"
case "${1:-}" in
  --dry-run) dry=1 ;;
  "") ;;
  *) echo "usage: benchmarks/gpu_all.sh [--dry-run]" >&2; exit 2 ;;
esac
out="${OUT:-gpu_results}"
py="${PYTHON:-python3}"
runs="${GPU_ALL_RUNS:-50}"

step() {  # print one command (shell-quoted, one line); run it unless this is a dry run
  printf '%q ' "$@" | sed 's/ $//'
  echo
  if [[ "$dry" != 1 ]]; then
    local started=$SECONDS
    "$@"
    echo "gpu_all.sh: took $((SECONDS - started)) s" >&2
  fi
}

if [[ "$dry" != 1 ]]; then
  if ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu_all.sh: no NVIDIA GPU here (nvidia-smi fails); run it on a GPU machine," \
      "or with --dry-run to list its commands" >&2
    exit 2
  fi
  if ! "$py" -c "import onnxruntime as o, sys; \
sys.exit('TensorrtExecutionProvider' not in o.get_available_providers())"; then
    echo "gpu_all.sh: onnxruntime has no TensorRT provider; install onnxruntime-gpu" \
      "(pip install 'hybridnets_ros[gpu]') and the TensorRT libraries" >&2
    exit 2
  fi
  mkdir -p "$out"
  # engines are large: cached outside $OUT, kept between runs of the script
  export HYBRIDNETS_HOME="${HYBRIDNETS_HOME:-${TMPDIR:-/tmp}/hybridnets_gpu_all}"
  nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv \
    | tee "$out/gpu.txt"
fi

bench=(
  "$py" -m hybridnets_core.cli.main bench --random --coef 3 --input-size 640x384
  --device cuda --half --image test/data/dashcam/1.jpg --runs "$runs" --warmup 5
  --backend torch,onnxruntime-cuda,onnxruntime,onnxruntime-int8
)
for batch in 1 8; do
  step "${bench[@]}" --batch "$batch" --json "$out/gpu_raw_b$batch.json"
  step "${bench[@]}" --batch "$batch" --end2end --json "$out/gpu_end2end_b$batch.json"
done
step "$py" benchmarks/multi_camera.py --random-coef 3 --device cuda --cameras 1 4 8 \
  --rate 30 --duration 10 --skip-separate --out "$out/gpu_multi_camera.json"
