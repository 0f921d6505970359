"""Send and read notifications. Sending is a multi-row insert inside the caller's transaction."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, update

from app.core.db import session, utcnow
from app.notifications.models import KINDS, Notification

NOTIFICATIONS = Notification.__table__


def notify(user_ids: Iterable[int], kind: str, message: str, case_id: int | None = None,
           task_id: int | None = None, actor: Any = None) -> int:
    """Notify each of ``user_ids`` once; returns how many were notified."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    now = utcnow()
    actor_name = getattr(actor, "username", None)
    rows = [{"user_id": uid, "kind": kind, "case_id": case_id, "task_id": task_id, "message": message[:2000],
             "actor_name": actor_name, "created_at": now, "read_at": None} for uid in dict.fromkeys(user_ids)]
    if rows:
        session.execute(insert(NOTIFICATIONS), rows)
    return len(rows)


def mark_read(user_id: int, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications (all, or those ids) read; returns how many changed."""
    statement = update(NOTIFICATIONS).where(NOTIFICATIONS.c.user_id == user_id, NOTIFICATIONS.c.read_at.is_(None))
    if notification_ids is not None:
        ids = list(notification_ids)
        if not ids:
            return 0
        statement = statement.where(NOTIFICATIONS.c.id.in_(ids))
    return session.execute(statement.values(read_at=utcnow())).rowcount
