"""What bag-eval's label-free scores add per frame: stability, the camera pose check and the
agreement with a reference model (its forward pass aside), against the frame's own work.

Frames of a synthetic drive (with the ego pose in odom, so stability warps the ground grids)
go through the built-in model as bag-eval runs them: the Pipeline, then the camera session's
outputs with the ground grid. The timed extras are StabilityMetrics.update, CalibrationFeed.add
(sampling every `every_n_frames` as in bag-eval) and, for the agreement, the reference's outputs
and the comparison (the reference's forward pass runs outside the timed part). The reference is
the same built-in model: what is timed does not depend on which model it is. Writing the output
bag is not timed, so the fractions are upper bounds. JSON out.

  python benchmarks/bag_eval_overhead.py --frames 40 --out bag_eval_overhead.json
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from machine import machine_info

from hybridnets_core.bag.agreement import REFERENCE_OUTPUTS, AgreementMetrics
from hybridnets_core.bag.drive import SyntheticDrive
from hybridnets_core.bag.stability import StabilityMetrics
from hybridnets_core.bag.typestore import RosbagsFactory
from hybridnets_core.fileio import write_json
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.outputs import messages
from hybridnets_core.outputs.frame import RECORDED_OUTPUTS
from hybridnets_core.outputs.settings import GroundSettings, OutputSettings
from hybridnets_core.scene.calibration_check import CalibrationCheckSettings
from hybridnets_core.scene.ego_motion import EgoPose
from hybridnets_core.scene.ground import PinholeParameters
from hybridnets_core.serving.calibration import CalibrationFeed
from hybridnets_core.serving.session import CameraImage, CameraSession

SIZE = (640, 360)
STEP_NS = 100_000_000  # 10 Hz


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3, help="first frames, not timed")
    parser.add_argument("--out", type=Path, default=Path("bag_eval_overhead.json"))
    args = parser.parse_args()
    drive = SyntheticDrive(seed=3, size=SIZE, fps=10.0)
    camera = drive.intrinsics
    ground = GroundSettings(
        intrinsics=PinholeParameters(fx=camera.fx, fy=camera.fy, cx=camera.cx, cy=camera.cy)
    )
    settings = OutputSettings(ground=ground)
    pipeline = Pipeline.from_weights(None)
    factory = RosbagsFactory()
    sessions = [CameraSession(factory, settings, pipeline.class_names) for _ in "ab"]
    stability, agreement = StabilityMetrics(), AgreementMetrics(pipeline.class_names, "itself")
    calibration = CalibrationFeed(CalibrationCheckSettings())
    names = ("pipeline", "outputs", "stability", "calibration", "agreement")
    times: dict[str, list[float]] = {name: [] for name in names}
    for index in range(args.warmup + args.frames):
        scene, truth = drive.render_with_truth(index)
        header = messages.header(factory, index * STEP_NS, "camera_optical")
        image = CameraImage(scene.image, "bgr", header, index * STEP_NS, 0.0)
        start = time.perf_counter()
        result = pipeline(image.pixels)
        inferred = time.perf_counter()
        made = sessions[0].process(result, image, RECORDED_OUTPUTS, ground_grid=True)
        built = time.perf_counter()
        stability.update(made, EgoPose(truth.ego.x, truth.ego.y, truth.ego.yaw))
        steady = time.perf_counter()
        calibration.add(sessions[0], made, ground.camera)
        checked = time.perf_counter()
        reference = pipeline(image.pixels)  # the reference's forward pass: not timed
        compared = time.perf_counter()
        theirs = sessions[1].process(reference, image, REFERENCE_OUTPUTS)
        agreement.update(index, image, made, theirs)
        done = time.perf_counter()
        if index < args.warmup:
            continue
        for name, value in zip(
            names,
            (inferred - start, built - inferred, steady - built, checked - steady, done - compared),
            strict=True,
        ):
            times[name].append(value * 1000)
    medians = {name: statistics.median(values) for name, values in times.items()}
    means = {name: float(np.mean(values)) for name, values in times.items()}
    # typical frame: medians; the pose check runs on one frame in every_n_frames, so its mean
    typical = {**medians, "calibration": means["calibration"]}
    own = typical["pipeline"] + typical["outputs"]
    extras = ("stability", "calibration", "agreement")
    report = {
        "frames": args.frames,
        "image_size": list(SIZE),
        "calibration_every_n_frames": calibration.settings.every_n_frames,
        "per_frame_ms": {
            name: {"median": round(medians[name], 3), "mean": round(means[name], 3)}
            for name in names
        },
        "fraction_of_frame": {name: round(typical[name] / own, 4) for name in extras},
        "label_free_fraction": round(sum(typical[name] for name in extras) / own, 4),
        "machine": machine_info(),
    }
    print(report["per_frame_ms"], report["label_free_fraction"])
    write_json(args.out, report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
