"""A sitecustomize shim that makes packages unimportable in child processes: torch (what runs
without it: the CLI, ONNX Runtime pipelines, the node) or a ROS message package (a node whose
configure fails for a reason that is not ours)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from cli_forks import ROOT

BLOCKED = ("torch", "torchvision", "efficientnet_pytorch")


def import_blocking_shim(folder: Path, roots: tuple[str, ...]) -> Path:
    """`folder` with a sitecustomize.py that makes the packages `roots` (and their modules)
    raise ModuleNotFoundError on import; put it first on PYTHONPATH."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        textwrap.dedent(f"""\
        import sys

        class BlockImports:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {roots!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
                return None

        sys.meta_path.insert(0, BlockImports())
        """)
    )
    return folder


@pytest.fixture
def no_torch(tmp_path: Path) -> Path:
    """A folder whose sitecustomize makes torch and the backbone package unimportable."""
    return import_blocking_shim(tmp_path / "no_torch", BLOCKED)


def blocked_env(shim: Path) -> dict[str, str]:
    """This process' environment with the shim first on PYTHONPATH."""
    path = os.pathsep.join([str(shim), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}
