"""A recorded Marker bag declares Marker as Jazzy and Kilted define it (ARROW_STRIP = 12), and
its messages still decode with Humble's definition (same fields)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_typestore

from hybridnets_core.bag.typestore import RosbagsFactory
from hybridnets_core.bag.writer import BagWriter

MARKER = "visualization_msgs/msg/Marker"
MARKERS = "visualization_msgs/msg/MarkerArray"
ARROW_STRIP = 12  # visualization_msgs/msg/Marker.msg of Jazzy and Kilted


def installed_arrow_strip() -> int | None:
    """ARROW_STRIP of the installed visualization_msgs (a ROS install or the PyPI wheels, whose
    share folder is this interpreter's), if there is one."""
    shares = [Path(sys.prefix) / "share" / "visualization_msgs"]
    try:
        from ament_index_python.packages import get_package_share_directory

        shares.insert(0, Path(get_package_share_directory("visualization_msgs")))
    except (ImportError, LookupError, OSError):  # no ROS, not installed, no AMENT_PREFIX_PATH
        pass
    for share in shares:
        if (share / "msg" / "Marker.msg").is_file():
            text = (share / "msg" / "Marker.msg").read_text()
            found = re.search(r"^int32 ARROW_STRIP=(\d+)", text, re.M)
            return int(found.group(1)) if found else None
    return None


@pytest.mark.parametrize("fmt", ["mcap", "sqlite3"])
def test_a_marker_bag_declares_arrow_strip(tmp_path: Path, fmt: str) -> None:
    installed = installed_arrow_strip()
    assert installed in (None, ARROW_STRIP)
    factory = RosbagsFactory()
    assert factory.types[MARKER].ARROW_STRIP == ARROW_STRIP
    marker = factory.new(MARKER, ns="lanes", id=3, type=ARROW_STRIP)
    path = tmp_path / "markers"
    with BagWriter(path, fmt) as bag:
        bag.write("/markers", MARKERS, 5, factory.new(MARKERS, markers=[marker]))

    with Reader(path) as reader:
        (connection,) = reader.connections
        declared = connection.msgdef.data
        assert f"int32 ARROW_STRIP={ARROW_STRIP}" in declared
        assert "int32 TRIANGLE_LIST=11" in declared
        ((_, _, raw),) = list(reader.messages())
    humble = get_typestore(Stores.ROS2_HUMBLE)
    (decoded,) = humble.deserialize_cdr(raw, MARKERS).markers
    assert (decoded.ns, decoded.id, decoded.type) == ("lanes", 3, ARROW_STRIP)
