"""Our interfaces (msg/) without ROS: the bag tools' typestore knows every one, a message of each
survives CDR serialization, and docs/interfaces.md names exactly their fields and constants."""

from __future__ import annotations

import re

import pytest
from interface_samples import INTERFACES, sample, type_name
from testdata import REPO

from hybridnets_core.bag.typestore import RosbagsFactory, typestore

DOC = REPO / "docs" / "interfaces.md"


def test_every_msg_file_is_an_interface_here() -> None:
    assert sorted(path.stem for path in (REPO / "msg").glob("*.msg")) == sorted(INTERFACES)


@pytest.mark.parametrize("name", INTERFACES)
def test_a_message_survives_cdr(name: str) -> None:
    store = typestore()
    message = sample(RosbagsFactory(), name)
    raw = bytes(store.serialize_cdr(message, type_name(name)))
    decoded = store.deserialize_cdr(raw, type_name(name))
    assert bytes(store.serialize_cdr(decoded, type_name(name))) == raw
    assert repr(decoded) == repr(message)  # every field (numpy ones compare by their text)


def test_a_bag_declares_our_definition(tmp_path) -> None:
    """The bag writer records the full definition, so bag readers without our package decode it."""
    from rosbags.rosbag2 import Reader

    from hybridnets_core.bag.writer import BagWriter

    factory = RosbagsFactory()
    with BagWriter(tmp_path / "lanes", "mcap") as bag:
        bag.write("/lanes", type_name("LaneArray"), 7, sample(factory, "LaneArray"))
    with Reader(tmp_path / "lanes") as reader:
        (connection,) = reader.connections
        assert connection.msgtype == type_name("LaneArray")
        assert "uint8 TYPE_DASHED=2" in connection.msgdef.data
        ((_, _, raw),) = list(reader.messages())
    decoded = typestore().deserialize_cdr(raw, type_name("LaneArray"))
    assert [b.boundary_index for b in decoded.boundaries] == [1, -1]


def members(name: str) -> set[str]:
    """Field and constant names of interface `name`, from the typestore."""
    constants, fields = typestore().fielddefs[type_name(name)]
    return {field for field, _ in fields} | {constant for constant, _, _ in constants}


def test_the_documented_constants_have_their_values() -> None:
    types = RosbagsFactory().types
    tracked, boundary = types[type_name("TrackedObject")], types[type_name("LaneBoundary")]
    assert tracked.LANE_UNKNOWN == -128
    assert (boundary.TYPE_UNKNOWN, boundary.TYPE_SOLID, boundary.TYPE_DASHED) == (0, 1, 2)
    assert (boundary.BOUNDARY_UNKNOWN, boundary.EGO_LEFT, boundary.EGO_RIGHT) == (0, 1, -1)
    assert (boundary.LEFT_LEFT, boundary.RIGHT_RIGHT) == (2, -2)


def test_docs_name_exactly_the_fields_and_constants() -> None:
    """docs/interfaces.md writes each member as `Type.member`: every such name exists, and every
    field and constant is documented."""
    text = DOC.read_text()
    pattern = rf"`({'|'.join(INTERFACES)})\.(\w+)`"
    documented: dict[str, set[str]] = {name: set() for name in INTERFACES}
    for name, member in re.findall(pattern, text):
        documented[name].add(member)
    for name in INTERFACES:
        assert documented[name] <= members(name), (name, documented[name] - members(name))
        assert members(name) <= documented[name], (name, members(name) - documented[name])
