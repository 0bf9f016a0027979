#!/usr/bin/env bash
# Create (or update) the virtual environment .venv with this package installed editable.
#
# Usage: scripts/setup_venv.sh [VENV]   (default: <repo>/.venv)
#   TORCH_SPEC   torch requirement to install first (default torch==2.13.0; on machines whose
#                pip index serves CUDA builds, point it at a CPU wheel to save gigabytes)
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$REPO/.venv}"
PIP_FLAGS=(--quiet --disable-pip-version-check)

log() { printf '[setup_venv] %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV with ${PYTHON:-python3}"
    "${PYTHON:-python3}" -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] >= (3, 10), "need Python 3.10+"'
"$VENV/bin/python" -m pip install "${PIP_FLAGS[@]}" --upgrade pip
log "installing ${TORCH_SPEC:-torch==2.13.0}"
"$VENV/bin/python" -m pip install "${PIP_FLAGS[@]}" "${TORCH_SPEC:-torch==2.13.0}"
# ONNX Runtime's C headers let setup.py build our native INT8 ops; without them they are skipped
"$VENV/bin/python" "$REPO/scripts/fetch_onnxruntime_headers.py" "$VENV/include/onnxruntime" ||
    log "no onnxruntime headers: INT8 exports will keep ONNX Runtime's own operators"
log "installing hybridnets_ros (editable) with the onnx, train and dev extras"
"$VENV/bin/python" -m pip install "${PIP_FLAGS[@]}" -e "$REPO[onnx,train,dev]"
log "ready: $VENV/bin/hybridnets"
