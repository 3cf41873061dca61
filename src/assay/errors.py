"""The kinds of error Assay raises on purpose, whatever layer raises them.

Every deliberate failure derives from `AssayError` through one of its kinds, which
say who must act and how: the thing asked for does not exist (`NotFound`), it
clashes with the current state (`Conflict`), the input must change
(`InvalidInput`), the caller may not do it (`Unauthenticated`, `Forbidden`), or the
server cannot do it now (`Unavailable`, `Throttled`, `Misconfigured`). Modules keep
their own classes (and any standard base their callers catch, such as
`ValueError`) and add a kind as a base; the API turns a kind into a status code in
one place (`assay.api.errors`), so this module knows nothing of HTTP.
"""

from __future__ import annotations


class AssayError(Exception):
    """An error Assay raises on purpose; its message is meant for a person to act on."""

    field: str | None = None
    """The input field at fault, when one is (for `InvalidInput`)."""


class NotFound(AssayError):
    """What was asked for (or referred to) does not exist."""


class Conflict(AssayError):
    """The request clashes with the current state (a duplicate, a stale version, a race)."""


class InvalidInput(AssayError):
    """The input (a request, or the project it refers to) must change to be served."""


class TooLarge(InvalidInput):
    """An input is larger than the server accepts."""


class Unauthenticated(AssayError):
    """The caller is not known: no credentials, or ones that are not (or no longer) valid."""


class Forbidden(AssayError):
    """The caller is known but may not do this."""


class Throttled(AssayError):
    """Too many attempts; `retry_after` says in how many seconds to try again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(AssayError):
    """The server cannot do this now or here (a missing sandbox, a stopped service)."""


class Misconfigured(AssayError):
    """The server is set up wrong; an administrator must fix it."""
