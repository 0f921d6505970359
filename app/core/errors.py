"""Errors that views turn into clear answers: 400/403/404/409/422, never a 500."""
from __future__ import annotations


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors
        self.extra = extra

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.code, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class ValidationFailed(AppError):
    status = 422
    code = "validation_failed"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
