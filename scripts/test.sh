#!/usr/bin/env bash
# Set up .venv (package, ROS 2 wheels, test-only vision_msgs) and run the whole test suite.
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
scripts/setup_venv.sh
scripts/setup_ros.sh .venv
.venv/bin/python -m pytest "$@"
