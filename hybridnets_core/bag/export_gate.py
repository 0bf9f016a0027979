"""An accuracy gate on exports: a new .onnx is written under a temporary name, compared with the
model it came from on a bag's frames (`agreement`), and moved to its final name only when the
agreement drops no more than allowed below 1.0; a refused export leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, OutputError
from ..inference.pipeline import Pipeline
from .agreement import AgreementMetrics, ReferenceRun
from .reader import BagReader
from .replay import IMAGE_TYPES, ReplayOptions, replay_bag

DEFAULT_MAX_DROP = 0.1
DEFAULT_TOPIC = "/camera/image_raw"


@dataclass(frozen=True)
class ExportGate:
    """The bag and image topic to compare on, and the most the agreement score (min of
    detection F1, drivable IoU and lane IoU) may fall below 1.0."""

    bag: Path
    topic: str = DEFAULT_TOPIC
    max_drop: float = DEFAULT_MAX_DROP

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_drop <= 1.0:
            raise ConfigError(f"--max-drop must lie in 0..1, got {self.max_drop}")
        if not self.bag.exists():
            raise ConfigError(
                f"--gate-bag {self.bag} does not exist; pass a rosbag2 folder or file"
            )
        with BagReader(self.bag) as bag:  # a wrong topic fails before the export runs
            bag.require(self.topic, IMAGE_TYPES)


def compare_on_bag(
    bag_path: Path,
    topic: str,
    candidate: Pipeline,
    reference: Pipeline,
    reference_name: str,
    batch_size: int = 1,
) -> AgreementMetrics:
    """Replay a bag through both models (node defaults for the outputs) and compare them; the
    output bag goes to a temporary folder and is discarded."""
    options = ReplayOptions(image_topic=topic, batch_size=batch_size)
    run = ReferenceRun(reference, options.outputs, candidate.class_names, reference_name)
    scratch = tempfile.TemporaryDirectory(prefix="hybridnets-agreement-")
    with scratch, BagReader(bag_path) as bag:
        replay_bag(
            bag, candidate, Path(scratch.name) / "bag", options, progress=False, reference=run
        )
    return run.metrics


def gate_check(candidate: Path, reference: Pipeline, gate: ExportGate) -> dict[str, Any]:
    """The export's agreement with the reference on the gate's bag (report's agreement
    section, without the worst frames); OutputError with the numbers when it drops too far."""
    pipeline = Pipeline.from_weights(
        candidate,
        backend="onnxruntime",
        detection=reference.detection,
        mask_resolution=reference.mask_resolution,
    )
    metrics = compare_on_bag(gate.bag, gate.topic, pipeline, reference, "the exported weights")
    summary = metrics.summary()
    del summary["worst_frames"]
    drop = 1.0 - summary["score"]
    if drop > gate.max_drop:
        raise OutputError(
            f"export refused: agreement with its weights on {gate.bag} is {summary['score']:.4f}"
            f" (detection F1 {summary['detection']['f1']}, drivable IoU "
            f"{summary['drivable_iou']}, lane IoU {summary['lane_iou']}; {metrics.frames} frames),"
            f" a drop of {drop:.4f} > --max-drop {gate.max_drop:g}; nothing was written"
        )
    return summary


def gated_write(
    write: Callable[[Path], list[Path]],
    output: Path,
    check: Callable[[Path], dict[str, Any]],
) -> tuple[list[Path], dict[str, Any]]:
    """Run `write(staged_output)` in a temporary folder beside `output`, `check` the staged
    file, then move every file written into output's folder (the .onnx under output's name).
    Returns the final paths and the check's result; on any failure nothing is left."""
    output.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{output.stem}.gate-", dir=output.parent))
    try:
        staged = stage / output.name
        written = write(staged)
        verdict = check(staged)
        final = []
        for path in written:
            target = output.parent / path.relative_to(stage)
            os.replace(path, target)
            final.append(target)
        return final, verdict
    finally:
        shutil.rmtree(stage, ignore_errors=True)
