"""Logging in, out and changing passwords: the operations behind the login page, the API's token
and revoke calls and the ``flask users`` commands. Every decision goes to the audit trail.

A refused login answers 4xx, which rolls the request's transaction back; the failure must stay
counted and audited all the same, so :func:`log_in` commits those writes itself before it raises
(the request has written nothing else by then). The current-password check of a password change
does the same: its failures count against the username's lock like failed logins.
"""
from __future__ import annotations

from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request

from app.core import clock
from app.core.audit import record
from app.core.auth import authenticate
from app.core.db import session
from app.core.errors import AppError, Unauthorized, ValidationFailed
from app.orgs.models import User
from app.security import devices, sessions, throttle
from app.security.models import AuthSession
from app.security.passwords import password_problems

USERNAME_MAX = 80
SHANGHAI = ZoneInfo("Asia/Shanghai")


class LoginLocked(AppError):
    """Too many failed logins for this username or address: wait ``retry_after`` seconds."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, round(retry_after / 60))
        # the seconds travel in Retry-After; the body keeps the shape of every error (ErrorSchema)
        super().__init__(f"登录失败次数过多，请 {minutes} 分钟后再试 / too many failed logins; "
                         f"try again in {minutes} min")
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class PasswordChangeLocked(AppError):
    """Too many wrong current passwords (or failed logins) for this username: no password change
    for ``retry_after`` seconds. ``logged_out``: this attempt started the lock and ended the session."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int, *, logged_out: bool) -> None:
        minutes = max(1, round(retry_after / 60))
        if logged_out:
            message = (f"当前密码错误次数过多，已退出登录，请 {minutes} 分钟后再试 / too many wrong current passwords; "
                       f"you have been logged out; try again in {minutes} min")
        else:
            message = (f"密码错误次数过多，暂时不能修改密码，请 {minutes} 分钟后再试 / too many wrong passwords; "
                       f"the password cannot be changed for {minutes} min")
        super().__init__(message)
        self.retry_after = retry_after
        self.logged_out = logged_out
        self.headers = {"Retry-After": str(retry_after)}


class LoginFailed(Unauthorized):
    """Wrong username or password: one message for both, so nobody learns which names exist."""

    def __init__(self) -> None:
        super().__init__("用户名或密码错误 / wrong username or password")


def _client() -> dict[str, Any]:
    if not has_request_context():
        return {"channel": "cli"}
    return {"ip": sessions.client_ip(), "user_agent": (request.headers.get("User-Agent") or "")[:200] or None}


class LoggedIn(NamedTuple):
    user: User
    auth_session: AuthSession
    secret: str  # the session's secret or the API token: only the client gets it
    device_cookie: str | None  # the browser's new device cookie (login page only)


def log_in(username: str, password: str, kind: str) -> LoggedIn:
    """Check a login (device cookie, throttle, password) and open a browser session or an API token.

    A login page attempt with a device cookie for ``username`` is exempt from the username and
    address locks and counts its failures against that cookie (:mod:`app.security.devices`);
    any other attempt is throttled. Raises :class:`LoginLocked` or :class:`LoginFailed` after
    committing the audit events and failure counters.
    """
    username = username.strip()[:USERNAME_MAX]
    client = _client()
    channel = "page" if kind == "web" else "api"
    device = devices.trusted(username) if kind == "web" else None
    if device is None:
        lock = throttle.current_lock(username, client.get("ip"))
        if lock is not None:
            now = clock.wall_now()
            record("login_refused", username=username, reason="locked", locked_key=lock.key,
                   locked_until=lock.until.isoformat(), via=channel, **client)
            session.commit()
            raise LoginLocked(lock.retry_after(now))
    user = authenticate(username, password)
    if user is None:
        record("login_failed", username=username, via=channel, trusted_device=device is not None, **client)
        if device is not None:
            if devices.record_failure(device):
                record("device_distrusted", username=username, reason="failures", via=channel, **client)
        else:
            for started in throttle.record_failure(username, client.get("ip")):
                record("login_locked", username=username, locked_key=started.key,
                       locked_until=started.until.isoformat(), via=channel, **client)
        session.commit()
        raise LoginFailed()
    cookie = None
    if device is None:
        throttle.clear_user(username)  # not from a trusted browser: the lock is for untrusted guessers
    if kind == "web":
        cookie = devices.remember(user, device)
        row, secret = sessions.open_web_session(user.id)
        record("login", actor=user, session_id=row.id, via=channel, trusted_device=device is not None, **client)
    else:
        row, secret = sessions.open_api_token(user.id)
        record("token_issued", actor=user, session_id=row.id, expires_at=row.expires_at.isoformat(), **client)
    return LoggedIn(user, row, secret, cookie)


def log_out(row_id: int, user: Any) -> None:
    """End a browser session (logout): its cookie, or any copy of it, no longer logs in."""
    if sessions.revoke(row_id, "logout"):
        record("logout", actor=user, session_id=row_id, **_client())


def revoke_token(row_id: int, token: str, user: Any) -> None:
    """End the API token the caller presented."""
    from app.core.auth import forget_token
    if sessions.revoke(row_id, "revoked"):
        record("token_revoked", actor=user, session_id=row_id, **_client())
    forget_token(token)


def revoke_user_sessions(target: User, actor: Any, reason: str = "revoked by admin", *,
                         keep: int | None = None) -> int:
    """End all browser sessions and API tokens of ``target`` (but ``keep``); audited, and the user
    is told when someone else did it."""
    count = sessions.revoke_user(target.id, reason, keep=keep)
    record("sessions_revoked", actor=actor, user=target.username, count=count, reason=reason, **_client())
    if getattr(actor, "id", None) != target.id and reason != "password changed":
        _tell(target, f"管理员结束了您的全部登录和 API 令牌（{count} 个），请重新登录。"
                      f" / An administrator ended all your logins and API tokens ({count}); log in again.")
    return count


def end_own_session(user: User, row_id: int) -> bool:
    """The user ends one of their own sessions or tokens (the account page)."""
    row = session.get(AuthSession, row_id)
    if row is None or row.user_id != user.id or not sessions.revoke(row_id, "ended by user"):
        return False
    from app.core.auth import forget_user_tokens
    forget_user_tokens(user.id)
    record("session_ended", actor=user, session_id=row_id, kind=row.kind, **_client())
    return True


def _tell(user: User, message: str) -> None:
    """An in-app notification about the user's account (ASVS 2.2.3: changes are announced)."""
    from app.notifications.operations import notify
    notify([user.id], "account", message)


def check_new_password(username: str, password: str) -> None:
    """422 with field messages unless ``password`` meets the policy for ``username``."""
    problems = password_problems(password, username, current_app.config["SETTINGS"].PASSWORD_MIN_LENGTH)
    if problems:
        raise ValidationFailed("密码不符合要求 / the password does not meet the policy", errors={"password": problems})


def change_password(user: User, current: str, new: str, confirm: str, *, keep: int | None) -> int:
    """The user sets a new password (knowing the current one); every other session and token ends.

    The current password is guessed no faster than a login: while the username is locked the
    change is refused (:class:`PasswordChangeLocked`, nothing checked); a wrong one counts against
    the username's lock, and the failure that starts a lock also ends the session ``keep`` (a
    stolen cookie's) and this browser's device cookie for the user. Returns how many sessions and
    tokens were ended. Field errors raise 422, nothing changed.
    """
    lock = throttle.current_user_lock(user.username)
    if lock is not None:
        record("password_change_refused", actor=user, reason="locked", locked_key=lock.key,
               locked_until=lock.until.isoformat(), session_id=keep, **_client())
        session.commit()
        raise PasswordChangeLocked(lock.retry_after(clock.wall_now()), logged_out=False)
    errors: dict[str, list[str]] = {}
    if not user.check_password(current):
        _wrong_current_password(user, keep)
        errors["current_password"] = ["当前密码不正确 / the current password is wrong"]
    problems = password_problems(new, user.username, current_app.config["SETTINGS"].PASSWORD_MIN_LENGTH)
    if problems:
        errors["password"] = problems
    elif new != confirm:
        errors["confirm"] = ["两次输入的新密码不一致 / the two new passwords differ"]
    elif new == current:
        errors["password"] = ["新密码不能与当前密码相同 / the new password must differ from the current one"]
    if errors:
        raise ValidationFailed("密码未修改 / the password was not changed", errors=errors)
    return set_password(user, new, actor=user, keep=keep)


def _wrong_current_password(user: User, keep: int | None) -> None:
    """Count and audit a wrong current password (committed: the 422 rolls the request back);
    raise :class:`PasswordChangeLocked` when this one started the username's lock."""
    client = _client()
    record("password_change_failed", actor=user, session_id=keep, **client)
    started = throttle.record_user_failure(user.username)
    for lock in started:
        record("login_locked", username=user.username, locked_key=lock.key, locked_until=lock.until.isoformat(),
               via="account", **client)
    if started:
        if keep is not None and sessions.revoke(keep, "password guessing"):
            record("logout", actor=user, session_id=keep, reason="password guessing", **client)
        if devices.forget_presented(user):
            record("device_distrusted", username=user.username, reason="password guessing", via="account", **client)
    session.commit()
    if started:
        raise PasswordChangeLocked(started[0].retry_after(clock.wall_now()), logged_out=True)


def set_password(user: User, new: str, *, actor: Any, keep: int | None = None) -> int:
    """Store a new password (policy checked by the caller) and end the user's other sessions."""
    user.set_password(new)
    user.token_generation += 1
    session.flush()
    client = _client()
    record("password_changed", actor=actor, user=user.username, **client)
    when = clock.wall_now().astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    where = client.get("ip") or client.get("channel")
    _tell(user, f"您的密码已于 {when} 修改（{where}），其他登录和 API 令牌已失效。如非本人操作，请立即联系管理员。"
                f" / Your password was changed at {when} ({where}); your other logins and API tokens ended. "
                "If this was not you, tell an administrator at once.")
    return revoke_user_sessions(user, actor, "password changed", keep=keep)
