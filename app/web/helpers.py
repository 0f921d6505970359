"""Small pieces every page uses: Beijing time, login and role checks, safe redirects, paging."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, redirect, request, url_for

from app.core import clock
from app.core.auth import Principal, web_principal
from app.core.db import session as db
from app.core.errors import AppError, Forbidden, NotFound
from app.core.i18n import get_locale, gettext as _
from app.sla import deadlines

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
    """Only same-site relative paths may be redirect targets (no open redirect): a path from the
    root, with no scheme or host, no backslash and no control character or space (browsers drop
    tabs and newlines, so a slash, a tab and ``/evil.example`` would become ``//evil.example``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ch <= " " or ch == "\x7f" for ch in target) or len(target) > 2000:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
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


def page_arg(name: str = "page") -> int:
    """``page=`` (or ``name=``) of the query string, 1 when absent or not a number (a list never
    answers 500 to a bad page number; one past the end is clamped by :class:`Pager`)."""
    try:
        return max(1, min(int(request.args.get(name, 1)), 100_000))
    except ValueError:
        return 1


def page_size() -> int:
    return int(current_app.config["SETTINGS"].PAGE_SIZE)


@dataclass
class Pager:
    page: int
    per_page: int
    total: int
    endpoint: str | None = None  # a page re-rendered by a POST links to its GET view
    args: dict[str, Any] | None = None  # with these query arguments instead of the request's
    param: str = "page"  # the query argument of the page number (a page with several lists: one each)

    def __post_init__(self) -> None:
        # a page past the end (an old link, a list that shrank) shows the last page, not an empty one
        self.page = max(1, min(self.page, self.pages))

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
        if self.endpoint is not None:
            args = {k: v for k, v in (self.args or {}).items() if v not in (None, "") and k != self.param}
            return url_for(self.endpoint, **args, **{self.param: page})
        args = {k: v for k, v in request.args.items() if k != self.param}
        return url_for(request.endpoint or "inbox.index", **(request.view_args or {}), **args, **{self.param: page})


# ---------------------------------------------------------------------------- lights and deadlines

def task_light(task: Any) -> str | None:
    """An open task's light now (app.sla.deadlines): stands still while its case is parked."""
    if getattr(task, "state", "open") != "open":
        return None
    return deadlines.light(task.yellow_at, task.due_at, clock.now(), task.paused_at)


def case_light(case: Any) -> str | None:
    """An open case's light: its earliest open deadline; the moment of parking while parked."""
    if case.status != "open":
        return None
    return deadlines.light(case.yellow_at, case.due_at, clock.now(), case.parked_at)


def signing_pending(task: Any) -> bool:
    """The task waits to be signed for (签收): its deadline is the sign-for limit, not the handling one."""
    return task.started_at is None and bool(task.sign_limit)


def deadline_label(task: Any) -> str:
    return _("签收时限") if signing_pending(task) else _("办理时限")


def limit_text(limit: str | None) -> str:
    """'2d' → '2 个工作日', '4h' → '4 个工作小时' (an extension as asked for)."""
    if not limit:
        return "—"
    number, unit = limit[:-1], limit[-1:]
    if unit == "d":
        return _("{n} 个工作日", n=number)
    if unit == "h":
        return _("{n} 个工作小时", n=number)
    return limit


# ---------------------------------------------------------------------------- small action forms

@dataclass
class ActionState:
    """A refused action form (reason, amounts...) to show again with its messages.

    ``key`` names the form on the page (``urge-12``); ``errors`` are per input, ``general`` the
    messages for the form as a whole; ``values`` what the user typed."""

    key: str
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    message: str | None = None

    @classmethod
    def from_error(cls, key: str, values: dict[str, str], exc: AppError, inputs: tuple[str, ...],
                   aliases: dict[str, str] | None = None) -> ActionState:
        """Sort an operation's field errors onto the form's inputs (``aliases`` renames fields)."""
        errors: dict[str, list[str]] = {}
        general: list[str] = []
        for name, messages in (exc.errors or {}).items():
            name = (aliases or {}).get(name, name)
            if name in inputs:
                errors.setdefault(name, []).extend(messages)
            else:
                general.extend(messages)
        return cls(key, values, errors, general, localize_message(exc.message))

    def for_form(self, key: str) -> bool:
        return self.key == key


def engine_incident_message() -> str:
    """An action's process step failed: the engine kept an incident (the request commits it)."""
    return _("操作已保存，但流程在此步出错，正在等待管理员处理（流程异常）。")


def posted(*names: str) -> dict[str, str]:
    """The posted text inputs of a small form, trimmed (to show them again when refused)."""
    return {name: (request.form.get(name) or "").strip() for name in names}
