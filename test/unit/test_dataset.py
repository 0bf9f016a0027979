"""Project files, the dataset check, and augmentation that keeps image, boxes and masks aligned."""

from __future__ import annotations

import json

import numpy as np
import pytest
from dataset_fixtures import (
    BDD_PROJECT,
    SYNTHETIC_PROJECT,
    make_dataset,
    synthetic_dataset,  # noqa: F401 (fixture)
    write_project,
)

from hybridnets_core.data import AugmentConfig, TrainDataset, checked_samples, load_project
from hybridnets_core.data.augment import Example, augment, mixup, mosaic
from hybridnets_core.data.labels import exclusive_masks
from hybridnets_core.data.numbers import parse_numbers
from hybridnets_core.data.truth import truth_masks
from hybridnets_core.errors import ConfigError, DatasetError
from hybridnets_core.inference.letterbox import Letterbox
from hybridnets_core.inference.transform import ImageTransform


def test_anchor_strings_are_parsed_without_eval() -> None:
    assert parse_numbers("[2**0, 2**0.70, 2**1.32]", "s") == pytest.approx([1.0, 2**0.7, 2**1.32])
    assert parse_numbers("[(0.62, 1.58), (1.0, 1.0)]", "r") == [[0.62, 1.58], [1.0, 1.0]]
    for hostile in ("__import__('os').system('true')", "[x for x in ()]", "[10**10**10]", "[1"):
        with pytest.raises(ConfigError):
            parse_numbers(hostile, "anchors_scales")


def test_shipped_projects_load() -> None:
    bdd = load_project(BDD_PROJECT)
    assert bdd.obj_list == ["car"] and bdd.class_index()["truck"] == 0
    assert bdd.seg_mode == "multiclass" and bdd.image_size == (384, 640)
    assert bdd.anchor_scales == pytest.approx((1.0, 2**0.7, 2**1.32))
    config = bdd.model_config(3)
    assert config.seg_channels == 3 and config.input_size == (384, 640)
    synthetic = load_project(SYNTHETIC_PROJECT, "/data")
    assert str(synthetic.paths.images) == "/data/imgs"
    assert [p.name for p in synthetic.paths.masks] == ["da_seg_annot", "ll_seg_annot"]


def test_project_errors_are_one_line(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("obj_list: ['car']\n")
    with pytest.raises(ConfigError, match="seg_list"):
        load_project(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_project(tmp_path / "missing.yaml")


def test_synthetic_dataset_checks_clean(synthetic_dataset) -> None:  # noqa: F811
    project = load_project(SYNTHETIC_PROJECT, synthetic_dataset)
    samples, report = checked_samples(project, "train", skip_invalid=False)
    assert len(samples) == 4 and report.usable == 4 and not report.errors
    record = json.loads(
        (synthetic_dataset / "det_annot/train" / f"{samples[0].stem}.json").read_text()
    )
    assert len(samples[0].boxes) == sum("box2d" in o for o in record["frames"][0]["objects"])
    assert samples[0].size == (144, 256)


def test_broken_files_give_one_summary(tmp_path) -> None:
    root = make_dataset(tmp_path / "data", train=6, val=0)
    images, labels = root / "imgs/train", root / "det_annot/train"
    (images / "train_000000.jpg").write_bytes(b"not a jpeg")
    (root / "ll_seg_annot/train/train_000001.png").unlink()
    (labels / "train_000002.json").unlink()
    record = json.loads((labels / "train_000003.json").read_text())
    record["frames"][0]["objects"] += [
        {"category": "car", "box2d": {"x1": -20, "y1": 10, "x2": 30, "y2": 40}},
        {"category": "spaceship", "box2d": {"x1": 1, "y1": 1, "x2": 9, "y2": 9}},
    ]
    (labels / "train_000003.json").write_text(json.dumps(record))
    (labels / "train_000004.json").write_text("{broken")
    project = load_project(SYNTHETIC_PROJECT, root)
    with pytest.raises(DatasetError) as caught:
        checked_samples(project, "train", skip_invalid=False)
    summary = str(caught.value)
    assert "6 frames, 2 usable, 4 with errors" in summary
    for problem in (
        "unreadable image: 1",
        "missing mask: 1",
        "missing detection label: 1",
        "unreadable detection label: 1",
        "clipped: 1",
        "unknown categories",
    ):
        assert problem in summary, problem
    samples, _ = checked_samples(project, "train", skip_invalid=True)
    assert sorted(s.stem for s in samples) == ["train_000003", "train_000005"]
    clipped = next(s for s in samples if s.stem == "train_000003")
    assert clipped.boxes[:, 0].min() == 0  # the box reaching left of the image was clipped


def _painted_example(rng: np.random.Generator) -> Example:
    """Image whose red channel is the road mask and blue channel the 'lane' (box) mask."""
    height, width = 128, 256
    masks = np.zeros((2, height, width), dtype=bool)
    masks[0, 70:, 20:230] = True
    boxes = []
    for x, y in ((40, 30), (150, 60)):
        w, h = rng.integers(20, 50, 2)
        masks[1, y : y + h, x : x + w] = True
        boxes.append([x, y, x + w, y + h])
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[..., 2] = masks[0] * 255
    image[..., 0] = masks[1] * 255
    return Example(image, masks, np.float32(boxes), np.zeros(2, np.int64))


def test_augmentation_keeps_image_boxes_and_masks_aligned() -> None:
    config = AugmentConfig(fliplr=0.5, hsv_h=0, hsv_s=0, hsv_v=0, rot_factor=10,
                           scale_factor=0.25, shear=5, translate=0.1)  # fmt: skip
    for seed in range(6):
        rng = np.random.default_rng(seed)
        out = augment(_painted_example(rng), rng, config)
        assert out.masks.dtype == bool and out.image.shape == (128, 256, 3)
        for channel, colour in ((0, 2), (1, 0)):
            agree = (out.image[..., colour] > 127) == out.masks[channel]
            assert agree.mean() > 0.98
        for box in out.boxes:  # each kept box encloses the box pixels it came from
            x1, y1, x2, y2 = np.round(box).astype(int)
            inside = out.masks[1, max(y1, 0) : y2, max(x1, 0) : x2]
            assert inside.mean() > 0.5
        assert (out.boxes >= 0).all() and (out.boxes[:, 2] <= 256).all()


def test_mosaic_and_mixup_stay_consistent() -> None:
    rng = np.random.default_rng(3)
    tiles = [_painted_example(rng) for _ in range(4)]
    combined = mosaic(tiles, rng)
    assert combined.image.shape == (128, 256, 3) and combined.masks.shape == (2, 128, 256)
    agree = (combined.image[..., 2] > 127) == combined.masks[0]
    assert agree.mean() > 0.99 and len(combined.boxes) == len(combined.classes)
    mixed = mixup(tiles[0], tiles[1], rng, multiclass=True)
    assert len(mixed.boxes) == 4
    assert not (mixed.masks[0] & mixed.masks[1]).any()  # lane wins over road


def test_truth_masks_follow_the_paper_rule() -> None:
    """Area-resized label images with any value > 0 kept (the paper's dataset), exclusive after
    the resize, padding background; predicted masks map back with nearest neighbours."""
    masks = np.zeros((2, 720, 1280), dtype=bool)
    masks[0, 400:] = True
    masks[1, 501:510] = True  # 9 source rows, starting between two network rows
    letterbox = Letterbox.fit((720, 1280), (384, 640))
    boxed = truth_masks(masks, letterbox, multiclass=True)
    assert boxed.shape == (2, 384, 640) and boxed.dtype == bool
    assert not boxed[:, :12].any() and not boxed[:, -12:].any()
    lane_rows = np.flatnonzero(boxed[1].any(axis=1)) - 12
    assert lane_rows.tolist() == [250, 251, 252, 253, 254]  # half-covered row 250 counts
    assert not (boxed[0] & boxed[1]).any() and not boxed[0, 12 + 250 : 12 + 255].any()
    assert boxed[0, 12 + 200 : 12 + 250].all()
    nearest = letterbox.masks_to_network(masks, labels=False)
    assert np.flatnonzero(nearest[1].any(axis=1)).size == 4
    separate = truth_masks(masks, letterbox, multiclass=False)
    assert separate[0, 12 + 250 : 12 + 255].all()  # not exclusive outside multiclass mode
    assert exclusive_masks(masks)[1].sum() == masks[1].sum()


def test_training_examples_are_reproducible(tmp_path, synthetic_dataset) -> None:  # noqa: F811
    project = load_project(write_project(tmp_path / "p.yaml", mosaic=0.5), synthetic_dataset)
    samples, _ = checked_samples(project, "train", skip_invalid=False)
    transform = ImageTransform((128, 256), project.mean, project.std)
    dataset = TrainDataset(samples, transform, True, project.augment, seed=7)
    first = dataset[1]
    assert first["image"].shape == (3, 128, 256) and first["masks"].shape == (2, 128, 256)
    assert set(np.unique(first["masks"].numpy())) <= {0, 1}
    again = dataset[1]
    assert all(np.array_equal(first[k].numpy(), again[k].numpy()) for k in first)
    dataset.epoch = 1
    assert not np.array_equal(first["image"].numpy(), dataset[1]["image"].numpy())
