"""Log in and out with a server-side session, change the password, and choose the language.

The cookie carries only the secret of the session's row (``app.security.sessions``): logout
revokes the row, so a copy of the cookie taken before stops working at once.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, session as web_session, url_for

from app.core.auth import ENDED_KEY, SESSION_KEY, web_principal
from app.core.db import session as db
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import LOCALES, forget_locale, gettext as _
from app.orgs.models import User
from app.orgs.operations import set_user_locale
from app.security import devices, sessions
from app.security.login import (LoginFailed, LoginLocked, PasswordChangeLocked, change_password, end_own_session,
                                log_in, log_out, revoke_user_sessions)
from app.web.helpers import current_principal, localize_message, login_required, safe_next

bp = Blueprint("auth", __name__)


def _login_page(next_url: str | None, username: str, error: str | None, status: int = 200,
                headers: dict[str, str] | None = None) -> Any:
    notice = _("会话已过期或已退出，请重新登录") if web_session.pop(ENDED_KEY, None) and error is None else None
    return render_template("login.html", next=next_url, username=username, error=error, notice=notice), status, \
        headers or {}


def landing_url(user: User) -> str:
    """Where a login without ``next`` lands: a leader's cockpit, everyone else's inbox."""
    if any(r.role == "leader" for r in user.roles):
        return url_for("cockpit.index")
    return url_for("inbox.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        web_principal()  # notices a session that ended (the page says so)
        return _login_page(next_url, "", None)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or not password:
        return _login_page(next_url, username, _("请输入用户名和密码"), 401)
    old = web_session.get(SESSION_KEY)
    try:
        login = log_in(username, password, "web")
    except LoginLocked as exc:
        return _login_page(next_url, username, localize_message(exc.message), 429, exc.headers)
    except LoginFailed:
        return _login_page(next_url, username, _("用户名或密码错误"), 401)
    if old:  # logging in over another session ends it (and no id from before the login survives)
        previous = sessions.find_live(str(old), "web")
        if previous is not None:
            sessions.revoke(previous.id, "replaced")
    _fresh_session()
    web_session[SESSION_KEY] = login.secret
    g.pop("principal", None)
    forget_locale()
    response = redirect(next_url or landing_url(login.user))
    if login.device_cookie is not None:  # this browser's logins as this user skip others' lockouts
        devices.set_cookie(response, login.device_cookie)
    return response


def _fresh_session() -> None:
    """Empty the browser's session (no fixation: nothing from before carries over) but its language."""
    locale = web_session.get("locale")
    web_session.clear()
    if locale in LOCALES:
        web_session["locale"] = locale


@bp.post("/logout")
def logout() -> Any:
    principal = web_principal()
    session_id = g.get("auth_session_id")
    if principal is not None and session_id is not None:
        log_out(session_id, principal.user)
    _fresh_session()
    return redirect(url_for("auth.login"))


def _user_row(user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:  # pragma: no cover - the principal was loaded from this row in this request
        raise NotFound(_("找不到该用户"))
    return user


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> Any:
    """The user's own page: change the password, see and end the other live sessions."""
    principal = current_principal()
    current_id = g.get("auth_session_id")
    errors: dict[str, list[str]] = {}
    status = 200
    headers: dict[str, str] = {}
    if request.method == "POST":
        try:
            ended = change_password(_user_row(principal.id), request.form.get("current_password", ""),
                                    request.form.get("password", ""), request.form.get("confirm", ""), keep=current_id)
        except ValidationFailed as exc:
            db.rollback()
            errors = {k: [localize_message(m) for m in v] for k, v in (exc.errors or {}).items()}
            status = 422
        except PasswordChangeLocked as exc:
            if exc.logged_out:  # this session was used to guess the password: it has ended
                _fresh_session()
                g.pop("principal", None)
                return _login_page(None, "", localize_message(exc.message), 429, exc.headers)
            errors = {"current_password": [localize_message(exc.message)]}
            status, headers = 429, exc.headers
        else:
            flash(_("密码已修改，其他 {n} 个会话和令牌已失效", n=ended), "success")
            return redirect(url_for("auth.account"))
    return render_template("account.html", live=sessions.live_sessions(principal.id), current_id=current_id,
                           errors=errors), status, headers


@bp.post("/account/sessions/end-others")
@login_required
def end_other_sessions() -> Any:
    principal = current_principal()
    ended = revoke_user_sessions(_user_row(principal.id), principal.user, "ended by user",
                                 keep=g.get("auth_session_id"))
    flash(_("已结束其他 {n} 个会话和令牌", n=ended), "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/sessions/<id:session_id>/end")
@login_required
def end_session(session_id: int) -> Any:
    """End one of the user's own sessions or tokens (another device, a script's token)."""
    principal = current_principal()
    if not end_own_session(_user_row(principal.id), session_id):
        raise NotFound(_("找不到该会话"))
    flash(_("已结束该会话或令牌"), "success")
    if session_id == g.get("auth_session_id"):
        web_session.clear()
        return redirect(url_for("auth.login"))
    return redirect(url_for("auth.account"))


@bp.post("/lang/<locale>")
def set_language(locale: str) -> Any:
    """Switch the language for this browser (and remember it as the user's preference)."""
    if locale not in LOCALES:
        raise NotFound(_("不支持该语言"))
    web_session["locale"] = locale
    principal = web_principal()
    if principal is not None and principal.user.locale != locale:
        set_user_locale(principal.id, locale)
    return redirect(safe_next(request.form.get("next")) or url_for("inbox.index"))
