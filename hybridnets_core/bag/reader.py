"""Reading rosbag2 bags (MCAP or sqlite3; a bag folder or a single file) with one-line errors."""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rosbags.rosbag2 import Reader
from rosbags.rosbag2.errors import ReaderError
from rosbags.serde import SerdeError

from ..errors import DatasetError
from .typestore import typestore

# What the storage back ends raise on damaged files: MCAP records cut short or mangled,
# sqlite pages lost, compressed chunks that no longer decompress, and sizes in a mangled index
# that no file can hold (rosbags' MCAP reader allocates what a ChunkIndex declares: 2**62 bytes
# is a MemoryError, 2**64 - 1 an OverflowError).
CORRUPTION_ERRORS = (
    MemoryError,
    OverflowError,
    ReaderError,
    OSError,
    sqlite3.DatabaseError,
    struct.error,
    ValueError,
    KeyError,
    IndexError,
    EOFError,
    RuntimeError,
)


def _damaged(path: Path, exc: BaseException) -> DatasetError:
    if isinstance(exc, (MemoryError, OverflowError)):
        detail = f"{type(exc).__name__}: a record declares a size the file cannot hold"
    else:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return DatasetError(
        f"bag {path} is truncated or corrupt ({detail}); re-record or re-copy it (MCAP files "
        "can often be repaired with `mcap recover`)"
    )


class BagReader:
    """An open bag: its topics and their types, and deserialised messages in log-time order."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise DatasetError(f"bag {self.path} does not exist; pass a bag folder or .mcap/.db3")
        try:
            self._reader = Reader(self.path)
            self._reader.open()
        except FileNotFoundError:
            raise DatasetError(
                f"{self.path} is not a rosbag2 bag: no metadata.yaml in the folder; pass the "
                "bag folder or its .mcap/.db3 file"
            ) from None
        except CORRUPTION_ERRORS as exc:
            raise _damaged(self.path, exc) from None
        self.topics: dict[str, str] = {c.topic: c.msgtype for c in self._reader.connections}
        self.counts: dict[str, int] = {}
        for connection in self._reader.connections:
            self.counts[connection.topic] = self.counts.get(connection.topic, 0) + int(
                connection.msgcount
            )

    def __enter__(self) -> BagReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._reader.close()

    def describe_topics(self) -> str:
        """'topic (type, N msgs)' for every topic, for error messages."""
        if not self.topics:
            return "none"
        return ", ".join(
            f"{topic} ({self.topics[topic]}, {self.counts[topic]} msgs)"
            for topic in sorted(self.topics)
        )

    def require(self, topic: str, msgtypes: Sequence[str]) -> str:
        """The type of `topic`; DatasetError listing the bag's topics when absent or mistyped."""
        if topic not in self.topics:
            raise DatasetError(
                f"topic {topic} is not in bag {self.path}; topics there: {self.describe_topics()}"
            )
        if self.topics[topic] not in msgtypes:
            raise DatasetError(
                f"topic {topic} in {self.path} carries {self.topics[topic]}, expected "
                f"{' or '.join(msgtypes)}"
            )
        return self.topics[topic]

    def raw_messages(self, topics: Sequence[str]) -> Iterator[tuple[str, str, int, bytes]]:
        """(topic, type, log time ns, CDR bytes) of `topics` in log-time order; DatasetError when
        the file is damaged, including messages the index lists but the file no longer has."""
        wanted = [c for c in self._reader.connections if c.topic in topics]
        stream = self._reader.messages(connections=wanted)
        seen = dict.fromkeys(topics, 0)
        while True:
            try:
                connection, timestamp, raw = next(stream)
            except StopIteration:
                break
            except CORRUPTION_ERRORS as exc:
                raise _damaged(self.path, exc) from None
            seen[connection.topic] += 1
            yield connection.topic, connection.msgtype, timestamp, raw
        for topic, count in seen.items():
            if count < self.counts.get(topic, 0):
                lost = f"{count} of {self.counts[topic]} messages on {topic} readable"
                raise _damaged(self.path, ValueError(lost))

    def messages(self, topics: Sequence[str]) -> Iterator[tuple[str, int, Any]]:
        """(topic, log time ns, message) of `topics`, deserialised."""
        for topic, msgtype, timestamp, raw in self.raw_messages(topics):
            yield topic, timestamp, deserialize(raw, msgtype, f"{topic} in {self.path}")


def deserialize(raw: bytes, msgtype: str, where: str) -> Any:
    """A message from CDR bytes; DatasetError naming `where` when they do not parse."""
    try:
        return typestore().deserialize_cdr(raw, msgtype)
    except (SerdeError, *CORRUPTION_ERRORS) as exc:
        raise DatasetError(
            f"cannot decode a {msgtype} message on {where} ({type(exc).__name__}); it is "
            "corrupt or was written with another definition of that type"
        ) from None
