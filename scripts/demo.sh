#!/usr/bin/env bash
# Set up .venv and run the perception on the shipped dashcam frames; overlays land in demo_out/.
#
# Weights: the built-in default model when the package ships one, else the official
# hybridnets.pth (downloaded once into ~/.cache/hybridnets). Offline and without either, it
# falls back to an untrained network so the whole path still runs (its output is meaningless).
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$REPO/demo_out}"
"$REPO/scripts/setup_venv.sh"
BIN="$REPO/.venv/bin"

WEIGHTS=()
if ! "$BIN/python" -c 'from hybridnets_core.checkpoint import default_weights_path as d; d()' \
    2>/dev/null; then
    if ! "$BIN/hybridnets" weights download; then
        echo "[demo] no default model and no network: using an UNTRAINED network (random output)"
        "$BIN/python" - "$OUT/untrained.pth" <<'PY'
import sys
from hybridnets_core import HybridNets, ModelConfig
from hybridnets_core.checkpoint import save_checkpoint
config = ModelConfig()
save_checkpoint(sys.argv[1], HybridNets.from_config(config), config)
PY
        WEIGHTS=(--weights "$OUT/untrained.pth")
    fi
fi
"$BIN/hybridnets" predict "${WEIGHTS[@]}" --source "$REPO/test/data/dashcam" --output "$OUT"
echo "[demo] overlays, JSON detections and masks are in $OUT"
