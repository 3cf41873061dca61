"""Property-based fuzzing of the whole API from the app's own OpenAPI schema.

Schemathesis drives the app the way `st run --checks all` does: its examples,
coverage (boundary values, undeclared methods, missing parameters) and fuzzing
phases, with valid and invalid data, every check enabled, and a fixed seed so a
failure reproduces. It runs on SQLite and PostgreSQL: PostgreSQL is the stricter
of the two (NUL bytes, BIGINT ranges), where bad input used to surface as a 500.

Every check is asserted, because the schema is the contract: no 5xx whatever is
sent (an exception escaping the app reaches schemathesis as an engine error, so
those are asserted too); every answer, error or not, has a status code and a body
the operation declares; an undeclared method on a known path answers 405 with an
`Allow` that lists exactly the declared ones; data the schema forbids (unknown body
fields, out-of-range integers, coerced scalars, over-long strings, both or neither
of two exclusive fields) is refused, and data it allows is accepted. Every integer
parameter has bounds, so the coverage phase sends each bound and one past it: the
deepest offset must work on the database, the next must be a 422.

One kind of refusal of schema-valid data is the contract too, not a breach of it:
a 422 the service answers after the request was valid (test code that defines no
test, a JUnit body that is not a report, a source path that is not a directory on
the server, a selection that matches no test case). No schema can say those, so
each operation documents it as a 422, and they are told apart from the request
validation's own 422s, which the schema must explain: those locate the field and
carry its `input`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.engine import Status, events, from_schema
from schemathesis.python import asgi
from sqlalchemy import select

from assay.api.app import create_app
from assay.config import Settings
from assay.db.models import User
from assay.security import access_tokens

SEED = 20_240_611
MAX_EXAMPLES = 20


# Operations that read or run the project's tree: a project the fuzzer registers
# at `/` would have them walk (or snapshot) the whole filesystem. Their error
# answers are tested directly in test_project_failures.
UNSAFE = r"/import-tests$|/tests/generate$|/symbols$"


@pytest.fixture
def schema(settings: Settings) -> Iterator[Any]:
    """The app's schema, bound to the app; schemathesis runs the app's lifespan itself."""
    app = create_app(settings, orchestrator=False)
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "workers": 1,
            "continue-on-failure": True,
            "generation": {"max-examples": MAX_EXAMPLES, "mode": "all", "database": "none"},
            "phases": {"stateful": {"enabled": False}},
            "checks": {"enabled": True},
            # An empty cursor means "none": with a drawn (undecodable) one every list
            # answers 422 before it reads `offset`, and boundary offsets go untried.
            # Bad cursors are tested in test_bounds.
            "parameters": {"query.cursor": ""},
        }
    )
    try:
        loaded = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
        with app.state.ctx.db.session() as s:  # the lifespan has created the admin
            admin_id = s.scalars(select(User.id).where(User.username == "admin")).one()
        token = access_tokens.issue(admin_id, settings.resolved_secret_key(), 60)
        loaded.config.update(headers={"Authorization": f"Bearer {token}"})
        yield loaded.exclude(path_regex=UNSAFE)
    finally:
        asgi.shutdown_lifespans()


def _semantic_refusal(response: Any) -> bool:
    """A 422 from the service (an `AssayError`), not from validating the request.

    Request validation answers each problem with the `input` it refused; the
    service's answers are a sentence, or a field located without an input.
    """
    if response is None or response.status_code != 422:
        return False
    detail = json.loads(response.content)["detail"]
    return isinstance(detail, str) or all("input" not in item for item in detail)


def _failed_checks(event: Any) -> Iterator[tuple[str, str, str]]:
    """(check, `operation: title` and message, how to reproduce it) of each failure."""
    for case_id, checks in event.recorder.checks.items():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                failure = check.failure_info.failure
                interaction = event.recorder.interactions.get(case_id)
                response = interaction.response if interaction is not None else None
                if check.name == "positive_data_acceptance" and _semantic_refusal(response):
                    continue
                answer = "" if response is None else (
                    f"\n-> {response.status_code} {response.content[:500]!r}"
                )
                yield (
                    check.name,
                    f"{event.label}: {failure.title}\n{failure.message}",
                    check.failure_info.code_sample + answer,
                )


SURELY_RUN = {
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_schema_conformance", "response_headers_conformance", "positive_data_acceptance",
    "negative_data_rejection", "unsupported_method", "allow_header_conformance",
    "missing_required_header", "use_after_free", "ensure_resource_availability",
    "ignored_auth", "object_level_authorization",
}
"""Checks a run of this API must have applied: were one off, its failures would go unseen."""


def run_all_checks(
    schema: Any,
) -> tuple[dict[str, dict[str, str]], list[str], int, set[str]]:
    """Failures by check name (`operation: title` to one reproduction), engine errors,
    cases sent and the names of the checks applied."""
    failures: dict[str, dict[str, str]] = defaultdict(dict)
    errors: list[str] = []
    cases = 0
    applied: set[str] = set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            cases += len(event.recorder.cases)
            applied |= {c.name for checks in event.recorder.checks.values() for c in checks}
            for name, text, example in _failed_checks(event):
                failures[name].setdefault(text, example)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(str(getattr(event, "info", None) or getattr(event, "exception", event)))
    return failures, errors, cases, applied


def test_every_operation_under_every_check(schema: Any) -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 35, [op.label for op in operations]

    failures, errors, cases, applied = run_all_checks(schema)

    print(f"{cases} cases over {len(operations)} operations; checks: {', '.join(sorted(applied))}")
    assert not errors, errors
    assert cases >= 20 * len(operations)
    assert applied >= SURELY_RUN, SURELY_RUN - applied
    assert not failures, "\n\n".join(
        f"{name} ({len(found)} failing):\n\n"
        + "\n\n".join(f"{text}\n{example}" for text, example in sorted(found.items()))
        for name, found in sorted(failures.items())
    )

