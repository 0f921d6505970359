"""SQLite writers take turns through a lock file, so a waiting writer starts the moment the lock is free.

SQLite lets one connection write at a time. A connection that finds the write lock taken waits in
SQLite's busy handler, which *sleeps* and tries again: 1 ms, then 2, 5, 10, 15, 20, 25 ms… A write
transaction here lasts a millisecond or two, so two gunicorn workers writing at once lose most of
their time asleep (completions swung between 150/s and 300/s from run to run, with the CPU half
idle in the slow runs).

Instead, a connection about to begin a write transaction first takes an exclusive ``flock`` on a
file next to the database and keeps it until the transaction ends (commit, rollback or close). The
kernel wakes the next waiter as soon as the lock is released. Readers never take it: WAL readers
do not wait for writers.

The Python driver begins a transaction by itself before the first INSERT, UPDATE, DELETE or
REPLACE (its legacy transaction control, which SQLAlchemy keeps); that is the moment the lock is
taken. Writers that do not use this module (another program on the same file, DDL in a
migration) still meet SQLite's own lock and busy timeout, so correctness never depends on the
lock file: it only decides who goes first.

One thread never waits for itself: while a thread holds the lock through one connection, a second
connection of the same thread writes without it (and meets SQLite's busy timeout, as before).

Checkpoints (copying the write-ahead log back into the database file) run after the lock is
released: SQLite's automatic checkpoint runs inside the commit that crosses its threshold, which
here would keep the other writers waiting for a few milliseconds every twenty-odd commits. The
connections turn it off (``PRAGMA wal_autocheckpoint=0``, see :mod:`app.core.db`) and every
``CHECKPOINT_EVERY`` write commits of a process run a passive checkpoint once the lock is free:
less often than SQLite would, so a page that many commits wrote in between is copied once.

A writer that never finishes keeps the others waiting, as SQLite's own lock would (there without
end, here until gunicorn's worker timeout ends the stuck worker and the kernel drops its lock).
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from typing import Any

_DML = ("INSERT", "UPDATE", "DELETE", "REPLAC")
CHECKPOINT_EVERY = 100  # write commits per process between passive checkpoints (a few thousand pages)
_held = threading.local()
_commits = [0]  # write commits of this process since its last checkpoint


def _is_write(sql: str) -> bool:
    return sql.lstrip()[:6].upper() in _DML


class WriterLockCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> "WriterLockCursor":
        conn = self.connection
        if not conn.in_transaction and _is_write(sql):
            conn.take_writer_lock()  # type: ignore[attr-defined]
        return super().execute(sql, parameters)  # type: ignore[return-value]

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> "WriterLockCursor":
        conn = self.connection
        if not conn.in_transaction and _is_write(sql):
            conn.take_writer_lock()  # type: ignore[attr-defined]
        return super().executemany(sql, seq_of_parameters)  # type: ignore[return-value]


class WriterLockConnection(sqlite3.Connection):
    """A connection that takes the lock file before it begins a write transaction."""

    lock_path: str = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock_fd: int | None = None
        self._locked = False

    def cursor(self, factory: Any = WriterLockCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:  # type: ignore[override]
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Any:  # type: ignore[override]
        return self.cursor().executemany(sql, parameters)

    def take_writer_lock(self) -> None:
        if self._locked or getattr(_held, "count", 0):
            return  # this thread holds it already (through another connection): don't wait for ourselves
        if self._lock_fd is None:
            self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._locked = True
        _held.count = 1

    def release_writer_lock(self) -> None:
        if self._locked:
            self._locked = False
            _held.count = 0
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)  # type: ignore[arg-type]

    def commit(self) -> None:
        wrote = self._locked
        try:
            super().commit()
        finally:
            self.release_writer_lock()
        if wrote:
            _commits[0] += 1
            if _commits[0] >= CHECKPOINT_EVERY:
                _commits[0] = 0
                # copies what no reader still needs; never waits for readers or writers
                super().execute("PRAGMA wal_checkpoint(PASSIVE)").close()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_writer_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_writer_lock()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


def connection_class(database_path: str) -> type[WriterLockConnection]:
    """A connection class whose writers take turns on ``<database>.writers``."""
    return type("WriterLockConnection", (WriterLockConnection,), {"lock_path": database_path + ".writers"})
