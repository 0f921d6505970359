"""Log in and out with a session cookie, and choose the interface language."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, session as web_session, url_for

from app.core.auth import authenticate, web_principal
from app.core.errors import NotFound
from app.core.i18n import LOCALES, gettext as _
from app.orgs.operations import set_user_locale
from app.web.helpers import safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=next_url, username="", error=None)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    user = authenticate(username, password) if username and password else None
    if user is None:
        error = _("用户名或密码错误") if username and password else _("请输入用户名和密码")
        return render_template("login.html", next=next_url, username=username, error=error), 401
    locale = web_session.get("locale")
    web_session.clear()  # a fresh session: nothing from before the login carries over
    web_session["uid"] = user.id
    web_session["gen"] = user.token_generation
    if locale in LOCALES:
        web_session["locale"] = locale
    g.pop("principal", None)
    g.pop("locale", None)
    return redirect(next_url or url_for("inbox.index"))


@bp.post("/logout")
def logout() -> Any:
    locale = web_session.get("locale")
    web_session.clear()
    if locale in LOCALES:
        web_session["locale"] = locale
    return redirect(url_for("auth.login"))


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
