"""Small pieces every page uses: Beijing time, login and role checks, safe redirects, paging."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import wraps
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import current_app, redirect, request, url_for

from app.core.auth import Principal, web_principal
from app.core.db import session as db
from app.core.errors import Forbidden, NotFound
from app.core.i18n import get_locale, gettext as _

SHANGHAI = ZoneInfo("Asia/Shanghai")
F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M")


def format_dt(value: datetime | date | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (aware, UTC) time as Beijing time; ``None`` → '—'. Naive values count as UTC."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):  # audit details keep ISO strings
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(SHANGHAI).strftime(fmt)
    return value.strftime("%Y-%m-%d")


def localize_message(message: str) -> str:
    """Operations raise ``'中文 / English'`` messages: keep the half for the current language."""
    if " / " not in message:
        return _(message)
    zh, en = message.split(" / ", 1)
    return en if get_locale() == "en" else zh


def current_principal() -> Principal:
    """The logged-in user of a view behind :func:`login_required`."""
    principal = web_principal()
    if principal is None:  # pragma: no cover - login_required runs first
        raise Forbidden(_("请先登录"))
    return principal


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths may be redirect targets (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def login_url() -> str:
    target = request.full_path.rstrip("?") if request.method == "GET" else None  # a POST cannot be replayed
    return url_for("auth.login", next=safe_next(target))


def login_required(view: F) -> F:
    """Send visitors who are not logged in to the login page, coming back here afterwards."""
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if web_principal() is None:
            return redirect(login_url())
        return view(*args, **kwargs)
    return wrapped  # type: ignore[return-value]


def require_role(principal: Principal, *roles: str) -> None:
    """403 unless the user holds one of ``roles`` (at any unit)."""
    if not principal.has_role(*roles):
        raise Forbidden(_("您没有访问此页面的权限"))


def role_required(*roles: str) -> Callable[[F], F]:
    """Like :func:`login_required`, and the user must hold one of ``roles``."""
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            principal = web_principal()
            if principal is None:
                return redirect(login_url())
            require_role(principal, *roles)
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorate


def get_or_404(model: type[M], ident: int, message: str) -> M:
    obj = db.get(model, ident)
    if obj is None:
        raise NotFound(message)
    return obj


def page_arg() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 100_000))
    except ValueError:
        return 1


def page_size() -> int:
    return int(current_app.config["SETTINGS"].PAGE_SIZE)


@dataclass
class Pager:
    page: int
    per_page: int
    total: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def url(self, page: int) -> str:
        """The current page's URL with another page number (keeps the filters)."""
        args = {k: v for k, v in request.args.items() if k != "page"}
        return url_for(request.endpoint or "inbox.index", **(request.view_args or {}), **args, page=page)


YELLOW_SHARE = 0.25  # yellow when less than this share of the allowed time is left


def due_light(created: datetime | None, due: datetime | None, now: datetime | None = None) -> str | None:
    """'red' when overdue, 'yellow' when little time is left, 'green' otherwise; None without a limit."""
    if due is None:
        return None
    now = now or datetime.now(timezone.utc)
    if now >= due:
        return "red"
    if created is not None and created < due and (due - now) < (due - created) * YELLOW_SHARE:
        return "yellow"
    return "green"
