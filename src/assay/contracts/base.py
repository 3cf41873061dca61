"""The base every contract model shares."""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict

VERSION: Final = 1
"""The contract version of job specs and replies (see the package docstring)."""


class Contract(BaseModel):
    """A message between processes: unknown fields are an error, not ignored.

    A field one side adds and the other does not know is a version skew to see at
    once; dropping it silently is how a producer and a consumer drift apart.
    """

    model_config = ConfigDict(extra="forbid")
