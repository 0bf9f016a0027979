"""Checkpoint reading: our format, config inference, and clear errors for wrong files."""

from __future__ import annotations

import pytest
import torch

from hybridnets_core import HybridNets, ModelConfig
from hybridnets_core.errors import CheckpointError
from hybridnets_core.fileio import FILE_MODE
from hybridnets_core.model.checkpoint import (
    infer_config,
    load_model,
    read_checkpoint,
    save_checkpoint,
)


def test_saved_config_round_trips(small_checkpoint, small_config) -> None:
    _, config = load_model(small_checkpoint)
    assert config == small_config


def test_overrides_replace_saved_names(small_checkpoint) -> None:
    _, config = load_model(small_checkpoint, obj_list=["vehicle", "lorry"])
    assert config.obj_list == ["vehicle", "lorry"]


@pytest.mark.parametrize(
    ("coef", "classes", "seg_mode", "seg_classes"),
    [(0, 10, "multiclass", 2), (1, 3, "binary", 1), (2, 1, "multiclass", 4)],
)
def test_shapes_imply_config(coef: int, classes: int, seg_mode: str, seg_classes: int) -> None:
    model = HybridNets(
        compound_coef=coef, num_classes=classes, seg_classes=seg_classes, seg_mode=seg_mode
    )
    config = infer_config(model.state_dict())
    assert (config.compound_coef, config.num_classes, config.seg_mode) == (coef, classes, seg_mode)
    assert len(config.seg_list) == seg_classes


def test_no_atomic_leftovers(tmp_path, small_model, small_config) -> None:
    save_checkpoint(tmp_path / "a.pth", small_model, small_config, epoch=3)
    assert [p.name for p in tmp_path.iterdir()] == ["a.pth"]
    assert (tmp_path / "a.pth").stat().st_mode & 0o777 == FILE_MODE  # not mkstemp's 0600
    assert torch.load(tmp_path / "a.pth", weights_only=True)["epoch"] == 3


def test_missing_file(tmp_path) -> None:
    with pytest.raises(CheckpointError, match=r"not found.*weights download"):
        load_model(tmp_path / "nope.pth")


def test_truncated_file(tmp_path, small_checkpoint) -> None:
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(small_checkpoint.read_bytes()[:100_000])
    with pytest.raises(CheckpointError, match=r"truncated, corrupt or not a \.pth"):
        read_checkpoint(truncated)


def test_random_bytes(tmp_path) -> None:
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00\x01not a checkpoint" * 100)
    with pytest.raises(CheckpointError, match="cannot read"):
        load_model(junk)


def test_unrelated_checkpoint(tmp_path) -> None:
    path = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7), "fc.bias": torch.zeros(10)}, path)
    with pytest.raises(CheckpointError, match="not a HybridNets checkpoint"):
        load_model(path)


def test_non_state_dict_object(tmp_path) -> None:
    path = tmp_path / "list.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="holds a list"):
        load_model(path)


def test_wrong_shapes_are_listed(tmp_path, small_model, small_config) -> None:
    """A checkpoint whose config disagrees with its tensors names the offending keys."""
    path = tmp_path / "mislabelled.pth"
    wrong = ModelConfig(compound_coef=0, obj_list=["a", "b", "c"], input_size=(256, 384))
    torch.save({"config": wrong.to_dict(), "model": small_model.state_dict()}, path)
    with pytest.raises(CheckpointError, match=r"wrong shape \(classifier.header"):
        load_model(path)


def test_missing_keys_are_listed(tmp_path, small_model) -> None:
    state = dict(small_model.state_dict())
    del state["bifpn.0.p3_w1"]
    path = tmp_path / "partial.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"1 missing \(bifpn.0.p3_w1\)"):
        load_model(path)
