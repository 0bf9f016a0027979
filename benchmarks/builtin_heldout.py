"""Held-out accuracy of a model on synthetic scenes it never saw, under both val protocols.

The held-out set is `hybridnets synth --train 0 --val 300 --seed 7 --size 640x360` (the
built-in model trains on seed 1); `hybridnets val` scores it at the model's input size under
the paper protocol and under `--protocol coco`. One JSON holds the model, the data and both
reports.

    python benchmarks/builtin_heldout.py --out benchmarks/results/builtin_heldout.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from machine import machine_info

from hybridnets_core.cli.main import main as cli
from hybridnets_core.fileio import write_json
from hybridnets_core.model.checkpoint import BUILTIN_WEIGHTS

REPO = Path(__file__).resolve().parent.parent
PROJECT = REPO / "config" / "synthetic.yaml"
PROTOCOLS = ("paper", "coco")


def heldout_command(folder: Path, scenes: int) -> list[str]:
    return ["synth", "--out", str(folder), "--train", "0", "--val", str(scenes), "--seed", "7",
            "--size", "640x360"]  # fmt: skip


def evaluate(weights: Path, data: Path, input_size: str, protocol: str, out: Path) -> dict:
    """`hybridnets val` under one protocol; its JSON report."""
    command = ["val", "-p", str(PROJECT), "--data", str(data), "-w", str(weights),
               "--image-size", input_size, "--protocol", protocol, "--out", str(out)]  # fmt: skip
    if cli(command) != 0:
        raise SystemExit(f"hybridnets val failed under the {protocol} protocol")
    return json.loads((out / "metrics.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-w", "--weights", type=Path, default=BUILTIN_WEIGHTS)
    parser.add_argument("--image-size", default="512x256", help="WxH the model runs at")
    parser.add_argument("--scenes", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/builtin_heldout.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="heldout_") as scratch:
        data = Path(scratch) / "heldout"
        if cli(heldout_command(data, args.scenes)) != 0:
            raise SystemExit("hybridnets synth failed")
        protocols: dict[str, Any] = {
            protocol: evaluate(
                args.weights, data, args.image_size, protocol, Path(scratch) / protocol
            )
            for protocol in PROTOCOLS
        }
    report = {
        "weights": str(args.weights.resolve().relative_to(REPO))
        if args.weights.resolve().is_relative_to(REPO)
        else str(args.weights),
        "weights_sha256": hashlib.sha256(args.weights.read_bytes()).hexdigest(),
        "input_size": args.image_size,
        "data": "hybridnets " + " ".join(heldout_command(Path("heldout"), args.scenes)),
        "protocols": protocols,
        "machine": machine_info(),
    }
    write_json(args.out, report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
