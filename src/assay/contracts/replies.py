"""A Celery worker's replies for one job, in order, on its orchestrator's stream.

`started` when a delivery begins, the item events as they happen, then exactly one
of `outcome`, `env_error` or `error`. Each entry of the Redis stream carries the
job id, the reply's `type` and its JSON body.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from assay.contracts.base import VERSION, Contract
from assay.contracts.jobs import ItemFinished, ItemStarted, JobOutcome


class Started(Contract):
    type: Literal["started"] = "started"
    version: Literal[1] = VERSION
    worker: str
    pid: int
    task_id: str
    redelivered: bool


class Finished(Contract):
    type: Literal["outcome"] = "outcome"
    outcome: JobOutcome


class EnvError(Contract):
    """The job's environment could not be built on the worker."""

    type: Literal["env_error"] = "env_error"
    message: str
    log_tail: str = ""


class Failed(Contract):
    """The worker could not run the job at all (not a test failure)."""

    type: Literal["error"] = "error"
    message: str


Reply = Annotated[Started | ItemStarted | ItemFinished | Finished | EnvError | Failed,
                  Field(discriminator="type")]
REPLY: TypeAdapter[Reply] = TypeAdapter(Reply)
