"""Small synthetic datasets and project files on disk for the training and validation tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hybridnets_core.synth import generate_dataset

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC_PROJECT = ROOT / "config" / "synthetic.yaml"
BDD_PROJECT = ROOT / "config" / "bdd100k.yaml"
IMAGE_WH = (256, 144)
NETWORK = "256x128"
NO_AUGMENT = dict.fromkeys(
    ("fliplr", "hsv_h", "hsv_s", "hsv_v", "rot_factor", "scale_factor", "translate", "shear"), 0
)


def write_project(path: Path, image_size: tuple[int, int] = (256, 128), **dataset: float) -> Path:
    """A copy of config/synthetic.yaml with a small network input and dataset overrides."""
    data = yaml.safe_load(SYNTHETIC_PROJECT.read_text())
    data["model"]["image_size"] = list(image_size)
    data["dataset"].update(dataset)
    path.write_text(yaml.safe_dump(data))
    return path


def make_dataset(root: Path, train: int = 4, val: int = 2, seed: int = 0) -> Path:
    generate_dataset(root, train, val, seed, IMAGE_WH, 1)
    return root


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four training and two validation frames of 256x144 (shared, never modified)."""
    return make_dataset(tmp_path_factory.mktemp("synthetic"))


@pytest.fixture(scope="session")
def plain_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Project file for `synthetic_dataset` without augmentation (deterministic losses)."""
    return write_project(tmp_path_factory.mktemp("project") / "plain.yaml", **NO_AUGMENT)


def alias_bomb(path: Path) -> Path:
    """A 1 KB "billion laughs": obj_list expands to 9**9 strings."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    lines += ["obj_list: *i", "seg_list: [road]"]
    path.write_text("\n".join(lines) + "\n")
    return path
