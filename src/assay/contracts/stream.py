"""The lines the pytest plugin inside the sandbox writes, one JSON object per line.

The plugin (`assay.runner._assay_stream`) runs in the project's interpreter without
Assay or pydantic, so it writes these as plain JSON; the runner's tracker validates
each line against `LINE` and ignores what is not one of them (a project's own
output that happens to reach the stream's descriptor is not a protocol message).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from assay.contracts.jobs import Outcome


class Line(BaseModel):
    # The plugin is the project's interpreter's code and may be a newer runner than
    # this server during an upgrade: extra fields are tolerated, not fatal.
    model_config = ConfigDict(extra="ignore")


class CollectError(Line):
    event: Literal["collect_error"]
    nodeid: str = ""
    failure: str | None = None


class Collected(Line):
    event: Literal["collected"]
    nodeids: list[str]


class Start(Line):
    event: Literal["start"]
    nodeid: str
    t: float | None = None


class Result(Line):
    event: Literal["result"]
    nodeid: str
    outcome: Outcome = "error"
    duration_s: float | None = 0.0
    failure: str | None = None
    output: str | None = None
    reason: str | None = None


class SessionFinished(Line):
    event: Literal["finished"]
    exitstatus: int


StreamLine = Annotated[CollectError | Collected | Start | Result | SessionFinished,
                       Field(discriminator="event")]
LINE: TypeAdapter[StreamLine] = TypeAdapter(StreamLine)
