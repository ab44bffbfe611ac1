"""The one shape of a refusal the user reads: services raise it, handlers show ``message``."""

from __future__ import annotations


class UserError(ValueError):
    """Something the user can fix or retry; ``message`` is already in their language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
