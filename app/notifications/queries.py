"""Reading a user's notifications."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.core.db import session
from app.notifications.models import Notification

N = Notification.__table__


def unread_count(user_id: int) -> int:
    return session.execute(select(func.count()).select_from(N).where(
        N.c.user_id == user_id, N.c.read_at.is_(None))).scalar_one()


def recent(user_id: int, limit: int = 50, unread_only: bool = False) -> list[Any]:
    statement = select(N).where(N.c.user_id == user_id)
    if unread_only:
        statement = statement.where(N.c.read_at.is_(None))
    return list(session.execute(statement.order_by(N.c.id.desc()).limit(limit)))
