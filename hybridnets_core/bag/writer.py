"""Writing rosbag2 bags (MCAP or sqlite3) that appear complete or not at all."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from rosbags.rosbag2 import StoragePlugin, Writer

from ..errors import ConfigError, OutputError
from ..fileio import staging_folder
from .typestore import typestore

FORMATS = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
# rosbag2 metadata version 8, the newest one Humble can still parse: Humble writes 5, Jazzy
# writes 9, whose QoS profiles name their policies ("reliable") where Humble reads integers;
# Jazzy and newer read 8 too. (rosbag2: bag_metadata.hpp, rosbag2_storage/qos.cpp, PR #1476.)
BAG_VERSION = 8


class BagWriter:
    """A new bag folder, written in a temporary sibling and renamed into place on success."""

    def __init__(self, path: Path, fmt: str = "mcap") -> None:
        if fmt not in FORMATS:
            raise ConfigError(f"bag format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        self.path = Path(path)
        if self.path.exists():
            raise ConfigError(f"{self.path} exists; choose another output path or delete it")
        # a hidden sibling named after this process; a killed writer's is removed by the next
        self._staging = staging_folder(self.path)
        self._writer = Writer(
            self._staging / self.path.name, version=BAG_VERSION, storage_plugin=FORMATS[fmt]
        )
        try:
            self._writer.open()
        except OSError as exc:
            shutil.rmtree(self._staging, ignore_errors=True)
            raise OutputError(f"cannot write bag {self.path}: {exc.strerror or exc}") from None
        self._connections: dict[str, Any] = {}

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, topic: str, msgtype: str, timestamp: int, message: Any) -> None:
        """Serialise and append one message; the topic is created on first use."""
        self.write_raw(topic, msgtype, timestamp, typestore().serialize_cdr(message, msgtype))

    def write_raw(self, topic: str, msgtype: str, timestamp: int, raw: bytes | memoryview) -> None:
        """Append one CDR-serialised message (as received from DDS or read from a bag)."""
        connection = self._connections.get(topic)
        if connection is None:
            connection = self._writer.add_connection(topic, msgtype, typestore=typestore())
            self._connections[topic] = connection
        self._writer.write(connection, int(timestamp), raw)

    def close(self) -> None:
        """Finish the bag and move it to its final path."""
        try:
            self._writer.close()
            (self._staging / self.path.name).rename(self.path)
        except OSError as exc:
            shutil.rmtree(self._staging, ignore_errors=True)
            raise OutputError(f"cannot write bag {self.path}: {exc.strerror or exc}") from None
        shutil.rmtree(self._staging)

    def abort(self) -> None:
        """Drop everything written so far."""
        try:
            self._writer.close()
        finally:
            shutil.rmtree(self._staging, ignore_errors=True)
