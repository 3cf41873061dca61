"""The base of every request body: unknown fields are an error, not silently dropped.

A misspelt or unsupported field (`{"selection": {"changed_sinse": ...}}`) used to be
ignored, so the request did something other than what its sender meant (ran every
test, or changed nothing while answering 200). With `extra="forbid"` the answer is a 422 whose
`loc` names the field. Response models stay lenient: they are never built from
client input, and forbidding extras there would only turn harmless additions into
server errors.

Scalars that pydantic would coerce (`0` for `false`, `"5"` or `true` for an int) are
declared strict where they occur (`StrictBool`, `Field(strict=True)`): the schema
says boolean or integer, and a client sending something else has a bug worth a 422.
A model-wide `strict=True` is not an option: FastAPI validates the decoded JSON in
Python mode, where strict enums would refuse their own string values.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

INT32_MAX = 2**31 - 1
"""The largest value an INTEGER column holds (PostgreSQL's is 32-bit)."""


class RequestModel(BaseModel):
    """A JSON request body (or a part of one) that accepts only its declared fields."""

    model_config = ConfigDict(extra="forbid")
