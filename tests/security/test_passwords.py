"""The password policy (ASVS V2.1) where passwords are set: the CLI, the account page."""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.security.conftest import api_token


def test_policy() -> None:
    from app.security.passwords import common_passwords, password_problems
    assert len(common_passwords()) > 10_000 and "password" in common_passwords()
    assert password_problems("correct horse battery staple", "zhang.wei", 12) == []
    assert password_problems("我们的城市一网统管好好办", "zhang.wei", 12) == []  # Chinese passphrases count by characters
    assert len(password_problems("short", "zhang.wei", 12)) == 1
    assert any("common" in p for p in password_problems("1qaz2wsx3edc4rfv", "zhang.wei", 12))
    assert any("common" in p for p in password_problems("QWERTYUIOP123", "zhang.wei", 12))  # case does not help
    assert any("common" in p for p in password_problems("１２３４５６７８９０１２", "x", 12))  # nor full-width digits
    assert any("username" in p for p in password_problems("zhang.wei.admin", "zhang.wei.admin", 12))
    assert any("username" in p for p in password_problems("ZHANG.WEI.2026", "zhang.wei", 12))
    assert any("at most" in p for p in password_problems("x" * 129, "zhang.wei", 12))
    assert password_problems("x" * 128 + "", "zhang.wei", 12) == []


def test_cli_create_applies_the_policy(app: Flask, anon: Callable[[], FlaskClient]) -> None:
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["users", "create", "cli_weak_user", "--name", "弱密码", "--role", "operator@city",
                               "--password", "password1234"])
    assert weak.exit_code != 0 and "most common" in weak.output
    short = runner.invoke(args=["users", "create", "cli_weak_user", "--name", "弱密码", "--password", "demo"])
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    assert api_token(anon(), "cli_weak_user", "demo").status_code == 401  # nothing was created
    ok = runner.invoke(args=["users", "create", "cli_good_user", "--name", "好密码", "--role", "operator@city"],
                       input="a long enough passphrase\n" * 2)
    assert ok.exit_code == 0, ok.output
    assert api_token(anon(), "cli_good_user", "a long enough passphrase").status_code == 200


def test_cli_password_applies_the_policy_and_ends_sessions(app: Flask, anon: Callable[[], FlaskClient],
                                                           make_user: Callable[..., str]) -> None:
    username = make_user()
    client = anon()
    token = api_token(client, username).get_json()["token"]
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["users", "password", username, "--password", username])
    assert bad.exit_code != 0 and "username" in bad.output
    ok = runner.invoke(args=["users", "password", username, "--password", "the new one is long"])
    assert ok.exit_code == 0 and "1 sessions and tokens ended" in ok.output
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert api_token(anon(), username, "the new one is long").status_code == 200


def test_demo_users_keep_their_password(anon: Callable[[], FlaskClient]) -> None:
    """The policy applies where passwords are set, not at login: demo data keeps 'demo'."""
    assert api_token(anon(), "demo_leader", "demo").status_code == 200
