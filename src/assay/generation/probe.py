"""Observe the target's behaviour by running it in the sandbox (never in this process).

A value is asserted only when chance agreement is negligible. A result that really
varies, drawn from `d` equally likely values, comes out the same `k` times in a row
with probability d^-(k-1); the worst case that still varies is a coin (d = 2): a
`random.random() < 0.5`, or the order of a two-element set of strings, which changes
with PYTHONHASHSEED. So an outcome must be seen identical in `REQUIRED_PROCESSES` = 21
interpreters, each with its own PYTHONHASHSEED, its own `random` state and a later
clock: 2^-20, about one in a million, for the coin; `roll(3)` (`randint(1, 3)`)
3^-20, about 3e-10. Hash order only changes between interpreters, which is why the
count is of processes, not of calls.

Cost is kept down in two steps. The main run (one sandboxed process, with coverage)
calls each input up to `REPEATS` times in a row, re-seeding `random` before each call
and stopping at the first outcome that differs: time, ids, random draws and counters
mostly differ on the second call and go no further (roll(3) survives five calls with
chance 3^-4). Only inputs still unchanged then go to the seed pass: one more sandboxed
process that starts `HASH_SEEDS` small child interpreters in turn, each calling the
remaining inputs once, and drops an input at its first difference. An input that
needs more than `INPUT_BUDGET_S` of calls in a pass is not repeated further and its
value is not asserted (only its type): slowness never buys a chance assertion.

A call that kills the probe process is recorded as such and the probe resumes after it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assay.contracts.probe import (
    PROBE_LINE,
    ProbeCoverage,
    ProbeDone,
    ProbeEnv,
    ProbeOutcomes,
    ProbeRecord,
    ProbeStart,
)
from assay.generation.inputs import CallSpec
from assay.generation.model import TargetInfo
from assay.generation.workspace import GEN_DIR, SandboxRunner

PROBE_SCRIPT = Path(__file__).with_name("_probe_main.py")
CALL_TIMEOUT_S = 2.0
MAX_RESUMES = 8
REQUIRED_PROCESSES = 21  # 2^-20 chance agreement for a coin (see the module docstring)
HASH_SEEDS = REQUIRED_PROCESSES - 1  # children of the seed pass; the main run is one more
REPEATS = 5  # in-process calls per input in the main run: the cheap first filter
INPUT_BUDGET_S = 2 * CALL_TIMEOUT_S  # call time one input may use per pass
# Only these outcomes can become assertions; others are not worth re-observing.
ASSERTABLE = frozenset({"return", "raise", "iterator", "check"})


@dataclass
class PlannedCall:
    id: str
    target: TargetInfo
    spec: CallSpec
    check: str | None = None  # "idempotent" | "roundtrip"
    inverse: str | None = None

    def to_json(self) -> dict[str, Any]:
        t = self.target
        receiver = self.spec.receiver.code if self.spec.receiver else None
        return {
            "id": self.id,
            "module": t.module,
            "func": t.func_name,
            "receiver": receiver,
            "args": [a.code for a in self.spec.args],
            "kwargs": {k: v.code for k, v in self.spec.kwargs.items()},
            "imports": sorted(self.spec.imports),
            "check": self.check,
            "inverse": self.inverse,
        }


def outcome_key(outcome: dict[str, Any]) -> str:
    """Outcomes are the same when their JSON is (the probe compares the same way)."""
    return json.dumps(outcome, sort_keys=True, default=str)


@dataclass
class Observation:
    call: PlannedCall
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    lines: dict[str, set[int]] = field(default_factory=dict)  # file -> lines (main run)
    crashed: bool = False
    processes: int = 0  # interpreters (one hash seed each) that reported an outcome

    @property
    def varied(self) -> bool:
        """Some outcome differed from another one: this call is not deterministic."""
        return len({outcome_key(o) for o in self.outcomes}) > 1

    @property
    def stable(self) -> bool:
        """Same outcome every time, in enough interpreters that chance agreement is
        negligible (`REQUIRED_PROCESSES`): the only outcomes whose values are asserted."""
        return (
            bool(self.outcomes)
            and not self.crashed
            and not self.varied
            and self.processes >= REQUIRED_PROCESSES
        )

    @property
    def first(self) -> dict[str, Any]:
        return self.outcomes[0] if self.outcomes else {"status": "crashed"}


@dataclass
class ProbeReport:
    observations: dict[str, Observation]
    env: dict[str, Any]
    errors: list[str]
    notes: list[str] = field(default_factory=list)


@dataclass
class _MainRun:
    outcomes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # call time per input
    coverage: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    crashed: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


def _records(path: Path) -> Iterator[ProbeRecord]:
    """The probe's lines that are protocol lines (see `assay.contracts.probe`)."""
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            yield PROBE_LINE.validate_json(raw)
        except ValidationError:
            continue


async def _run_once(
    runner: SandboxRunner, calls: list[PlannedCall], include: list[str], tag: str, seed: int
) -> _MainRun:
    """The main run: every input up to `REPEATS` times, with coverage, resuming after crashes."""
    gen = runner.workspace / GEN_DIR
    script = gen / "probe.py"
    script.write_text(PROBE_SCRIPT.read_text(encoding="utf-8"), encoding="utf-8")
    run = _MainRun()
    skip: set[str] = set()
    for attempt in range(MAX_RESUMES + 1):
        spec_path = gen / f"probe-{tag}-{attempt}.json"
        out_path = gen / f"probe-{tag}-{attempt}.jsonl"
        spec_path.write_text(
            json.dumps(
                {
                    "sys_path": list(runner.pythonpath),
                    "include": include,
                    "calls": [c.to_json() for c in calls],
                    "skip": sorted(skip),
                    "timeout": CALL_TIMEOUT_S,
                    "repeat": REPEATS,
                    "input_budget": INPUT_BUDGET_S,
                }
            ),
            encoding="utf-8",
        )
        # Each input may spend its budget plus one call that overruns it.
        per_input = INPUT_BUDGET_S + CALL_TIMEOUT_S
        budget = 30.0 + per_input * max(0, len(calls) - len(skip))
        result = await runner.run(
            [f"{GEN_DIR}/probe.py", f"{GEN_DIR}/{spec_path.name}", f"{GEN_DIR}/{out_path.name}"],
            wall_seconds=budget,
            env={"PYTHONHASHSEED": str(seed)},
        )
        started: str | None = None
        done = False
        if out_path.exists():
            for rec in _records(out_path):
                if isinstance(rec, ProbeEnv):
                    run.env = dict(rec.env)
                elif isinstance(rec, ProbeStart):
                    started = rec.start
                    skip.add(started)
                elif isinstance(rec, ProbeOutcomes):
                    run.outcomes[rec.id] = rec.outcomes
                    run.seconds[rec.id] = rec.seconds
                    started = None
                elif isinstance(rec, ProbeCoverage):
                    for ctx, files in rec.coverage.items():
                        for f, lines in files.items():
                            run.coverage.setdefault(ctx, {}).setdefault(f, []).extend(lines)
                elif isinstance(rec, ProbeDone):
                    done = True
        if done or result.cancelled:
            break
        if started is None:
            tail = (result.stderr or result.stdout)[-800:]
            run.errors.append(
                f"probe failed before calling anything (exit {result.exit_code}): {tail}"
            )
            break
        # Resume after the call that took the process down, skipping the rest of its
        # target: one crashing function costs one restart, not one per planned input.
        run.crashed.add(started)
        culprit = next(c.target.name for c in calls if c.id == started)
        skip |= {c.id for c in calls if c.target.name == culprit and c.id not in run.outcomes}
    return run


async def _seed_pass(
    runner: SandboxRunner, observations: list[Observation], seeds: list[int]
) -> tuple[dict[str, list[dict[str, Any]]], bool]:
    """Outcomes per input from the child interpreters (one per seed), and whether the
    pass ran to its end (if not, the inputs it did not finish are simply unconfirmed)."""
    gen = runner.workspace / GEN_DIR
    spec_path, out_path = gen / "probe-seeds.json", gen / "probe-seeds.jsonl"
    spec_path.write_text(
        json.dumps(
            {
                "sys_path": list(runner.pythonpath),
                "calls": [o.call.to_json() for o in observations],
                "expected": {o.call.id: outcome_key(o.outcomes[0]) for o in observations},
                "hash_seeds": seeds,
                "timeout": CALL_TIMEOUT_S,
                "input_budget": INPUT_BUDGET_S,
            }
        ),
        encoding="utf-8",
    )
    # Per child: interpreter start-up and the module's import (allow a second); per
    # input: its budget plus one overrunning call, as in the main run.
    budget = 30.0 + 1.0 * len(seeds) + (INPUT_BUDGET_S + CALL_TIMEOUT_S) * len(observations)
    result = await runner.run(
        [f"{GEN_DIR}/probe.py", f"{GEN_DIR}/{spec_path.name}", f"{GEN_DIR}/{out_path.name}"],
        wall_seconds=budget,
    )
    seen: dict[str, list[dict[str, Any]]] = {}
    done = False
    if out_path.exists():
        for rec in _records(out_path):
            if isinstance(rec, ProbeOutcomes):
                seen.setdefault(rec.id, []).extend(rec.outcomes)
            elif isinstance(rec, ProbeDone):
                done = True
    return seen, done and not result.cancelled


async def observe(
    runner: SandboxRunner, calls: list[PlannedCall], include: list[str]
) -> ProbeReport:
    """Observe every planned call: the main run, then the seed pass for what stayed the same."""
    seeds = secrets.SystemRandom().sample(range(1, 2**32), REQUIRED_PROCESSES)
    observations = {c.id: Observation(call=c) for c in calls}
    main = await _run_once(runner, calls, include, "main", seeds[0])
    report = ProbeReport(observations=observations, env=main.env, errors=main.errors)
    for cid, obs in observations.items():
        obs.crashed = cid in main.crashed
        obs.outcomes.extend(main.outcomes.get(cid, []))
        obs.processes = 1 if obs.outcomes else 0
        for f, lines in main.coverage.get(cid, {}).items():
            obs.lines.setdefault(f, set()).update(lines)

    def worth_confirming(o: Observation) -> bool:
        # An input whose calls cannot fit HASH_SEEDS more into its budget would end
        # unconfirmed anyway: spare the children its time.
        per_call = main.seconds.get(o.call.id, 0.0) / max(1, len(o.outcomes))
        return (
            bool(o.outcomes)
            and not o.crashed
            and not o.varied
            and o.first.get("status") in ASSERTABLE
            and per_call * HASH_SEEDS < INPUT_BUDGET_S
        )

    candidates = [o for o in observations.values() if worth_confirming(o)]
    if main.errors or not candidates or (runner.cancel is not None and runner.cancel.is_set()):
        return report
    seen, finished = await _seed_pass(runner, candidates, seeds[1:])
    for obs in candidates:
        extra = seen.get(obs.call.id, [])
        obs.outcomes.extend(extra)
        obs.processes += len(extra)
    if not finished:
        report.notes.append(
            "the probe's repeat pass did not finish: values it could not confirm are not asserted"
        )
    return report
