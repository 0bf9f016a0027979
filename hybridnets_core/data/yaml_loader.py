"""Bounded YAML reading for project files: one loader for every reader (train, val, bag-eval,
the node), so size, nesting depth and alias expansion are capped everywhere.

A hostile file fails at once with a one-line ConfigError: a 1 KB "billion laughs" alias bomb
would otherwise keep every consumer that walks the data busy for minutes, deep nesting would
end in RecursionError, and a FIFO or a symlink loop would hang or raise OSError.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode

from ..errors import ConfigError
from ..limits import MAX_PROJECT_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES


class _LimitExceeded(yaml.YAMLError):
    """Raised inside the composer; becomes a ConfigError naming the file."""


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses documents nested deeper than MAX_YAML_DEPTH or holding more than
    MAX_YAML_NODES nodes once aliases are expanded (each node's expanded size is summed from its
    children as it is composed, so an alias bomb is caught before anything walks it)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(node) -> nodes it stands for, aliases expanded

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(AliasEvent):
            anchor = self.peek_event().anchor
            target = self.anchors.get(anchor)
            if target is not None and id(target) not in self._sizes:
                raise _LimitExceeded(f"alias *{anchor} refers to a node that contains it")
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            raise _LimitExceeded(f"nested deeper than {MAX_YAML_DEPTH} levels")
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        size = 1
        if isinstance(node, SequenceNode):
            size += sum(self._sizes[id(child)] for child in node.value)
        elif isinstance(node, MappingNode):
            size += sum(self._sizes[id(k)] + self._sizes[id(v)] for k, v in node.value)
        if size > MAX_YAML_NODES:
            raise _LimitExceeded(
                f"expands to more than {MAX_YAML_NODES:,} values (aliases such as *name count "
                "once per use)"
            )
        self._sizes[id(node)] = size
        return node


def _read_text(path: Path, missing_hint: str) -> str:
    """The file's UTF-8 text; ConfigError for a missing, special, huge or non-UTF-8 file."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; regular files ignore it
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ConfigError(f"{path} not found; {missing_hint}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder, not a YAML file; {missing_hint}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigError(f"{path} is a symbolic link loop; point it at a file") from None
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(handle).st_mode
        if stat.S_ISDIR(mode):
            raise ConfigError(f"{path} is a folder, not a YAML file; {missing_hint}")
        if not stat.S_ISREG(mode):
            raise ConfigError(f"{path} is not a regular file; pass a YAML file")
        with os.fdopen(handle, "rb", closefd=False) as stream:
            data = stream.read(MAX_PROJECT_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        os.close(handle)
    if len(data) > MAX_PROJECT_BYTES:
        raise ConfigError(f"{path} is larger than {MAX_PROJECT_BYTES >> 10} KB; not a project file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8"
        ) from None


def read_yaml(path: str | Path, missing_hint: str) -> Any:
    """Parse one YAML file within the limits; ConfigError (one line) for anything unusable.

    `missing_hint` says what to pass instead when the file is missing or a folder.
    """
    path = Path(path)
    text = _read_text(path, missing_hint)
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    except _LimitExceeded as exc:
        raise ConfigError(f"{path} is refused: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            f"{path} is not valid YAML: {exc.problem or exc.context}{where}"
        ) from None
    except (yaml.YAMLError, ValueError, OverflowError) as exc:  # e.g. a 5,000-digit integer
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path} is not valid YAML: {first}") from None
    finally:
        loader.dispose()
