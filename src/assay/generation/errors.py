"""Typed errors of the generation core.

`GenerationInputError` is the only error the API layer needs to know: it means the
request itself is wrong (the user can fix it), so it maps to HTTP 422. Anything that
goes wrong later (sandbox, model provider) is reported on the result, never raised.
"""

from __future__ import annotations

from assay.errors import InvalidInput, Unavailable


class GenerationInputError(InvalidInput, ValueError):
    """The request cannot be served as given; the message says what to fix."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class LLMError(Unavailable, RuntimeError):
    """A model provider answered with an error, timed out, refused or was unreadable.

    Carries a message that is safe to show (it never contains the API key).
    """
