"""The base of every request body: unknown fields are an error, not silently dropped.

A misspelt or unsupported field (`{"selection": {"changed_sinse": ...}}`) used to be
ignored, so the request did something other than what its sender meant (ran every
test, or changed nothing while answering 200). With `extra="forbid"` the answer is a 422 whose
`loc` names the field. Response models stay lenient: they are never built from
client input, and forbidding extras there would only turn harmless additions into
server errors.

Scalars that pydantic would coerce (`0` for `false`, `"5"` or `true` for an int) are
declared strict where they occur (`StrictBool`, `Integer`): the schema says boolean
or integer, and a client sending something else has a bug worth a 422. A model-wide
`strict=True` is not an option: FastAPI validates the decoded JSON in Python mode,
where strict enums would refuse their own string values.

What a body must satisfy beyond its fields' types (exactly one of two fields) is
said in its schema too (`one_of`), so a client that follows the schema is never
refused for what the schema allows.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Strict

INT32_MAX = 2**31 - 1
"""The largest value an INTEGER column holds (PostgreSQL's is 32-bit)."""


class RequestModel(BaseModel):
    """A JSON request body (or a part of one) that accepts only its declared fields."""

    model_config = ConfigDict(extra="forbid")


def _integral(value: Any) -> Any:
    """`1530.0` is the integer 1530 to JSON and JSON Schema; `1.5`, `"5"` and `true` are not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


INTEGER = (Strict(), BeforeValidator(_integral))
Integer = Annotated[int, *INTEGER]
"""A JSON integer: an int, or a float with no fractional part; never a string or a bool.

Bounds go on the field (`Field(ge=...)`), or before `*INTEGER` in an `Annotated`.
"""


def one_of(*fields: str) -> dict[str, Any]:
    """The schema of "exactly one of these (nullable) fields is given and not null".

    For a model's `json_schema_extra`; a model validator enforces the same.
    """
    branches = []
    for field in fields:
        others = {other: {"type": "null"} for other in fields if other != field}
        branches.append({"required": [field], "properties": {field: {"not": {"type": "null"}},
                                                              **others}})
    return {"oneOf": branches}


def not_null(schema: dict[str, Any]) -> None:
    """`json_schema_extra` of an optional field that may be left out but not sent as null.

    The model keeps `None` as "not given"; the route refuses an explicit null.
    """
    branches = schema.pop("anyOf", None)
    if branches is None:
        return
    if schema.get("default", ...) is None:
        del schema["default"]
    kept = [b for b in branches if b.get("type") != "null"]
    if len(kept) == 1:
        schema.update(kept[0])
    else:
        schema["anyOf"] = kept
