"""Writing rosbag2 bags (MCAP or sqlite3) that appear complete or not at all."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from rosbags.rosbag2 import StoragePlugin, Writer

from ..errors import ConfigError
from .typestore import typestore

FORMATS = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
BAG_VERSION = 8  # rosbag2 metadata version of Jazzy and newer


class BagWriter:
    """A new bag folder, written in a temporary sibling and renamed into place on success."""

    def __init__(self, path: Path, fmt: str = "mcap") -> None:
        if fmt not in FORMATS:
            raise ConfigError(f"bag format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        self.path = Path(path)
        if self.path.exists():
            raise ConfigError(f"{self.path} exists; choose another output path or delete it")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._staging = Path(tempfile.mkdtemp(dir=self.path.parent, prefix=f".{self.path.name}."))
        self._writer = Writer(
            self._staging / self.path.name, version=BAG_VERSION, storage_plugin=FORMATS[fmt]
        )
        self._writer.open()
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
        self._writer.close()
        (self._staging / self.path.name).rename(self.path)
        shutil.rmtree(self._staging)

    def abort(self) -> None:
        """Drop everything written so far."""
        try:
            self._writer.close()
        finally:
            shutil.rmtree(self._staging, ignore_errors=True)
