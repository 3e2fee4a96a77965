"""Errors services raise; one API exception handler and one page helper turn them into answers."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A rule said no. `message` is written for the person who asked."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.extra = extra or {}


class NotPermitted(ApplicationError):
    status_code = 403
    code = "permission_denied"


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"
