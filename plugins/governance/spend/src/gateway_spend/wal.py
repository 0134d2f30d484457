"""The write-ahead log: spend records on local disk before the client has its last byte.

Each worker owns one *log*: a lock file ``<owner>.lock`` (held with ``flock`` for the process's
life), numbered segments ``<owner>.<seq>.wal`` (one JSON record per line) and a cursor file
``<owner>.cursor`` saying how far the records were shipped.  ``append`` is one ``os.write`` to a
file opened with ``O_APPEND``: no Python-level buffer, so the record is in the kernel's page cache
when ``append`` returns and survives ``kill -9`` of the process (the machine is assumed to survive).

When a process dies, the kernel releases its ``flock``; any other worker (or the next start) can
then take the lock and *adopt* the dead worker's log: ship what is left, then delete it.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

#: bytes read from a segment per shipping round at most (memory stays bounded in an outage)
READ_CHUNK = 1 << 20


@dataclass(slots=True)
class Position:
    seq: int
    offset: int


@dataclass(slots=True)
class Batch:
    """Records read from a log, and the position after them (to commit once they are stored)."""

    records: list[dict[str, Any]]
    end: Position
    #: lines that are not valid records (written by a crashing process): set aside as dead letters
    garbage: list[bytes] = field(default_factory=list)


class WalLog:
    """One worker's log, seen by a reader (its own shipper, or an adopting worker)."""

    def __init__(self, directory: Path, owner: str) -> None:
        self.dir = directory
        self.owner = owner
        self.cursor_path = directory / f"{owner}.cursor"
        self.position = self._read_cursor()

    def _read_cursor(self) -> Position:
        try:
            seq, offset = self.cursor_path.read_text().split()
            return Position(int(seq), int(offset))
        except (FileNotFoundError, ValueError):
            return Position(self._segments()[0] if self._segments() else 0, 0)

    def _segments(self) -> list[int]:
        found = []
        for path in self.dir.glob(f"{self.owner}.*.wal"):
            try:
                found.append(int(path.name[len(self.owner) + 1 : -4]))
            except ValueError:
                continue
        return sorted(found)

    def segment_path(self, seq: int) -> Path:
        return self.dir / f"{self.owner}.{seq:08d}.wal"

    def read(self, max_records: int, *, final: bool = False) -> Batch:
        """Up to ``max_records`` complete records after the cursor (blocking file I/O: run in a thread).

        ``final`` says the writer is dead: an incomplete last line (the process died inside
        ``os.write``) is then set aside as garbage instead of waited for.
        """
        records: list[dict[str, Any]] = []
        garbage: list[bytes] = []
        pos = Position(self.position.seq, self.position.offset)
        while len(records) < max_records:
            try:
                with open(self.segment_path(pos.seq), "rb") as handle:
                    handle.seek(pos.offset)
                    chunk = handle.read(READ_CHUNK)
            except FileNotFoundError:
                chunk = b""
            complete = chunk[: chunk.rfind(b"\n") + 1]
            for line in complete.splitlines(keepends=True):
                if len(records) >= max_records:
                    break
                pos.offset += len(line)
                try:
                    records.append(orjson.loads(line))
                except orjson.JSONDecodeError:
                    garbage.append(line)
            if len(records) >= max_records or (len(chunk) == READ_CHUNK and complete):
                continue  # batch full (loop ends), or more of this segment to read
            later = [seq for seq in self._segments() if seq > pos.seq]
            tail = chunk[len(complete) :]
            if tail and (later or final):
                garbage.append(tail)  # a line cut short by a crash: it will never be completed
                pos.offset += len(tail)
            if not later:
                break
            pos = Position(later[0], 0)
        return Batch(records, pos, garbage)

    def commit(self, end: Position) -> None:
        """Remember that everything before ``end`` is stored; delete finished segments."""
        temp = self.cursor_path.with_suffix(".cursor-tmp")
        temp.write_text(f"{end.seq} {end.offset}")
        os.replace(temp, self.cursor_path)
        for seq in self._segments():
            if seq < end.seq:
                self.segment_path(seq).unlink(missing_ok=True)
        self.position = end

    def pending_bytes(self) -> int:
        """Bytes written but not yet shipped (0 when everything is stored)."""
        total = 0
        for seq in self._segments():
            if seq < self.position.seq:
                continue
            size = self.segment_path(seq).stat().st_size
            total += size - (self.position.offset if seq == self.position.seq else 0)
        return total

    def remove(self) -> None:
        """Delete the whole log (after an adopted log was fully shipped)."""
        for seq in self._segments():
            self.segment_path(seq).unlink(missing_ok=True)
        self.cursor_path.unlink(missing_ok=True)
        (self.dir / f"{self.owner}.lock").unlink(missing_ok=True)


class WalWriter:
    """The appending side of this worker's own log."""

    def __init__(self, directory: Path, segment_bytes: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.dir = directory
        self.owner = f"w{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.segment_bytes = segment_bytes
        self._lock_fd = os.open(directory / f"{self.owner}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.log = WalLog(directory, self.owner)
        self.seq = 0
        self._fd = -1
        self._size = 0
        self._open_segment()

    def _open_segment(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        path = self.log.segment_path(self.seq)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = os.fstat(self._fd).st_size

    def append(self, record: dict[str, Any]) -> None:
        """Write one record (one ``os.write``); raises ``OSError`` when the disk refuses."""
        line = orjson.dumps(record) + b"\n"
        written = os.write(self._fd, line)
        if written != len(line):  # a short write on a regular file means the disk is full
            raise OSError(f"short write to the spend write-ahead log ({written} of {len(line)} bytes)")
        self._size += written
        if self._size >= self.segment_bytes:
            self.seq += 1
            self._open_segment()

    def close(self, *, remove_if_shipped: bool) -> None:
        """Close files; delete the log when every record was shipped; release the lock."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if remove_if_shipped and self.log.pending_bytes() == 0:
            self.log.remove()
        os.close(self._lock_fd)


def orphaned_logs(directory: Path, own: set[str]) -> list[tuple[str, int]]:
    """Logs whose owner is gone: ``(owner, lock fd)`` with the lock now held by the caller."""
    found: list[tuple[str, int]] = []
    for lock in sorted(directory.glob("*.lock")):
        owner = lock.name[: -len(".lock")]
        if owner in own:
            continue
        try:
            fd = os.open(lock, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        found.append((owner, fd))
    return found
