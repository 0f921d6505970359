"""The database: one engine per process, one session per request, one commit per request.

Operations only ``flush()``; the request ends with exactly one ``commit()`` (or a rollback on any
error) in :func:`init_app` — or, for the API's create and complete calls, in
:func:`commit_before_answer` once the operation is done. Background jobs and CLI commands use
:func:`transaction`.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import orjson
from flask import Flask, Response, current_app, has_app_context, request
from sqlalchemy import DateTime, MetaData, create_engine, event, make_url, text
from sqlalchemy.types import TypeDecorator
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker, Session

from app.core import clock
from app.core.sqlite_writers import connection_class

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use timezone-aware datetimes")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime}


class AppSession(Session):
    """A session bound to the database of the Flask app in whose context it runs, so several apps
    (tests, tools) can live in one process without sharing a connection pool by accident."""

    def get_bind(self, mapper: Any = None, clause: Any = None, **kwargs: Any) -> Any:
        if has_app_context() and "db_engine" in current_app.extensions:
            return current_app.extensions["db_engine"]
        return super().get_bind(mapper, clause, **kwargs)


_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")

# autoflush is off: operations decide when to write (one flush at the end of the work), so a
# request holds SQLite's write lock only for its final writes, not while the engine computes
SessionFactory = sessionmaker(class_=AppSession, expire_on_commit=False, autoflush=False, future=True)
session: scoped_session[Session] = scoped_session(SessionFactory)


def utcnow() -> datetime:
    """Now, from the product's clock (fixed in tests)."""
    return clock.now()


def make_engine(url: str, echo: bool = False) -> Engine:
    """Create the engine with the settings each database needs for concurrent requests."""
    kwargs: dict[str, Any] = {"echo": echo, "future": True, "json_serializer": _json_dumps,
                              "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        # each connection waits for the writer instead of failing; WAL lets readers go on
        if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
            raise ValueError("an in-memory SQLite database cannot be shared between connections")
        # writers take turns on a lock file instead of polling SQLite's lock (see sqlite_writers)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False,
                                  "factory": connection_class(make_url(url).database or "")}
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # checkpoints run after a writer lets go of the lock file, not inside its commit (sqlite_writers)
    cur.execute("PRAGMA wal_autocheckpoint=0")
    # 64 MB of page cache and a memory-mapped file: lookups in big indexes (the duplicate keys,
    # the inbox) stay in memory instead of re-reading pages through the 2 MB default
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute("PRAGMA mmap_size=268435456")
    cur.close()


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


def init_app(app: Flask, url: str, echo: bool = False) -> Engine:
    engine = make_engine(url, echo)
    app.extensions["db_engine"] = engine

    if engine.dialect.name == "postgresql":
        @app.before_request
        def _plan_lists_for_their_values() -> None:
            # psycopg prepares statements it runs often, and PostgreSQL may then switch them to
            # one generic plan for any parameters. For the scoped lists that pages and GETs read
            # (a unit's path range, a light) that plan is far worse than one made for the actual
            # values (the supervisor's console went from 35 to 70 ms), so reads plan each
            # execution for its values. Changes keep the generic plans of their short key
            # look-ups: forcing custom plans there cost the server a third more per completion.
            if request.method in ("GET", "HEAD") and request.endpoint != "static":
                session.execute(_CUSTOM_PLANS)

    @app.after_request
    def _commit(response: Response) -> Response:
        # one commit per request: a failed request (4xx/5xx) changes nothing
        if response.status_code < 400:
            session.commit()
        else:
            session.rollback()
        return response

    @app.teardown_appcontext
    def _remove(exc: BaseException | None) -> None:
        if exc is not None:
            session.rollback()
        session.remove()

    return engine


def commit_before_answer() -> None:
    """On SQLite, end the request's transaction before building a large answer that only reads.

    The request is still one transaction (every write happened before this point), but SQLite's
    write lock is released before the answer is serialized, so other workers wait less. On
    PostgreSQL the locks are on the changed rows only, and the answer's reads go in the same
    transaction, which commits once at the end of the request (a round trip less).
    """
    if session.get_bind().dialect.name == "sqlite":
        session.commit()
    else:
        from app.core.audit import write_pending  # the answer shows the trail, events of this request included
        session.flush()
        write_pending()


@contextmanager
def transaction() -> Iterator[Session]:
    """A unit of work outside a request (CLI, scheduler, tests): commit on success, else roll back."""
    s = session()
    try:
        yield s
        s.commit()
    except BaseException:
        s.rollback()
        raise
