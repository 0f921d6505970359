"""The audit trail refuses changes in the database itself; settings are checked at start-up."""
from __future__ import annotations

from typing import Any, Callable

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from app.config import ConfigError, load_settings


def test_audit_rows_cannot_be_updated_or_deleted(app: Flask, make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    engine = app.extensions["db_engine"]
    for statement in ("UPDATE audit_events SET action = 'forged' WHERE case_id = :c",
                      "DELETE FROM audit_events WHERE case_id = :c"):
        with pytest.raises(DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(statement), {"c": case["id"]})
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_events WHERE case_id = :c AND action = 'case_created'"),
                            {"c": case["id"]}).scalar() == 1


def test_production_needs_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings({"ENV": "production"})
    with pytest.raises(ConfigError, match="32"):
        load_settings({"ENV": "production", "SECRET_KEY": "short"})


@pytest.mark.parametrize("overrides,message", [
    ({"ENV": "staging"}, "TONGGUAN_ENV"),
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ({"TOKEN_MAX_AGE": 5}, "TOKEN_MAX_AGE"),
    ({"NOPE": 1}, "unknown setting"),
])
def test_bad_settings_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(overrides)


def test_environment_values_are_coerced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGGUAN_TOKEN_MAX_AGE", "600")
    monkeypatch.setenv("TONGGUAN_SQL_ECHO", "yes")
    settings = load_settings({"ENV": "testing"})
    assert settings.TOKEN_MAX_AGE == 600 and settings.SQL_ECHO is True
    monkeypatch.setenv("TONGGUAN_TOKEN_MAX_AGE", "ten minutes")
    with pytest.raises(ConfigError, match="integer"):
        load_settings({"ENV": "testing"})


def test_demo_data_is_refused_in_production(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.config["SETTINGS"], "ENV", "production")
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code != 0 and "only for" in result.output
