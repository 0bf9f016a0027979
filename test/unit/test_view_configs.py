"""The shipped RViz config and Foxglove layout name only topics the node publishes, each shown by
a display of its message type, and together show the image with its overlay, the grid, free
space, objects and lanes; the Nav2 costmap example reads ~/free_space as REP 117 asks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import yaml
from testdata import REPO

from hybridnets_core.outputs import messages
from hybridnets_core.outputs.frame import OUTPUT_TYPES
from hybridnets_core.outputs.settings import GroundSettings
from hybridnets_core.scene.free_space import grid_reach
from hybridnets_core.scene.ground import GridSpec

NODE = "/hybridnets_node/"
PUBLISHED = {
    **{NODE + name: msgtype for name, msgtype in OUTPUT_TYPES.items()},
    NODE + "label_info": messages.LABEL_INFO,
    NODE + "local_map": messages.OCCUPANCY_GRID,
    "/diagnostics": "diagnostic_msgs/msg/DiagnosticArray",
}
TOPIC_KEYS = ("topicToRender", "topicPath")  # Foxglove fields that hold one topic
SHOWN = {"debug_image", "grid", "free_space", "markers", "ego_lane/center"}  # markers: objects
RVIZ_TYPES = {
    "rviz_default_plugins/Image": messages.IMAGE,
    "rviz_default_plugins/Map": messages.OCCUPANCY_GRID,
    "rviz_default_plugins/LaserScan": messages.LASER_SCAN,
    "rviz_default_plugins/PointCloud2": messages.POINT_CLOUD,
    "rviz_default_plugins/Path": messages.PATH,
    "rviz_default_plugins/MarkerArray": messages.MARKERS,
}


def rviz_displays(tree: Any) -> Iterator[dict[str, Any]]:
    """Every display of an RViz config, nested groups included."""
    for display in tree.get("Displays", []):
        yield display
        yield from rviz_displays(display)


def test_every_rviz_topic_is_published_and_shown_by_its_type() -> None:
    config = yaml.safe_load((REPO / "config" / "hybridnets.rviz").read_text())
    manager = config["Visualization Manager"]
    assert manager["Global Options"]["Fixed Frame"] == "base_link"
    topics = {}
    for display in rviz_displays(manager):
        assert not any("Topic" in key and key != "Topic" for key in display), display["Name"]
        if "Topic" in display:
            topic = display["Topic"]["Value"]
            assert topic in PUBLISHED, f"{display['Name']}: the node publishes no {topic}"
            assert RVIZ_TYPES[display["Class"]] == PUBLISHED[topic], display["Name"]
            topics[topic] = display["Topic"]
    assert {NODE + name for name in SHOWN} <= set(topics)
    # the grid is latched (grid_qos default): a transient-local Map display matches it
    assert topics[NODE + "grid"]["Durability Policy"] == "Transient Local"


def foxglove_topics(tree: Any) -> Iterator[str]:
    """Every topic a Foxglove layout names: keys of `topics` maps, values of `*Topic` fields,
    `topicToRender` and `topicPath` (a Raw Messages panel's whole message)."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key == "topics":
                yield from value
            elif isinstance(value, str) and (key.endswith("Topic") or key in TOPIC_KEYS):
                yield value
            else:
                yield from foxglove_topics(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from foxglove_topics(item)


def test_every_foxglove_topic_is_published() -> None:
    layout = json.loads((REPO / "config" / "hybridnets.foxglove.json").read_text())
    topics = set(foxglove_topics(layout["configById"]))
    assert topics <= set(PUBLISHED), topics - set(PUBLISHED)
    assert {NODE + name for name in SHOWN} <= topics
    panels = {panel.split("!")[0] for panel in layout["configById"]}
    assert {"Image", "3D", "RawMessages"} <= panels
    assert NODE + "lead_vehicle" in topics
    assert layout["configById"]["3D!hybridnets"]["followTf"] == "base_link"


def test_the_nav2_example_marks_and_clears_from_the_free_space_scan() -> None:
    config = yaml.safe_load((REPO / "config" / "nav2_costmap_free_space.yaml").read_text())
    costmap = config["local_costmap"]["local_costmap"]["ros__parameters"]
    layers = [costmap[name] for name in costmap["plugins"]]
    (obstacles,) = [layer for layer in layers if layer["plugin"].endswith("ObstacleLayer")]
    (source,) = [obstacles[name] for name in obstacles["observation_sources"].split()]
    assert source["topic"] in PUBLISHED and source["topic"].endswith("/free_space")
    assert PUBLISHED[source["topic"]] == f"sensor_msgs/msg/{source['data_type']}"
    assert source["marking"] and source["clearing"] and source["inf_is_valid"]
    # +inf becomes a point at range_max: cleared up to, never marked
    _, range_max = grid_reach(GridSpec())
    assert source["obstacle_max_range"] < range_max <= source["raytrace_max_range"]
    assert source["min_obstacle_height"] < 0 < source["max_obstacle_height"]  # points at z = 0
    assert costmap["robot_base_frame"] == GroundSettings().grid_frame
