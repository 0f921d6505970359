"""The Alembic migrations build exactly the schema the models describe, and can be undone."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from app.core.db import Base


def test_migrations_match_the_models(app: Flask) -> None:
    with app.extensions["db_engine"].connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(tmp_path: object) -> None:
    from app import create_app
    url = f"sqlite:///{tmp_path}/mig.sqlite"  # type: ignore[str-bytes-safe]
    other = create_app({"ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "m" * 40})
    runner = other.test_cli_runner()
    for args in (["db", "upgrade"], ["db", "downgrade", "base"], ["db", "upgrade"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output, result.exception)
    other.extensions["db_engine"].dispose()
