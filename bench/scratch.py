"""A scratch application for a benchmark: a fresh database with the migrations and the demo city.

SQLite in a temporary folder, or the PostgreSQL database given, whose public schema is DROPPED
and recreated: point it at a database used only for benchmarks.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, text

from app import create_app


def scratch_app(database_url: str | None, prefix: str, commands: tuple[tuple[str, ...], ...] = (("db", "upgrade"), ("demo", "load"))) -> tuple[Flask, str]:
    """The app on a fresh database, after running ``commands`` (flask CLI); and the database URL."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    url = database_url or f"sqlite:///{tmp}/bench.sqlite"
    if url.startswith("postgresql"):
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app({"ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "b" * 40, "ATTACHMENT_DIR": Path(tmp)})
    runner = app.test_cli_runner()
    for command in commands:
        result = runner.invoke(args=list(command))
        assert result.exit_code == 0, (command, result.output)
    return app, url
