"""Repeated deliveries of one intake request, answered without disclosing anyone else's case.

A client that retries (a network error, a double click, a channel adapter re-sending) gets the
case its first delivery created instead of a second one. Two keys name a first delivery:

* an ``Idempotency-Key`` header (API, Open311) or a form's one-time token (web pages). It is the
  client's own: stored scoped to the client that sent it (``user:<id>``, ``open311:<key id>``) and
  hashed, so another client's identical key is simply another key;
* a channel's message id (``channel`` + ``external_id``): one per channel, whoever sends it. Its
  case is answered only to its creator or to someone who may see it; anyone else gets a 409
  that names no case.

Either key sent again with other content is refused (422): the first request is the one that
counts (as the IETF Idempotency-Key draft asks), and a changed body usually means a client bug.
"""
from __future__ import annotations

import hashlib
from typing import Any

import orjson

from app.cases.models import Case
from app.core.errors import Conflict, ValidationFailed

KEY_FIELD = "Idempotency-Key"


def client_scope(actor: Any) -> str:
    """Who a key belongs to: the user, the Open311 client (its API key), or the system."""
    key_id = getattr(actor, "key_id", None)
    if key_id is not None:
        return f"open311:{key_id}"
    user_id = getattr(actor, "id", None)
    return f"user:{user_id}" if user_id is not None else "system"


def scoped_key(actor: Any, key: str) -> str:
    """The stored form of a client's key (at most 120 characters, whatever the key's length)."""
    return f"{client_scope(actor)}:{hashlib.sha256(key.encode('utf-8')).hexdigest()}"


def request_digest(data: dict[str, Any]) -> str:
    """A fingerprint of the validated intake request (key order and number formats aside)."""
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()


def answer_repeat(existing: Case, digest: str, actor: Any, by: str) -> Case:
    """The case of an earlier delivery, if this caller may have it; ``by`` is the key that matched
    (``KEY_FIELD`` or ``external_id``)."""
    if by == "external_id" and not _may_see(actor, existing):
        raise Conflict("该渠道消息已登记为工单 / a case for this channel message exists already",
                       errors={"external_id": ["已被使用 / already used"]})
    if existing.intake_digest is not None and existing.intake_digest != digest:
        raise ValidationFailed("invalid input", errors={by: [
            "该标识已用于内容不同的另一次提交 / this key was already used for a request with different content"]})
    return existing


def _may_see(actor: Any, case: Case) -> bool:
    user_id = getattr(actor, "id", None)
    if user_id is not None and case.created_by_id == user_id:
        return True
    if not hasattr(actor, "grants"):  # an Open311 client or the system: only what it created itself
        return False
    from app.tasks.queries import can_view_case
    return can_view_case(actor, case)
