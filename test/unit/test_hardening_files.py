"""Hostile and broken files and flags: every case ends in one clear line, nothing stale stays.

CLI cases run as real child processes (test/cli_forks.py): exit code 2, one stderr line
`hybridnets COMMAND: error: ...`, no traceback, and a hang counts as a failure (SIGALRM).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from cli_forks import ROOT, run_cli_processes
from dataset_fixtures import (
    alias_bomb,
    make_dataset,
    plain_project,  # noqa: F401 (fixture)
    synthetic_dataset,  # noqa: F401 (fixture)
)

from hybridnets_core.bag.reader import BagReader
from hybridnets_core.bag.typestore import typestore
from hybridnets_core.bag.writer import BAG_VERSION, BagWriter
from hybridnets_core.cli.main import main
from hybridnets_core.data import checked_samples, load_project
from hybridnets_core.errors import ConfigError, DatasetError, InputError, OutputError
from hybridnets_core.fileio import (
    atomic_output,
    discard_unfinished,
    folder_lock,
    scratch_folder,
    write_image,
    write_json,
)
from hybridnets_core.limits import MAX_BOXES_PER_EXAMPLE, MAX_BOXES_PER_IMAGE, MAX_YAML_DEPTH
from hybridnets_core.training.assign import assign
from hybridnets_core.training.logs import EpochLog

STRING = "std_msgs/msg/String"
CAMERA = "/camera/image_raw"


# ---------------------------------------------------------------- files the cases read


def project_variants(root: Path) -> dict[str, Path]:
    """Broken project files, each with the phrase its error must contain."""
    root.mkdir()
    good = "obj_list: [car]\nseg_list: [road, lane]\n"
    files = {
        "is a folder": root / "folder.yaml",
        "not UTF-8": root / "latin1.yaml",
        "model.image_size": root / "scalar_size.yaml",
        "expands to more than": alias_bomb(root / "bomb.yaml"),
        "nested deeper than": root / "deep.yaml",
        "symbolic link loop": root / "loop.yaml",
        "not a regular file": root / "fifo.yaml",
        "larger than": root / "huge.yaml",
        "model must be a mapping": root / "model_scalar.yaml",
        "mean must hold finite numbers": root / "nan_mean.yaml",
        "obj_list must be a list of names": root / "obj_mapping.yaml",
        "refers to a node that contains it": root / "recursive.yaml",
    }
    files["is a folder"].mkdir()
    files["not UTF-8"].write_bytes(("obj_list: [caf\xe9]\n" + good).encode("latin-1"))
    files["model.image_size"].write_text(good + "model:\n  image_size: 640\n")
    files["nested deeper than"].write_text(good + "deep: " + "[" * 50_000 + "]" * 50_000 + "\n")
    os.symlink(root / "loop_b.yaml", files["symbolic link loop"])
    os.symlink(files["symbolic link loop"], root / "loop_b.yaml")
    os.mkfifo(files["not a regular file"])
    files["larger than"].write_text(good + "# padding\n" * 200_000)
    files["model must be a mapping"].write_text(good + "model: 5\n")
    files["mean must hold finite numbers"].write_text(good + "mean: [.nan, 0.5, 0.5]\n")
    files["obj_list must be a list of names"].write_text("obj_list: {car: 1}\nseg_list: [road]\n")
    files["refers to a node that contains it"].write_text(good + "loop: &a [1, *a]\n")
    return files


def write_tiny_bag(path: Path) -> Path:
    """A real MCAP bag written by rosbags (through our writer) with three String messages."""
    message = typestore().types[STRING]
    with BagWriter(path) as writer:
        for index in range(3):
            writer.write("/chatter", STRING, 1_000 + index, message(data=f"m{index}"))
    return path


def chunk_size_offsets(data: bytes) -> list[int]:
    """Byte offsets of `compressed_size` in every ChunkIndex record (op 0x08) of an MCAP
    file's summary section (located through the footer: summary_start, summary_offset_start,
    summary_crc, magic)."""
    summary_start = struct.unpack_from("<Q", data, len(data) - 28)[0]
    offsets, position = [], summary_start
    while position < len(data) - 37:  # the footer record and magic close the file
        opcode, length = data[position], struct.unpack_from("<Q", data, position + 1)[0]
        body = position + 9
        if opcode == 0x08:
            field = body + 32  # message start/end time, chunk start offset, chunk length
            field += 4 + struct.unpack_from("<I", data, field)[0] + 8  # offsets map, index len
            field += 4 + struct.unpack_from("<I", data, field)[0]  # compression name
            offsets.append(field)
        position = body + length
    return offsets


def patched_bag(source: Path, target: Path, declared: int) -> Path:
    """A copy of `source` whose first ChunkIndex declares `declared` compressed bytes."""
    shutil.copytree(source, target)
    (mcap,) = target.glob("*.mcap")
    data = bytearray(mcap.read_bytes())
    offsets = chunk_size_offsets(bytes(data))
    assert offsets, "the bag has no chunk index"
    struct.pack_into("<Q", data, offsets[0], declared)
    mcap.write_bytes(bytes(data))
    return target


def untrusted_checkpoint(path: Path) -> Path:
    """A .pth whose pickle calls a function when loaded with weights_only=False."""

    class Payload:
        def __reduce__(self):
            return (print, ("this code ran",))

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": Payload(), "epoch": 3}, path)
    return path


# ---------------------------------------------------------------- the command lines


@pytest.fixture(scope="module")
def tiny_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real two-frame MCAP drive written by `hybridnets synth-bag` (rosbags underneath)."""
    bag = tmp_path_factory.mktemp("bag") / "drive"
    assert main(["synth-bag", "--out", str(bag), "--frames", "2", "--size", "64x32"]) == 0
    return bag


def test_bad_files_and_flags_give_one_line(
    tmp_path,
    small_checkpoint,
    dashcam_paths,
    synthetic_dataset,  # noqa: F811
    plain_project,  # noqa: F811
    tiny_bag,
) -> None:
    projects = project_variants(tmp_path / "projects")
    bomb = projects["expands to more than"]
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder is expected")
    folder = tmp_path / "a_folder"
    folder.mkdir()
    image = dashcam_paths[0]
    untrusted_checkpoint(tmp_path / "runs_evil" / "synthetic" / "last.pth")
    plain_state = tmp_path / "runs_plain" / "synthetic" / "last.pth"
    plain_state.parent.mkdir(parents=True)
    torch.save({"conv.weight": torch.zeros(1)}, plain_state)
    data = ("--data", synthetic_dataset)
    train = ("train", "-p", plain_project, *data, "-c", "0", "-n", "0", "--no-progress")
    weights = ("-w", small_checkpoint)
    cases: list[tuple[str, tuple[object, ...], str]] = [
        # project files that are unreadable or hostile, through every reader
        *[("train", ("train", "-p", path, *data), phrase) for phrase, path in projects.items()],
        ("val", ("val", "-p", bomb, *data, *weights), "expands to more than"),
        ("bag-eval", ("bag-eval", "--bag", tiny_bag, "--topic", "/x", "--out", tmp_path / "e",
                      "-p", bomb, *weights), "expands to more than"),
        ("autoanchor", ("autoanchor", "-p", bomb, *data), "expands to more than"),
        ("calibrate-bn", ("calibrate-bn", "-p", projects["not UTF-8"], *data, *weights,
                          "-o", tmp_path / "c.pth"), "not UTF-8"),
        # flags out of range
        ("train", (*train, "-b", "0"), "--batch_size: expected an integer >= 1, got '0'"),
        ("train", (*train, "-n", "-1"), "--num_workers: expected an integer >= 0"),
        ("train", (*train, "--lr", "nan"), "--lr: expected a finite number > 0, got 'nan'"),
        ("train", (*train, "--lr", "-1"), "--lr: expected a finite number > 0"),
        ("train", (*train, "-c", "9"), "--compound_coef: expected an integer >= 0 and <= 8"),
        ("train", (*train, "--conf_thres", "2"), "--conf_thres"),
        ("calibrate-bn", ("calibrate-bn", "-p", plain_project, *weights, "-o", folder / "x",
                          "-b", "1"), "--batch_size >= 2"),
        ("calibrate-bn", ("calibrate-bn", "-p", plain_project, *weights, "-o", folder / "x",
                          "--batches", "0"), "--batches: expected an integer >= 1"),
        ("autoanchor", ("autoanchor", "-p", plain_project, "-c", "-1"), "--compound_coef"),
        ("synth", ("synth", "--out", tmp_path / "s", "--size", "99999x99999"), "32..8192"),
        ("synth", ("synth", "--out", tmp_path / "s", "--workers", "0"), "--workers"),
        ("synth", ("synth", "--out", tmp_path / "s", "--train", "-1"), "--train"),
        ("synth-bag", ("synth-bag", "--out", tmp_path / "b", "--size", "0x0"), "each side 32"),
        ("synth-bag", ("synth-bag", "--out", tmp_path / "b", "--fps", "0"), "--fps"),
        ("weights", ("weights", "download", "--url", "abc", "--dest", tmp_path / "w.pth"),
         "is not a download address"),
        # outputs that cannot be written
        ("predict", ("predict", *weights, "--source", image, "--output", blocker / "out"),
         "blocker"),
        ("synth", ("synth", "--out", blocker / "data", "--train", "1", "--val", "0"),
         "cannot create"),
        ("synth", ("synth", "--out", tmp_path / ("n" * 300), "--train", "1", "--val", "0"),
         "File name too long"),
        ("synth-bag", ("synth-bag", "--out", blocker / "bag", "--frames", "1"), "cannot"),
        ("weights", ("weights", "slim", small_checkpoint, blocker / "slim.pth"),
         "cannot create the folder"),
        ("weights", ("weights", "slim", small_checkpoint, folder), "a folder is in the way"),
        ("weights", ("weights", "download", "--url", small_checkpoint.as_uri(), "--dest", folder),
         "is a folder"),
        ("train", (*train, "--saved_path", blocker, "--image-size", "256x128"),
         "cannot create the run folder"),
        # checkpoints to resume that are unsafe or not training checkpoints
        ("train", (*train, "-w", "last", "--saved_path", tmp_path / "runs_evil"),
         "holds pickled Python objects"),
        ("train", (*train, "-w", "last", "--saved_path", tmp_path / "runs_plain"),
         "is not a training checkpoint"),
        # bags whose chunk index declares sizes no file can hold
        *[
            ("bag-eval", ("bag-eval", "--bag", patched_bag(tiny_bag, tmp_path / f"p{bits}", size),
                          "--topic", CAMERA, "--out", tmp_path / f"o{bits}", *weights),
             "truncated or corrupt")
            for bits, size in ((62, 2**62), (64, 2**64 - 1))
        ],
    ]  # fmt: skip
    outcomes = run_cli_processes([argv for _, argv, _ in cases], cwd=tmp_path)
    wrong = []
    for (command, _, phrase), outcome in zip(cases, outcomes):
        try:
            line = outcome.one_line_error(command)
            assert phrase in line, line
            assert "this code ran" not in outcome.stdout + outcome.stderr
            assert "weights_only=False" not in outcome.stderr
        except AssertionError as exc:
            wrong.append(f"{' '.join(outcome.argv)}\n    {exc}")
    assert not wrong, "\n".join(wrong)
    assert not (tmp_path / "o62" / "bag").exists() and not (blocker.parent / "s").exists()


def test_bad_labels_stop_training_with_the_summary(tmp_path, plain_project) -> None:  # noqa: F811
    root = make_dataset(tmp_path / "data", train=2, val=0)
    (root / "det_annot/train/train_000000.json").write_text('{"frames": [{"objects": [1]}]}')
    args = ("-p", plain_project, "--data", root, "--image-size", "256x128")
    (broken, skipped) = run_cli_processes(
        [("autoanchor", *args), ("autoanchor", *args, "--skip-invalid")]
    )
    assert broken.code == 2 and "Traceback" not in broken.stderr, broken.stderr[-2000:]
    assert broken.stderr.startswith("hybridnets autoanchor: error: dataset 'train': 2 frames")
    assert "invalid detection label (an entry of objects is not a JSON object): 1" in broken.stderr
    assert skipped.code == 0, skipped.stderr[-2000:]


# ---------------------------------------------------------------- project YAML


def test_project_loader_refuses_hostile_yaml_and_keeps_normal_anchors(tmp_path) -> None:
    with pytest.raises(ConfigError, match="expands to more than"):
        load_project(alias_bomb(tmp_path / "bomb.yaml"))
    deep = tmp_path / "deep.yaml"
    deep.write_text("obj_list: " + "[" * (MAX_YAML_DEPTH + 1) + "]" * (MAX_YAML_DEPTH + 1))
    with pytest.raises(ConfigError, match="nested deeper"):
        load_project(deep)
    shared = tmp_path / "anchors.yaml"
    shared.write_text(
        textwrap.dedent("""\
        names: &names [car, bus]
        obj_list: *names
        obj_combine: *names
        seg_list: [road]
        base: &augment {fliplr: 0.25, mosaic: 0.0}
        dataset:
          <<: *augment
          dataroot: imgs
          labelroot: det_annot
          segroot: da_seg_annot
        model: {image_size: [256, 128]}
        """)
    )
    project = load_project(shared, tmp_path)
    assert project.obj_list == ["car", "bus"] and project.augment.fliplr == 0.25
    assert project.image_size == (128, 256) and project.seg_mode == "binary"


# ---------------------------------------------------------------- labels and the box limit


def test_malformed_labels_are_invalid_frames_in_the_summary(tmp_path) -> None:
    root = make_dataset(tmp_path / "data", train=9, val=0)
    labels = root / "det_annot/train"
    box = {"x1": 10, "y1": 10, "x2": 40, "y2": 40}
    many = [{"category": "car", "box2d": box}] * (MAX_BOXES_PER_IMAGE + 1)
    unknown = [{"category": "spaceship", "box2d": box}] * (MAX_BOXES_PER_IMAGE + 1)
    broken = {
        0: ("[" * 100_000 + "]" * 100_000, "invalid detection label (nested too deeply)"),
        1: ({"frames": [{"objects": [1]}]}, "(an entry of objects is not a JSON object)"),
        2: ({"frames": [{"objects": None}]}, "(frames[0].objects is not a list)"),
        3: ({"frames": [{"objects": [{"category": ["car"], "box2d": box}]}]},
            "(a category is not a name)"),
        4: ('{"frames": [{"objects": [{"category": "car", "box2d": '
            '{"x1": NaN, "y1": 1, "x2": 9, "y2": 9}}]}]}', "(box2d coordinates are not finite)"),
        5: ({"frames": [{"objects": many}]}, f"more than {MAX_BOXES_PER_IMAGE} boxes in one"),
        6: ({"frames": [{"objects": unknown}]}, None),  # unknown categories only: usable
    }  # fmt: skip
    for index, (content, _) in broken.items():
        text = content if isinstance(content, str) else json.dumps(content)
        (labels / f"train_{index:06d}.json").write_text(text)
    project = load_project(ROOT / "config" / "synthetic.yaml", root)
    with pytest.raises(DatasetError) as caught:
        checked_samples(project, "train", skip_invalid=False)
    summary = str(caught.value)
    assert "9 frames, 3 usable, 6 with errors" in summary
    for _, phrase in broken.values():
        if phrase:
            assert f"{phrase}" in summary, phrase
    samples, _ = checked_samples(project, "train", skip_invalid=True)
    assert sorted(s.stem for s in samples) == ["train_000006", "train_000007", "train_000008"]
    assert len(next(s for s in samples if s.stem == "train_000006").boxes) == 0


def test_anchor_assignment_refuses_more_boxes_than_the_limit() -> None:
    anchors = torch.tensor([[0.0, 0.0, 32.0, 32.0]])
    boxes = torch.zeros(1, MAX_BOXES_PER_EXAMPLE + 1, 4)
    with pytest.raises(InputError, match="MAX_BOXES_PER_EXAMPLE"):
        assign(anchors, boxes, torch.zeros(1, MAX_BOXES_PER_EXAMPLE + 1, dtype=torch.int64))
    boxes = torch.tensor([[[0.0, 0.0, 32.0, 32.0]]]).expand(1, MAX_BOXES_PER_EXAMPLE, 4)
    result = assign(anchors, boxes, torch.zeros(1, MAX_BOXES_PER_EXAMPLE, dtype=torch.int64))
    assert bool(result.positive.all())


# ---------------------------------------------------------------- bags


@pytest.mark.parametrize("declared", [2**62, 2**64 - 1])
def test_chunk_index_with_impossible_size_is_a_corrupt_bag(tiny_bag, tmp_path, declared) -> None:
    bag = patched_bag(tiny_bag, tmp_path / "patched", declared)
    corrupt = r"truncated or corrupt \((Memory|Overflow)Error"
    with pytest.raises(DatasetError, match=corrupt), BagReader(bag) as reader:
        list(reader.raw_messages([CAMERA]))


def test_bags_are_written_in_the_format_humble_reads(tiny_bag) -> None:
    """Metadata version 8, not Jazzy's 9 (whose QoS policy names Humble cannot parse)."""
    info = yaml.safe_load((tiny_bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert info["version"] == BAG_VERSION == 8 and info["files"]


# ---------------------------------------------------------------- writes killed midway


def start_writer(code: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """A Python child that prints one line once it is inside a write, then waits to be killed."""
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    line = child.stdout.readline().strip()
    assert line, "the writer died before it started"
    return child, line


def kill(child: subprocess.Popen) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait()


WAIT = "import time; time.sleep(120)"  # a writer that lives until the test kills it


def test_leftovers_of_killed_writers_go_and_live_ones_stay(tmp_path) -> None:
    folder = tmp_path / "out"
    code = (
        "from pathlib import Path; from hybridnets_core.fileio import atomic_output\n"
        f"with atomic_output(Path({str(folder / 'a.json')!r})) as temporary:\n"
        "    temporary.write_bytes(b'partial'); print(temporary, flush=True); " + WAIT
    )
    dead, dead_temp = start_writer(code)
    live, live_temp = start_writer(code)
    try:
        kill(dead)
        assert Path(dead_temp).exists() and Path(dead_temp).name.startswith(".a.json.")
        write_json(folder / "b.json", {"ok": True})  # the first write into the folder sweeps
        assert not Path(dead_temp).exists()
        assert Path(live_temp).exists()  # a concurrent writer that is still alive keeps its file
    finally:
        kill(live)
    assert json.loads((folder / "b.json").read_text()) == {"ok": True}


def test_killed_bag_writer_leaves_nothing_that_blocks_a_rerun(tmp_path) -> None:
    bag = tmp_path / "bags" / "drive"
    code = (
        "from pathlib import Path; from hybridnets_core.bag.writer import BagWriter\n"
        "from hybridnets_core.bag.typestore import typestore\n"
        f"writer = BagWriter(Path({str(bag)!r}))\n"
        f"writer.write('/c', {STRING!r}, 1, typestore().types[{STRING!r}](data='x'))\n"
        "print(writer._staging, flush=True)\n" + WAIT
    )
    child, staging = start_writer(code)
    kill(child)
    assert Path(staging).is_dir() and not bag.exists()
    write_tiny_bag(bag)  # the rerun succeeds and removes the dead run's staging folder
    assert not Path(staging).exists()
    assert [p.name for p in bag.parent.iterdir()] == ["drive"]
    with BagReader(bag) as reader:
        assert reader.counts == {"/chatter": 3}


def test_killed_int8_quantization_leaves_no_scratch_models(tmp_path, monkeypatch) -> None:
    """A real quantize_int8 call killed during calibration (the preprocess blocks): its working
    models in the temporary folder are removed by the next scratch folder user."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    code = textwrap.dedent(f"""\
        import sys
        import time
        from pathlib import Path
        import onnx
        from onnx import TensorProto, helper
        from hybridnets_core.export.quantize import quantize_int8
        from hybridnets_core.runtime.onnx_format import INPUT_NAME
        weight = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 1, 1], [0.1] * 12)
        graph = helper.make_graph(
            [helper.make_node("Conv", [INPUT_NAME, "w"], ["y"], name="/conv/Conv")], "g",
            [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [1, 3, 8, 8])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], [weight])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        def blocked(images):
            print("calibrating", file=sys.__stdout__, flush=True)  # quantize hides stdout
            time.sleep(120)  # mid-quantization until the test kills it
        quantize_int8(model, [Path({str(ROOT / "test/data/dashcam")!r}).iterdir().__next__()],
                      blocked)
        """)
    child, line = start_writer(code, {"TMPDIR": str(temp)})
    kill(child)
    assert line == "calibrating"

    def quantization_files() -> list[Path]:  # ours and ONNX Runtime's (other tools' may be there)
        return [p for p in temp.iterdir() if p.name.startswith((".hybridnets", "ort.", "pre."))]

    (leftover,) = quantization_files()  # ONNX Runtime's own temporary folders are inside it
    assert leftover.name.startswith(".hybridnets_int8.")
    assert {p.name.split(".")[0] for p in leftover.iterdir()} >= {"fp32", "prepared", "ort"}
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    with scratch_folder("hybridnets_int8") as work:
        assert work.parent == temp and not leftover.exists()
    assert not quantization_files()


def test_folder_lock_and_unfinished_outputs(tmp_path) -> None:
    out = tmp_path / "report"
    code = (
        "from pathlib import Path; from hybridnets_core.fileio import folder_lock\n"
        f"with folder_lock(Path({str(out)!r})):\n    print('locked', flush=True); " + WAIT
    )
    child, _ = start_writer(code)
    try:
        busy = "another hybridnets process is writing"
        with pytest.raises(OutputError, match=busy), folder_lock(out):
            pass
    finally:
        kill(child)
    with folder_lock(out):  # the kernel released the dead holder's lock
        (out / "bag").mkdir()
        (out / "bag" / "drive.mcap").write_bytes(b"written before the report")
        assert discard_unfinished(out / "bag", out / "report.md")
        assert not (out / "bag").exists()
        (out / "bag").mkdir()
        (out / "report.md").write_text("done")
        assert not discard_unfinished(out / "bag", out / "report.md")
    assert sorted(p.name for p in out.iterdir()) == ["bag", "report.md"]  # no lock file


def test_output_errors_name_the_target(tmp_path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(OutputError, match=r"taken: a folder is in the way"):
        write_json(tmp_path / "taken", {})
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match=r"cannot create the folder for .*file/x\.json"):
        write_json(tmp_path / "file" / "x.json", {})
    with pytest.raises(InputError, match=r"as \.xyz .* use \.jpg or \.png"):
        write_image(tmp_path / "x.xyz", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(RuntimeError), atomic_output(tmp_path / "y.json") as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("the writer failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "taken"]


def test_training_log_drops_rows_a_killed_run_cut_short(tmp_path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.csv").write_text("epoch,step,loss\n1,4,0.9\n2,8,0.8\n3,12,0.7\n4,1")
    log = EpochLog(run, resume_epoch=3)
    log.add({"epoch": 4, "step": 16, "loss": 0.6}, plot=False)
    log.close()
    lines = (run / "results.csv").read_text().splitlines()
    assert lines == ["epoch,step,loss", "1,4,0.9", "2,8,0.8", "3,12,0.7", "4,16,0.6"]


# ---------------------------------------------------------------- optional packages


def test_cli_without_onnx(tmp_path, small_checkpoint, dashcam_paths) -> None:
    """`hybridnets --help`, synth-bag and bag-eval work with onnx and onnxruntime unimportable;
    export says what to install."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        textwrap.dedent("""\
        import sys

        class BlockOnnx:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("onnx", "onnxruntime"):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, BlockOnnx())
        """)
    )
    bag = tmp_path / "drive"
    cases = [
        ["--help"],
        ["synth-bag", "--out", bag, "--frames", "2", "--size", "128x64"],
        ["bag-eval", "--bag", bag, "--topic", CAMERA, "-w", small_checkpoint,
         "--out", tmp_path / "eval"],
        ["export", "-w", small_checkpoint, "-o", tmp_path / "model.onnx"],
        ["predict", "--backend", "onnxruntime", "-w", tmp_path / "model.onnx",
         "--source", dashcam_paths[0], "--output", tmp_path / "predictions"],
    ]  # fmt: skip
    help_, synth, evaluate, export, onnx_import = run_cli_processes(cases, extra_path=shim)
    assert help_.code == 0 and "synth-bag" in help_.stdout, help_.stderr[-2000:]
    assert synth.code == 0 and (bag / "metadata.yaml").is_file(), synth.stderr[-2000:]
    assert evaluate.code == 0 and (tmp_path / "eval/report.json").is_file(), evaluate.stderr[-2000:]
    line = export.one_line_error("export")
    assert "No module named 'onnx'" in line and "pip install 'hybridnets_ros[onnx]'" in line
    assert not (tmp_path / "model.onnx").exists()
    assert "pip install" in onnx_import.one_line_error("predict")


# ---------------------------------------------------------------- packaging


def test_package_xml_declares_what_the_node_imports() -> None:
    """rosdep keys for the Python packages the node and tools import (efficientnet-pytorch has
    no rosdep key: the README says how to install it) and the ROS packages the node uses."""
    package = ElementTree.parse(ROOT / "package.xml").getroot()
    assert package.get("format") == "3"
    exec_depends = {element.text for element in package.iter("exec_depend")}
    wanted = {
        "python3-pytorch-pip",  # torch >= 2.1 (Ubuntu's python3-torch is older or missing)
        "python3-rosbags-pip",
        "python3-scipy",
        "python3-numpy",
        "python3-opencv",
        "python3-yaml",
        "python3-tqdm",
        "rclpy",
        "lifecycle_msgs",
        "visualization_msgs",
        "unique_identifier_msgs",
        "tf2_ros",
        "vision_msgs",
        "sensor_msgs",
        "nav_msgs",
        "diagnostic_msgs",
    }
    assert wanted <= exec_depends, wanted - exec_depends
