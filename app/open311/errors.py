"""GeoReport's error answer: an HTTP status and a list of (code, description) pairs.

The spec asks for 404 for what does not exist (service, request, token, jurisdiction), 403 for a
missing or invalid api_key and 400 for anything else a request cannot do; each description says
which parameter was wrong.
"""
from __future__ import annotations

from app.core.errors import AppError


class Open311Error(Exception):
    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = descriptions or ("error",)

    def body(self) -> list[dict[str, object]]:
        return [{"code": self.status, "description": d} for d in self.descriptions]


def bad_request(*descriptions: str) -> Open311Error:
    return Open311Error(400, *descriptions)


def not_found(description: str) -> Open311Error:
    return Open311Error(404, description)


def forbidden(description: str) -> Open311Error:
    return Open311Error(403, description)


def from_app_error(exc: AppError, rename: dict[str, str] | None = None) -> Open311Error:
    """An operation's refusal in GeoReport's terms: its field errors become one entry each,
    named by the GeoReport parameter (``rename`` maps our field names to the parameters)."""
    status = {403: 403, 401: 403, 404: 404}.get(exc.status, 400)
    descriptions = []
    for field, messages in (exc.errors or {}).items():
        name = (rename or {}).get(field, field)
        descriptions.extend(f"{name}: {_english(m)}" for m in messages)
    return Open311Error(status, *(descriptions or [_english(exc.message)]))


def _english(message: str) -> str:
    """Operations write '中文 / English'; an API answer keeps the English half."""
    return message.split(" / ", 1)[-1]
