#!/usr/bin/env python3
"""Build the built-in default model from scratch with our own CLI, in one resumable command.

Stages (each a `hybridnets` command, run as a child process): synthetic training and held-out
data, three training stages (from scratch at 384x256 lr 1e-3, then lr 1e-4, then lr 1e-4 at
512x256), BatchNorm calibration, the slim fp16 model and its held-out report under the paper
and COCO protocols. Everything lives in one work folder with a state file; run the same command
again after an interruption and finished stages are skipped, an unfinished training stage
resumes from its last.pth (`-w last`), and the model and report are written atomically.

Usage: python scripts/build_default_model.py [--work DIR] [--out MODEL.pth] [--smoke]
       [--stop-after STAGE] [--dry-run]   (docs/training.md, "The built-in default model")
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# This checkout's package, in this process and its children: the one whose commit the report names.
sys.path.insert(0, str(ROOT))

from hybridnets_core.cli.arg_types import non_negative_int, positive_int  # noqa: E402
from hybridnets_core.errors import ConfigError, HybridNetsError  # noqa: E402
from hybridnets_core.fileio import folder_lock, write_json  # noqa: E402
from hybridnets_core.provenance import git_commit  # noqa: E402

PROJECT = ROOT / "config" / "synthetic.yaml"
CLI = (sys.executable, "-m", "hybridnets_core.cli.main")
STATE_FILE = "state.json"
PROTOCOLS = ("paper", "coco")
CTRL_C_GRACE_S = 2  # for a child to end on the Ctrl-C it got with the build, before SIGINT
STOP_GRACE_S = 60  # for a child to stop after SIGINT, before it is killed
INTERRUPTED = (130, -signal.SIGINT)  # exit statuses of a child stopped by Ctrl-C


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the model except the seed and --epochs-a (which may grow); a
    work folder is built with one recipe."""

    train_scenes: int = 3000
    val_scenes: int = 150
    heldout_scenes: int = 300
    scene_size: str = "640x360"
    data_seed: int = 1
    heldout_seed: int = 7
    compound_coef: int = 0
    batch_size: int = 8
    size_ab: str = "384x256"  # network input of stages A and B
    size_c: str = "512x256"  # network input of stage C, calibration and evaluation
    lr_a: float = 1e-3
    lr_fine: float = 1e-4  # stages B and C
    epochs_b: int = 2
    epochs_c: int = 2
    bn_batches: int = 50
    bn_batch_size: int = 8
    epochs_a: int = 16  # the default of --epochs-a, which is not bound to a work folder


FULL = Recipe()
SMOKE = Recipe(  # one step of 4 frames per training stage: seconds, not a useful model
    train_scenes=4,
    val_scenes=2,
    heldout_scenes=4,
    scene_size="320x180",
    batch_size=4,
    size_ab="256x128",
    size_c="384x128",
    epochs_b=1,
    epochs_c=1,
    bn_batches=2,
    bn_batch_size=2,
    epochs_a=1,
)


def settings_of(recipe: Recipe, seed: int) -> dict[str, Any]:
    """What a work folder is bound to (the recipe without --epochs-a, and the seed)."""
    values = asdict(recipe)
    del values["epochs_a"]
    return {"recipe": values, "seed": seed}


def shown(argv: list[str]) -> str:
    """A child's command line as a user would type it."""
    if tuple(argv[: len(CLI)]) == CLI:
        argv = ["hybridnets", *argv[len(CLI) :]]
    return shlex.join(argv)


def run_child(argv: list[str]) -> int:
    """Run one command with this checkout's package first on its path; when the build is
    interrupted (Ctrl-C, or SIGTERM turned into KeyboardInterrupt) the child is stopped too."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ":".join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    process = subprocess.Popen(argv, env=env)
    try:
        return process.wait()
    finally:
        if process.poll() is None:
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """End a child of an interrupted build: a terminal's Ctrl-C reached it too, SIGTERM to the
    build did not; it stops as Ctrl-C stops it (its files are written atomically)."""
    try:
        process.wait(timeout=CTRL_C_GRACE_S)
        return
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Stage:
    """One step of the build: commands to run and the files that mark it finished."""

    name: str
    commands: list[list[str]]
    outputs: list[Path]

    def pending(self, record: dict[str, Any], redo: bool) -> bool:
        """Run it unless it finished with these outputs and nothing before it ran again."""
        finished = record.get("done") and record.get("outputs") == [str(p) for p in self.outputs]
        return redo or not finished or not all(p.exists() for p in self.outputs)

    def describe(self) -> str:
        """How a pending stage starts (for the progress line)."""
        return "running"

    def prepare(self) -> None:
        """Get ready to run (nothing by default)."""

    def planned(self) -> list[list[str]]:
        """The commands this run of the stage executes."""
        return self.commands

    def fresh(self) -> bool:
        """Whether this run starts the stage over (its earlier wall time no longer counts)."""
        return True

    def finish(self, seconds: dict[str, float]) -> None:
        """Work after the commands (nothing by default)."""


@dataclass
class TrainStage(Stage):
    """`hybridnets train` to epoch `epochs` in run_dir, from `start` weights, resumed with
    `-w last` while its last.pth is below that epoch."""

    run_dir: Path = Path()
    epochs: int = 0
    start: Path | None = None
    reached: int = field(default=0, init=False)

    def trained_epoch(self) -> int:
        """The epoch this run's last.pth finished (0 without one)."""
        from hybridnets_core.model.checkpoint import load_torch_file

        last = self.run_dir / "last.pth"
        if not last.is_file():
            return 0
        data = load_torch_file(last)
        if not isinstance(data, dict) or not isinstance(data.get("epoch"), int):
            raise ConfigError(f"{last} is not a training checkpoint; delete {self.run_dir}")
        return data["epoch"]

    def pending(self, record: dict[str, Any], redo: bool) -> bool:
        if redo:  # trained from inputs that are rebuilt: start over
            self.reached = 0
            return True
        self.reached = self.trained_epoch()
        if self.reached > self.epochs:
            raise ConfigError(
                f"{self.run_dir} is already trained to epoch {self.reached}, past the "
                f"{self.epochs} asked for; pass that many epochs or another --work"
            )
        return self.reached < self.epochs

    def describe(self) -> str:
        if self.reached:
            return f"resuming at epoch {self.reached} of {self.epochs}"
        return f"training to epoch {self.epochs}"

    def prepare(self) -> None:
        if not self.reached and self.run_dir.exists():
            shutil.rmtree(self.run_dir)  # no finished epoch, or one of rebuilt inputs

    def planned(self) -> list[list[str]]:
        weights = "last" if self.reached else str(self.start) if self.start else None
        extra = ["--num_epochs", str(self.epochs), *(["-w", weights] if weights else [])]
        return [[*command, *extra] for command in self.commands]

    def fresh(self) -> bool:
        return not self.reached


@dataclass
class ReportStage(Stage):
    """Both protocols' held-out metrics, the stages' wall times, the commit and the arguments,
    as one JSON file written atomically."""

    model: Path = Path()
    val_dirs: dict[str, Path] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    commands_of: dict[str, list[str]] = field(default_factory=dict)  # each stage's, uninterrupted

    def finish(self, seconds: dict[str, float]) -> None:
        from hybridnets_core.model.weights import sha256_of

        protocols = {
            name: json.loads((folder / "metrics.json").read_text())
            for name, folder in self.val_dirs.items()
        }
        report = {
            "model": {"path": str(self.model), "sha256": sha256_of(self.model)},
            **self.context,
            "protocols": protocols,
            "stages": {
                name: {"commands": commands, "seconds": round(seconds.get(name, 0.0), 1)}
                for name, commands in self.commands_of.items()
            },
        }
        write_json(self.outputs[0], report)


def hybridnets(*words: object) -> list[str]:
    """The argv of one `hybridnets` command run by this interpreter."""
    return [*CLI, *map(str, words)]


def plan(args: argparse.Namespace, recipe: Recipe) -> list[Stage]:
    """The build's stages in order; every path is inside the work folder except the model
    and the report."""
    work: Path = args.work
    data, heldout, runs = work / "synth", work / "heldout", work / "runs"
    calibrated, val_dirs = work / "calibrated.pth", {p: work / "val" / p for p in PROTOCOLS}
    project, loaders = ("-p", PROJECT), ("-n", args.workers)

    def synth(out: Path, train: int, val: int, seed: int) -> list[str]:
        return hybridnets("synth", "--out", out, "--train", train, "--val", val,
                          "--seed", seed, "--size", recipe.scene_size,
                          "--workers", max(args.workers, 1))  # fmt: skip

    def train(name: str, size: str, lr: float, epochs: int, start: Path | None) -> TrainStage:
        command = hybridnets("train", *project, "--data", data, "-c", recipe.compound_coef,
                             "-b", recipe.batch_size, *loaders, "--image-size", size, "--lr", lr,
                             "--val_interval", 0, "--seed", args.seed, "--device", args.device,
                             "--saved_path", runs, "--name", name)  # fmt: skip
        run_dir = runs / name
        return TrainStage(name, [command], [run_dir / "last.pth"], run_dir, epochs, start)

    def evaluate(protocol: str) -> list[str]:
        return hybridnets("val", *project, "--data", heldout, "--image-size", recipe.size_c,
                          "-w", args.out, "--protocol", protocol, *loaders,
                          "--device", args.device, "--out", val_dirs[protocol])  # fmt: skip

    synth_data = synth(data, recipe.train_scenes, recipe.val_scenes, recipe.data_seed)
    synth_heldout = synth(heldout, 0, recipe.heldout_scenes, recipe.heldout_seed)
    stage_a = train("train-a", recipe.size_ab, recipe.lr_a, args.epochs_a, None)
    stage_b = train("train-b", recipe.size_ab, recipe.lr_fine, recipe.epochs_b, stage_a.outputs[0])
    stage_c = train("train-c", recipe.size_c, recipe.lr_fine, recipe.epochs_c, stage_b.outputs[0])
    calibrate = hybridnets("calibrate-bn", *project, "--data", data, "--image-size", recipe.size_c,
                           "-w", stage_c.outputs[0], "-o", calibrated, "--batches",
                           recipe.bn_batches, "-b", recipe.bn_batch_size, *loaders,
                           "--seed", args.seed)  # fmt: skip
    slim = hybridnets("weights", "slim", calibrated, args.out, "--half")
    context = {
        "data": {"train": shown(synth_data), "heldout": shown(synth_heldout)},
        "git": git_commit(ROOT),
        "command": shown([sys.executable, *sys.argv]),
        "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "recipe": {**asdict(recipe), "epochs_a": args.epochs_a},
    }
    report = ReportStage(
        "report", [evaluate(p) for p in PROTOCOLS], [args.report], args.out, val_dirs, context
    )
    stages = [
        Stage("synth", [synth_data], [data / "synth.json"]),
        Stage("heldout", [synth_heldout], [heldout / "synth.json"]),
        stage_a,
        stage_b,
        stage_c,
        Stage("calibrate", [calibrate], [calibrated]),
        Stage("model", [slim], [args.out]),
        report,
    ]
    report.commands_of = {s.name: [shown(c) for c in s.planned()] for s in stages}
    return stages


class BuildState:
    """The work folder's state file: the settings it was started with and, per stage, whether
    it finished, with which outputs, and its wall time summed over all pieces of the build."""

    def __init__(self, path: Path, settings: dict[str, Any]) -> None:
        self.path = path
        self.data: dict[str, Any] = {"settings": settings, "stages": {}}
        if path.is_file():
            try:
                saved = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"cannot read {path} ({exc}); delete it or use another --work"
                ) from None
            if saved.get("settings") != settings:
                raise ConfigError(
                    f"{path.parent} was started with other settings "
                    f"({_difference(saved.get('settings'), settings)}); rerun with the options "
                    "it was started with (--smoke, --seed) or use another --work"
                )
            self.data = saved

    def record(self, name: str) -> dict[str, Any]:
        return self.data["stages"].setdefault(name, {"done": False, "seconds": 0.0})

    def seconds(self) -> dict[str, float]:
        return {name: record["seconds"] for name, record in self.data["stages"].items()}

    def save(self) -> None:
        write_json(self.path, self.data)


def _difference(saved: Any, wanted: dict[str, Any]) -> str:
    """The first setting that differs, for the error message."""
    saved_flat = {**(saved or {}).get("recipe", {}), "seed": (saved or {}).get("seed")}
    wanted_flat = {**wanted["recipe"], "seed": wanted["seed"]}
    for key, value in wanted_flat.items():
        if saved_flat.get(key) != value:
            return f"{key} {saved_flat.get(key)!r}, not {value!r}"
    return "an unreadable record"


class StageError(HybridNetsError):
    """A stage's command exited with an error (its own message is above)."""


def run_stage(stage: Stage, record: dict[str, Any], state: BuildState) -> None:
    """Run a pending stage, adding its wall time to the record even when interrupted."""
    stage.prepare()
    if stage.fresh():
        record["seconds"] = 0.0
    record["done"] = False
    state.save()
    started = time.monotonic()
    try:
        for command in stage.planned():
            code = run_child(command)
            if code in INTERRUPTED:
                raise KeyboardInterrupt
            if code != 0:
                raise StageError(f"stage {stage.name} failed (exit {code}): {shown(command)}")
        record["seconds"] += time.monotonic() - started
        started = time.monotonic()
        stage.finish(state.seconds())
        record.update(done=True, outputs=[str(p) for p in stage.outputs])
    finally:
        record["seconds"] += time.monotonic() - started
        state.save()


def build(args: argparse.Namespace) -> int:
    """Run (or, with --dry-run, print) every stage that is not finished yet, in order."""
    recipe = SMOKE if args.smoke else FULL
    stages = plan(args, recipe)
    state = BuildState(args.work / STATE_FILE, settings_of(recipe, args.seed))
    began, redo = time.monotonic(), False
    for index, stage in enumerate(stages, 1):
        prefix = f"[{index}/{len(stages)}] {stage.name}:"
        record = state.record(stage.name)
        if not stage.pending(record, redo):
            print(f"{prefix} already done, skipped", flush=True)
        else:
            redo = True  # every later stage builds on this one's new output
            if args.dry_run:
                print(f"{prefix} {stage.describe()}:", *map(shown, stage.planned()), sep="\n  ")
            else:
                print(f"{prefix} {stage.describe()}", flush=True)
                run_stage(stage, record, state)
                print(
                    f"{prefix} done in {record['seconds']:.1f} s "
                    f"(build {time.monotonic() - began:.1f} s so far)",
                    flush=True,
                )
        if stage.name == args.stop_after:
            print(f"stopped after {stage.name}; run the same command again to continue")
            return 0
    if not args.dry_run:
        print(f"model {args.out}, report {args.report}")
    return 0


def _raise_interrupt(signum: int, frame: Any) -> None:
    """SIGTERM handler: stop the way Ctrl-C stops (children stopped, state saved)."""
    raise KeyboardInterrupt


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The options, with --epochs-a, --out and --report defaults filled in."""
    parser = argparse.ArgumentParser(
        description="Build the built-in default model from scratch (resumable: run it again "
        "to continue).",
    )
    parser.add_argument(
        "--work", type=Path, default=Path("build/default_model"), help="work folder"
    )
    parser.add_argument("--out", type=Path, default=None, help="model to write (WORK/default.pth)")
    parser.add_argument(
        "--report", type=Path, default=None, help="report JSON (next to --out: *_val_heldout.json)"
    )
    parser.add_argument(
        "--epochs-a", type=positive_int, default=None, help="stage A epochs (16; --smoke: 1)"
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="training and calibration seed (0)"
    )
    parser.add_argument(
        "--workers", type=non_negative_int, default=1, help="loader (and synth) processes (1)"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda (cpu)")
    parser.add_argument("--smoke", action="store_true", help="tiny data and epochs (a test)")
    parser.add_argument(
        "--stop-after",
        choices=("synth", "heldout", "train-a", "train-b", "train-c", "calibrate", "model"),
        help="stop after this stage (run in pieces)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print what would run")
    args = parser.parse_args(argv)
    if args.epochs_a is None:
        args.epochs_a = (SMOKE if args.smoke else FULL).epochs_a
    args.out = args.out or args.work / "default.pth"
    args.report = args.report or args.out.with_name(f"{args.out.stem}_val_heldout.json")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    # A build started in the background (`nohup ... &`) inherits SIGINT ignored, and its children
    # would too: with a handler here they start with the default and stop on the SIGINT it sends.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        if args.dry_run:
            return build(args)
        with folder_lock(args.work):
            return build(args)
    except HybridNetsError as exc:
        print(f"build_default_model: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "build_default_model: interrupted; run the same command again to continue",
            file=sys.stderr,
        )
        return INTERRUPTED[0]


if __name__ == "__main__":
    sys.exit(main())
