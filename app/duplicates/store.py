"""The detector's index in the database: file a case under its keys, look a new report up by its keys.

A lookup is one statement: per-key index range reads, each stopped after ``PER_KEY`` rows
(newest cases first), then primary-key reads of the fingerprints of at most ``MAX_SCORED`` cases
that share the most keys. It does not depend on how many cases the database holds: closed cases
leave the index when their window ends (:func:`purge`, hourly).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, insert, select, text, update

from app.cases.models import Case
from app.core.db import session
from app.duplicates.detector import Fingerprint, Rules, lookup_keys, stored_keys
from app.duplicates.models import CaseFingerprint, DuplicateKey

PER_KEY = 12  # newest cases read per key: a common pair of words cannot flood the scorer
MAX_SCORED = 40  # candidates scored per report, those sharing the most keys first
KEYS, PRINTS, CASES = DuplicateKey.__table__, CaseFingerprint.__table__, Case.__table__

_FINGERPRINT = select(PRINTS).where(PRINTS.c.case_id == bindparam("k_case"))
_lookup_sql: dict[tuple[str, int], Any] = {}
_COLUMNS = ", ".join(f"f.{c.name}" for c in PRINTS.c)


def _lookup_statement(dialect: str, n: int) -> Any:
    """One statement: the per-key index reads (each stopped after ``PER_KEY`` rows, newest cases
    first), the cases sharing the most keys, and their fingerprints. Built once per dialect and
    number of keys.

    PostgreSQL joins the key array with a per-key index read, so any number of keys is one
    prepared statement; SQLite gets ``n`` per-key reads joined by UNION ALL.
    """
    if dialect == "postgresql":
        n = 0  # one statement for any number of keys
    statement = _lookup_sql.get((dialect, n))
    if statement is None:
        if dialect == "postgresql":
            hits = ("SELECT d.case_id FROM unnest(CAST(:keys AS BIGINT[])) AS k(key) CROSS JOIN LATERAL "
                    f"(SELECT case_id FROM duplicate_keys WHERE duplicate_keys.key = k.key "
                    f"ORDER BY case_id DESC LIMIT {PER_KEY}) AS d")
        else:
            hits = " UNION ALL ".join(
                f"SELECT case_id FROM (SELECT case_id FROM duplicate_keys WHERE key = :k{i} "
                f"ORDER BY case_id DESC LIMIT {PER_KEY}) AS q{i}" for i in range(n))
        # one more than scored: the case being checked may be among them (see ``exclude``)
        statement = text(
            f"SELECT {_COLUMNS} FROM case_fingerprints AS f JOIN (SELECT h.case_id, count(*) AS shared "
            f"FROM ({hits}) AS h GROUP BY h.case_id ORDER BY shared DESC, h.case_id DESC LIMIT {MAX_SCORED + 1}) "
            f"AS top ON top.case_id = f.case_id ORDER BY top.shared DESC, f.case_id DESC").columns(*PRINTS.c)
        _lookup_sql[(dialect, n)] = statement
    return statement


def _conn() -> Any:
    return session.connection()


def find(fp: Fingerprint, rules: Rules, now: datetime, exclude: int | None = None) -> list[tuple[int, Fingerprint]]:
    """Live cases sharing a key with ``fp``, those sharing the most first: open ones, and those
    closed within the window. One statement.

    Having keys is being live: a case loses its keys when it is merged, and the hourly
    :func:`purge` takes them from cases closed longer ago than the window. So the cases table is
    not read here (at a million cases its rows are the costly part of a lookup).
    """
    keys = sorted(lookup_keys(fp))
    conn = _conn()
    if conn.dialect.name == "postgresql":
        found = [(row.case_id, from_row(row)) for row in conn.execute(_lookup_statement("postgresql", 0), {"keys": keys})]
    else:
        # up to 41 rows of text per report: plain driver rows, without SQLAlchemy's per-column
        # processing, take half the time (0.37 against 0.64 ms at 6,000 cases)
        found = [(row[0], _from_sqlite_row(row)) for row in conn.exec_driver_sql(_sqlite_sql(conn, len(keys)), tuple(keys))]
    return [(case_id, print_) for case_id, print_ in found if case_id != exclude][:MAX_SCORED]


_sqlite_text: dict[int, str] = {}
# _from_sqlite_row reads the columns by position, in the table's order
assert [c.name for c in PRINTS.c][:10] == ["case_id", "created_at", "text", "tags", "lat", "lng", "category_code",
                                         "address", "reporter", "exact"], "case_fingerprints changed its columns"


def _sqlite_sql(conn: Any, n: int) -> str:
    """The lookup for ``n`` keys as SQLite's own SQL (positional parameters, in key order)."""
    sql = _sqlite_text.get(n)
    if sql is None:
        sql = _sqlite_text[n] = str(_lookup_statement("sqlite", n).compile(dialect=conn.dialect))
    return sql


def _from_sqlite_row(row: Any) -> Fingerprint:
    """A fingerprint from a plain row in the table's column order; SQLite keeps times as UTC text."""
    return Fingerprint(text=row[2], tags=orjson.loads(row[3]),
                       created_at=datetime.fromisoformat(row[1]).replace(tzinfo=timezone.utc), lat=row[4],
                       lng=row[5], category_code=row[6], address=row[7], reporter=row[8], exact=row[9])


def from_row(row: Any) -> Fingerprint:
    return Fingerprint(text=row.text, tags=orjson.loads(row.tags), created_at=row.created_at, lat=row.lat, lng=row.lng,
                       category_code=row.category_code, address=row.address, reporter=row.reporter, exact=row.exact)


def add(case_id: int, fp: Fingerprint) -> None:
    """File a new case under its keys."""
    _conn().execute(insert(PRINTS), {
        "case_id": case_id, "created_at": fp.created_at, "text": fp.text,
        "tags": json.dumps(fp.tags, ensure_ascii=False), "lat": fp.lat, "lng": fp.lng,
        "category_code": fp.category_code, "address": fp.address, "reporter": fp.reporter, "exact": fp.exact,
        "indexed": True})
    _insert_keys(case_id, stored_keys(fp))


# PostgreSQL: one statement for all of a case's keys (psycopg's executemany sends one per row)
_PG_INSERT_KEYS = text("INSERT INTO duplicate_keys (key, case_id) SELECT unnest(CAST(:keys AS BIGINT[])), :case_id")


def _insert_keys(case_id: int, keys: Iterable[int]) -> None:
    conn = _conn()
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_INSERT_KEYS, {"keys": sorted(keys), "case_id": case_id})
    else:
        conn.execute(insert(KEYS), [{"key": k, "case_id": case_id} for k in keys])


def fingerprint_of(case_id: int) -> Fingerprint | None:
    row = _conn().execute(_FINGERPRINT, {"k_case": case_id}).first()
    return from_row(row) if row is not None else None


def move_keys(from_case: int, to_case: int) -> None:
    """A merged case's keys now find its master: a repeat worded like either is found."""
    theirs = {r[0] for r in _conn().execute(select(KEYS.c.key).where(KEYS.c.case_id == from_case))}
    mine = {r[0] for r in _conn().execute(select(KEYS.c.key).where(KEYS.c.case_id == to_case))}
    _conn().execute(delete(KEYS).where(KEYS.c.case_id == from_case))
    fresh = theirs - mine
    if fresh:
        _insert_keys(to_case, fresh)
    _conn().execute(update(PRINTS).where(PRINTS.c.case_id == from_case).values(indexed=False))


def purge(now: datetime, window_days: int, batch: int = 1000) -> int:
    """Take the keys of cases closed longer ago than the window out of the index; returns how many cases."""
    since = now - timedelta(days=window_days)
    ids = [r[0] for r in _conn().execute(
        select(PRINTS.c.case_id).join(CASES, CASES.c.id == PRINTS.c.case_id)
        .where(text("case_fingerprints.indexed"), CASES.c.status != "open",
               CASES.c.closed_at.is_not(None), CASES.c.closed_at < since)
        .limit(batch))]
    if ids:
        _conn().execute(delete(KEYS).where(KEYS.c.case_id.in_(ids)))
        _conn().execute(update(PRINTS).where(PRINTS.c.case_id.in_(ids)).values(indexed=False))
    return len(ids)
