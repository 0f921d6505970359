"""SQLite writers take turns on a lock file (app.core.sqlite_writers), on plain sqlite3 connections."""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from app.core import sqlite_writers
from app.core.sqlite_writers import connection_class


def connect(path: Path, timeout: float = 0.0) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=timeout, check_same_thread=False, factory=connection_class(str(path)))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    return conn


def make_db(tmp_path: Path) -> Path:
    path = tmp_path / "w.sqlite"
    conn = connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)")
    conn.commit()
    conn.close()
    return path


def test_a_second_writer_waits_for_the_first_instead_of_failing(tmp_path: Path) -> None:
    """With no busy timeout at all, SQLite would refuse the second writer at once ("database is
    locked"); the lock file makes it wait until the first commits, then it succeeds."""
    path = make_db(tmp_path)
    first, second = connect(path), connect(path)
    first.execute("INSERT INTO t (who) VALUES ('first')")  # holds the lock file and SQLite's write lock
    order: list[str] = []
    errors: list[BaseException] = []

    def write_second() -> None:
        try:
            second.execute("INSERT INTO t (who) VALUES ('second')")
            order.append("second wrote")
            second.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=write_second)
    thread.start()
    time.sleep(0.2)
    assert order == [] and thread.is_alive()  # waiting on the lock file
    order.append("first commits")
    first.commit()
    thread.join(5)
    assert not errors and order == ["first commits", "second wrote"]
    assert [r[0] for r in first.execute("SELECT who FROM t ORDER BY id")] == ["first", "second"]


def test_readers_never_wait_for_the_lock_file(tmp_path: Path) -> None:
    path = make_db(tmp_path)
    writer, reader = connect(path), connect(path)
    writer.execute("INSERT INTO t (who) VALUES ('w')")
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (0,)  # the last committed state
    writer.rollback()


def test_a_rollback_or_close_lets_the_next_writer_in(tmp_path: Path) -> None:
    path = make_db(tmp_path)
    a, b = connect(path), connect(path)
    a.execute("INSERT INTO t (who) VALUES ('a')")
    a.rollback()
    b.execute("INSERT INTO t (who) VALUES ('b')")
    b.commit()
    b.execute("INSERT INTO t (who) VALUES ('b2')")
    b.close()
    a.execute("INSERT INTO t (who) VALUES ('a2')")
    a.commit()
    assert [r[0] for r in a.execute("SELECT who FROM t ORDER BY id")] == ["b", "a2"]


def test_one_thread_never_waits_for_itself(tmp_path: Path) -> None:
    """A thread holding the lock through one connection writes through a second one without it;
    SQLite's own lock then decides (here: refused at once, as it would be without the lock file)."""
    path = make_db(tmp_path)
    a, b = connect(path), connect(path)
    a.execute("INSERT INTO t (who) VALUES ('a')")
    started = time.monotonic()
    try:
        b.execute("INSERT INTO t (who) VALUES ('b')")
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
    assert time.monotonic() - started < 1
    a.commit()


def test_checkpoints_run_after_every_so_many_write_commits(tmp_path: Path) -> None:
    """Commits go to the write-ahead log; every CHECKPOINT_EVERY-th write commit of the process
    copies the log into the database file (read here as the file alone, ignoring the log)."""
    path = make_db(tmp_path)
    conn = connect(path)
    sqlite_writers._commits[0] = 0

    def rows_in_file() -> int:
        file_only = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            return int(file_only.execute("SELECT count(*) FROM t").fetchone()[0])
        finally:
            file_only.close()

    for i in range(sqlite_writers.CHECKPOINT_EVERY - 1):
        conn.execute("INSERT INTO t (who) VALUES (?)", (str(i),))
        conn.commit()
    assert rows_in_file() == 0  # all still in the log: no automatic checkpoint inside a commit
    conn.execute("INSERT INTO t (who) VALUES ('last')")
    conn.commit()
    assert rows_in_file() == sqlite_writers.CHECKPOINT_EVERY
