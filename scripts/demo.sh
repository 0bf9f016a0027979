#!/usr/bin/env bash
# Set up .venv (with ROS 2 from PyPI wheels) and run the perception node on a camera stream made
# of the shipped dashcam frames; it prints what it detects and saves overlays in demo_out/.
#
# Weights: the built-in default model (trained on synthetic scenes). Should a checkout lack it,
# the official hybridnets.pth is downloaded once into ~/.cache/hybridnets; offline and without
# either, an untrained network keeps the whole path running (its output is then meaningless).
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$REPO/demo_out}"
"$REPO/scripts/setup_venv.sh"
"$REPO/scripts/setup_ros.sh" "$REPO/.venv"
mkdir -p "$OUT"
BIN="$REPO/.venv/bin"

WEIGHTS=()
if ! "$BIN/python" -c 'from hybridnets_core.model.checkpoint import default_weights_path as d; d()' \
    2>/dev/null; then
    if ! "$BIN/hybridnets" weights download; then
        echo "[demo] no default model and no network: using an UNTRAINED network (random output)"
        "$BIN/python" - "$OUT/untrained.pth" <<'PY'
import sys
from hybridnets_core import HybridNets, ModelConfig
from hybridnets_core.model.checkpoint import save_checkpoint
config = ModelConfig()
save_checkpoint(sys.argv[1], HybridNets.from_config(config), config)
PY
        WEIGHTS=(--weights "$OUT/untrained.pth")
    fi
fi
# the package's Fast DDS profile: ros2 commands from a plain terminal still see the demo node
export FASTDDS_DEFAULT_PROFILES_FILE="$REPO/config/fastdds_large_images.xml"
"$BIN/hybridnets_demo" "${WEIGHTS[@]}" --source "$REPO/test/data/dashcam" --out "$OUT"
