"""Who may see who reported a case.

A caller may ask the hotline to keep them anonymous (反映人信息保密: the hotline extension's
``confidential``). Then only those who deal with reporters — operators (受理, 回访), supervisors
and administrators — see the name and phone; the departments that handle the problem see
"confidential". The flag is data of the channel form, so any channel can offer it.
"""
from __future__ import annotations

from typing import Any

from flask import g, has_request_context

SEES_CONFIDENTIAL = ("operator", "supervisor", "admin")


def is_confidential(case: Any) -> bool:
    return bool(getattr(case, "extension", None)) and case.extension_data.get("confidential") is True


def reporter_visible(case: Any, principal: Any = None) -> bool:
    """Whether ``principal`` (default: the caller of this request) may see the case's reporter."""
    if not is_confidential(case):
        return True
    if principal is None and has_request_context():
        principal = g.get("principal")
    return principal is not None and principal.has_role(*SEES_CONFIDENTIAL)
