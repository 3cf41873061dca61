"""Where a request came from: the dashboard and the CLI say so in `X-Assay-Client`.

A plan's trigger records it, so a list of plans tells a run started in the dashboard
from one a script queued through the API. A client that does not say is the API.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from assay.db.models import Trigger

CLIENT_HEADER = "X-Assay-Client"

KNOWN = {"dashboard": Trigger.dashboard, "cli": Trigger.cli}

ClientName = Annotated[
    str | None,
    Header(
        alias=CLIENT_HEADER,
        max_length=64,
        description="Which client sends the request (`dashboard`, `cli`); recorded as "
        "the trigger of a plan it creates. Anything else, or none, is `api`.",
    ),
]


def trigger_for(client: str | None) -> Trigger:
    return KNOWN.get((client or "").strip().lower(), Trigger.api)
