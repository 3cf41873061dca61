"""The contracts' round trips: what one process writes, the other reads back the same.

A job spec crosses the broker as JSON, replies cross a Redis stream, events are
stored as JSON and replayed: each must come back equal, and a message that is not
what the contract says must be refused with the field that is wrong, never half-read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from assay.contracts import events as ev
from assay.contracts import replies
from assay.contracts.jobs import (
    Delivery,
    ItemFinished,
    ItemStarted,
    JobItem,
    JobOutcome,
    JobSpec,
)
from assay.contracts.replies import REPLY
from assay.contracts.stream import LINE, Collected, Result
from assay.environments.spec import EnvSpec
from assay.sandbox.limits import Limits


def _spec(**changes: object) -> JobSpec:
    base = JobSpec(
        job_id="plan-1-0", plan_id="plan", priority_rank=2,
        items=[JobItem(key="a", kind="code", code="def test_a():\n    pass\n"),
               JobItem(key="b", kind="reference", nodeid="tests/test_x.py::test_b")],
        snapshot_hash="ab" * 32,
        env_spec=EnvSpec(python_version="3.11", requirements=["hypothesis>=6"],
                         install_project=True, build_requires=["setuptools"],
                         origins={"hypothesis>=6": "pyproject.toml [dependency-groups] test"}),
        limits=Limits(wall_seconds=30.0, cpu_seconds=30, memory_bytes=1 << 30),
        test_timeout_s=10.0, isolation="bwrap", test_env={"TZ": "UTC"},
        pytest_args=["-p", "no:randomly"],
        delivery=Delivery(reply_to="assay:replies:x", executor_id="x"),
        snapshot_dir=Path("/srv/snapshots/ab"),
    )
    return base.model_copy(update=changes)


def test_a_job_spec_survives_the_broker_except_its_local_snapshot_dir() -> None:
    spec = _spec()
    wire = json.loads(json.dumps(spec.model_dump(mode="json")))  # what Celery carries
    assert "snapshot_dir" not in wire
    back = JobSpec.model_validate(wire)
    assert back == spec.model_copy(update={"snapshot_dir": None})
    assert back.env_spec.key == spec.env_spec.key  # the worker builds the same environment
    assert back.limits == spec.limits


def test_a_spec_from_another_version_or_with_unknown_fields_is_refused() -> None:
    wire = _spec().model_dump(mode="json")
    with pytest.raises(ValidationError, match="version"):
        JobSpec.model_validate({**wire, "version": 2})
    with pytest.raises(ValidationError, match="extra_field"):
        JobSpec.model_validate({**wire, "extra_field": 1})


def test_an_item_must_carry_what_its_kind_needs() -> None:
    with pytest.raises(ValidationError, match="has no code"):
        JobItem(key="k", kind="code")
    with pytest.raises(ValidationError, match="has no node id"):
        JobItem(key="k", kind="reference")
    with pytest.raises(ValidationError, match="kind"):
        JobItem.model_validate({"key": "k", "kind": "script", "code": "x"})


@pytest.mark.parametrize("reply", [
    replies.Started(worker="w1", pid=42, task_id="job:0", redelivered=True),
    ItemStarted(key="a", nodeid="t.py::test_a"),
    ItemFinished(key="a", outcome="failed", duration_s=0.25, failure="assert 1 == 2",
                 output="", tests=[{"nodeid": "t.py::test_a", "outcome": "failed",
                                    "duration_s": 0.25, "failure": "assert 1 == 2"}]),
    replies.Finished(outcome=JobOutcome(isolation="bwrap", exit_code=1, timed_out=False,
                                        cancelled=False, duration_s=1.5, stderr_tail="",
                                        items_reported=2, invocations=1)),
    replies.EnvError(message="no matching distribution", log_tail="resolver said no"),
    replies.Failed(message="SnapshotError: gone"),
], ids=lambda r: r.type)
def test_every_reply_reads_back_as_itself_from_the_stream(reply: replies.Reply) -> None:
    assert REPLY.validate_json(reply.model_dump_json()) == reply


def test_an_unreadable_reply_is_refused_not_guessed() -> None:
    with pytest.raises(ValidationError):
        REPLY.validate_json('{"type": "outcome"}')
    with pytest.raises(ValidationError):
        REPLY.validate_json('{"type": "teleported", "where": "?"}')


def test_an_event_payload_is_parsed_by_its_type() -> None:
    queued = ev.PlanQueued(status="queued", priority="high", name="3 tests", total=3,
                           trigger="api")
    stored = json.loads(json.dumps(queued.model_dump(mode="json")))
    assert stored["type"] == "plan.queued"
    assert ev.parse_payload("plan.queued", stored) == queued
    # a row written before payloads carried their type reads the same
    del stored["type"]
    assert ev.parse_payload("plan.queued", stored) == queued


def test_a_payload_missing_a_field_or_with_a_typo_is_refused() -> None:
    with pytest.raises(ValidationError, match="total"):
        ev.PAYLOAD.validate_python({"type": "plan.queued", "status": "queued",
                                    "priority": "high", "name": "x", "trigger": "api"})
    with pytest.raises(ValidationError, match="generation_idd"):
        ev.PAYLOAD.validate_python({"type": "generation.error", "generation_id": "g",
                                    "generation_idd": "g", "message": "m"})


def test_a_candidate_event_nests_name_and_verdict_under_candidate() -> None:
    """The shape the dashboard's Generate dialog reads (it once read them at the top)."""
    event = ev.PAYLOAD.validate_python({
        "type": "generation.candidate", "generation_id": "g",
        "candidate": {"target": "m:f", "name": "test_f_returns_2", "code": "...",
                      "verdict": "accepted", "runs_passed": 3, "runs_total": 3}})
    assert isinstance(event, ev.GenerationCandidateChecked)
    assert (event.candidate.name, event.candidate.verdict) == ("test_f_returns_2", "accepted")


def test_every_event_model_is_in_the_union_once() -> None:
    models = [c for c in vars(ev).values()
              if isinstance(c, type) and issubclass(c, ev.Payload) and c is not ev.Payload]
    types = [m.model_fields["type"].default for m in models]
    assert len(types) == len(set(types))
    for model, type_ in zip(models, types, strict=True):
        assert "." in type_, f"{type_}: event types have a dot, control messages do not"
        assert ev.PAYLOAD.json_schema()["discriminator"]["mapping"][type_].endswith(
            model.__name__)


def test_plugin_lines_are_read_by_their_event_and_other_lines_are_not_protocol() -> None:
    assert LINE.validate_json('{"event": "collected", "nodeids": ["t.py::a"]}') == \
        Collected(event="collected", nodeids=["t.py::a"])
    result = LINE.validate_json('{"event": "result", "nodeid": "t.py::a", "outcome": '
                                '"skipped", "reason": "no network", "future_field": 1}')
    assert isinstance(result, Result) and result.reason == "no network"
    with pytest.raises(ValidationError):
        LINE.validate_json('{"hello": "from a test that printed JSON"}')


def test_probe_lines_are_told_apart_by_their_key() -> None:
    from assay.contracts.probe import PROBE_LINE, ProbeDone, ProbeEnv, ProbeOutcomes

    env = PROBE_LINE.validate_json('{"env": {"python": "3.11.7", "hypothesis": true}}')
    assert isinstance(env, ProbeEnv) and env.env == {"python": "3.11.7", "hypothesis": True}
    seen = PROBE_LINE.validate_json('{"id": "c1", "outcomes": [{"status": "returned"}], '
                                    '"seed": 7}')
    assert isinstance(seen, ProbeOutcomes) and seen.seed == 7
    assert isinstance(PROBE_LINE.validate_json('{"done": true}'), ProbeDone)
    with pytest.raises(ValidationError):
        PROBE_LINE.validate_json('{"id": "c1"}')  # cut short by a crash


def test_generation_payloads_carry_exactly_what_the_generation_core_reports() -> None:
    """The events' candidate and target mirror the core's dataclasses field for field:
    a field added to one and not the other fails here, not in a user's dialog."""
    from dataclasses import fields

    from assay.generation.model import Candidate, TargetInfo

    assert set(ev.GenerationCandidate.model_fields) == {f.name for f in fields(Candidate)}
    assert set(ev.GenerationTarget.model_fields) == {f.name for f in fields(TargetInfo)}
