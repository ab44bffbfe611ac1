"""Form errors shared by every area: field -> message, raised by services, rendered by templates."""

from __future__ import annotations


class FormErrors(Exception):
    """One or more fields are wrong; ``errors`` maps field name to an Indonesian message.

    The key ``"__all__"`` carries a message about the form as a whole.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors

    @classmethod
    def single(cls, field: str, message: str) -> FormErrors:
        return cls({field: message})
