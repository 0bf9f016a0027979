"""Paths of the test inputs shipped in test/data."""

from pathlib import Path

TEST_DATA = Path(__file__).parent / "data"
DASHCAM = TEST_DATA / "dashcam"
SPEC_FILE = TEST_DATA / "hybridnets_state_dict_spec.json"
