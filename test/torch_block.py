"""A sitecustomize shim that makes torch unimportable in child processes, for the tests that
check what runs without torch (the CLI, ONNX Runtime pipelines and the node)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from cli_forks import ROOT

BLOCKED = ("torch", "torchvision", "efficientnet_pytorch")


@pytest.fixture
def no_torch(tmp_path: Path) -> Path:
    """A folder whose sitecustomize makes torch and the backbone package unimportable."""
    shim = tmp_path / "no_torch"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        textwrap.dedent(f"""\
        import sys

        class BlockTorch:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {BLOCKED!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
                return None

        sys.meta_path.insert(0, BlockTorch())
        """)
    )
    return shim


def blocked_env(shim: Path) -> dict[str, str]:
    """This process' environment with the shim first on PYTHONPATH."""
    path = os.pathsep.join([str(shim), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}
