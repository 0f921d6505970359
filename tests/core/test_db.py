"""The database layer's per-request settings."""
from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text

from app.core.db import session


def test_reads_on_postgresql_plan_each_execution_for_its_values(app: Flask) -> None:
    """GETs read scoped lists, whose generic plans are poor: they plan every execution. Changes
    keep PostgreSQL's default, which reuses the plans of their short key look-ups."""
    if app.extensions["db_engine"].dialect.name != "postgresql":
        pytest.skip("a PostgreSQL setting")
    for method, expected in (("GET", "force_custom_plan"), ("POST", "auto")):
        with app.test_request_context("/healthz", method=method):
            app.preprocess_request()
            assert session.execute(text("SHOW plan_cache_mode")).scalar() == expected, method
            session.rollback()
            session.remove()
