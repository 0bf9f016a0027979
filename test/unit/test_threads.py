"""CPU thread settings: one thread per available core and no spinning by default, for torch
(OMP_WAIT_POLICY before torch loads, set_num_threads) and ONNX Runtime (session options), set
by the CLI flags and the node's parameters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from export_fixtures import (
    raw_export,  # noqa: F401 (fixture)
    varied_checkpoint,  # noqa: F401 (fixture)
)

from hybridnets_core.cli.main import main
from hybridnets_core.errors import ConfigError
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.runtime.onnx_runtime import OnnxOptions
from hybridnets_core.runtime.threads import (
    WAIT_POLICY,
    ThreadSettings,
    available_cores,
    use_wait_policy,
)
from hybridnets_ros import params

REPO = Path(__file__).resolve().parents[2]


def fresh_python(code: str) -> str:
    """stdout of `code` in a new interpreter with no OMP_WAIT_POLICY of its own."""
    environment = {key: value for key, value in os.environ.items() if key != WAIT_POLICY}
    environment["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def session_options(pipeline: Pipeline):
    return pipeline.runtime.session.session.get_session_options()


def test_the_default_is_one_thread_per_core_this_process_may_use() -> None:
    assert available_cores() == len(os.sched_getaffinity(0))
    assert ThreadSettings().count == available_cores()
    assert ThreadSettings(3).count == 3
    assert ThreadSettings().spin is False
    with pytest.raises(ConfigError, match="threads must be 0"):
        ThreadSettings(-1)


def test_the_wait_policy_is_set_before_torch_loads_its_openmp() -> None:
    code = (
        "import os, sys\n"
        "from hybridnets_core.runtime.threads import use_wait_policy\n"
        "first = use_wait_policy(False)\n"
        "import torch\n"
        "print(first, os.environ['OMP_WAIT_POLICY'], use_wait_policy(True))\n"
    )
    # passive before torch; asking for spinning once torch runs is refused (and warned about)
    assert fresh_python(code) == "True PASSIVE False"


def test_the_wait_policy_cannot_change_once_torch_is_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(WAIT_POLICY, "PASSIVE")
    assert "torch" in sys.modules
    assert use_wait_policy(False) is True  # what torch runs with already
    assert use_wait_policy(True) is False
    assert os.environ[WAIT_POLICY] == "PASSIVE"


def test_onnxruntime_sessions_get_the_threads_and_no_spinning(
    raw_export: Path,  # noqa: F811
) -> None:
    pipeline = Pipeline.from_weights(raw_export, backend="onnxruntime", threads=ThreadSettings(1))
    options = session_options(pipeline)
    assert options.intra_op_num_threads == 1
    assert options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    spinning = Pipeline.from_weights(
        raw_export, backend="onnxruntime", threads=ThreadSettings(spin=True)
    )
    options = session_options(spinning)
    assert options.intra_op_num_threads == available_cores()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "1"


def test_thread_settings_replace_those_of_the_onnx_options(
    raw_export: Path,  # noqa: F811
) -> None:
    pipeline = Pipeline.from_weights(
        raw_export,
        backend="onnxruntime",
        onnx_options=OnnxOptions(threads=2, spinning=True),
        threads=ThreadSettings(1),
    )
    options = session_options(pipeline)
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_torch_gets_the_thread_count(varied_checkpoint: Path) -> None:  # noqa: F811
    before = torch.get_num_threads()
    try:
        Pipeline.from_weights(varied_checkpoint, threads=ThreadSettings(1))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_predict_sets_threads_and_the_wait_policy_before_torch_loads(
    varied_checkpoint: Path,  # noqa: F811
    dashcam_paths: list[Path],
    tmp_path: Path,
) -> None:
    code = (
        "import os\n"
        "from hybridnets_core.cli.main import main\n"
        f"code = main(['predict', '-w', {str(varied_checkpoint)!r}, '--source', "
        f"{str(dashcam_paths[0])!r}, '--output', {str(tmp_path)!r}, '--threads', '1'])\n"
        "import torch\n"
        "print(code, torch.get_num_threads(), os.environ['OMP_WAIT_POLICY'])\n"
    )
    assert fresh_python(code).splitlines()[-1] == "0 1 PASSIVE"
    code = (
        "import os, sys\n"
        "from hybridnets_core.cli import options\n"
        "from hybridnets_core.cli.main import build_parser\n"
        "args = build_parser().parse_args(['bench', '--threads', '2', '--thread-spin'])\n"
        "print(options.threads_from_args(args), os.environ['OMP_WAIT_POLICY'])\n"
    )
    assert fresh_python(code) == "ThreadSettings(threads=2, spin=True) ACTIVE"


@pytest.mark.parametrize("command", ["predict", "val", "bench"])
def test_the_commands_reject_a_negative_thread_count(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--threads", "-1"]) == 2
    assert "--threads" in capsys.readouterr().err


def test_the_node_parameters_default_to_auto_threads_without_spinning() -> None:
    settings = params.settings_from({})
    assert (settings.model.threads, settings.model.thread_spin) == (0, False)
    chosen = params.settings_from({"threads": 2, "thread_spin": True}).model
    assert ThreadSettings(chosen.threads, chosen.thread_spin) == ThreadSettings(2, True)
    with pytest.raises(ConfigError, match="threads"):
        params.settings_from({"threads": -1})
    descriptor = params.descriptor("thread_spin")
    assert descriptor.read_only


def test_the_contention_benchmark_is_registered_and_its_table_renders() -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import run_all
        import tables
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    names = [benchmark.name for benchmark in run_all.BENCHMARKS]
    assert "contention" in names
    report = json.loads((REPO / "benchmarks" / "results" / "contention.json").read_text())
    rendered = tables.contention_table(report)
    lines = rendered.splitlines()
    assert len(lines) == 2 + sum(len(by) for by in report["results"].values())
    torch_new = report["results"]["torch"]["new"]
    assert f"{torch_new['slowdown']:.2f}x" in lines[3]
