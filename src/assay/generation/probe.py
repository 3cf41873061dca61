"""Observe the target's behaviour by running it in the sandbox (never in this process).

The probe runs twice, in two processes with different hash seeds, and each run calls
every input twice: a value that differs anywhere (time, randomness, ids, counters,
set order) is marked unstable and is never asserted. A call that kills the probe
process is recorded as such and the probe resumes after it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.generation.inputs import CallSpec
from assay.generation.model import TargetInfo
from assay.generation.workspace import GEN_DIR, SandboxRunner

PROBE_SCRIPT = Path(__file__).with_name("_probe_main.py")
CALL_TIMEOUT_S = 2.0
MAX_RESUMES = 8


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
            "repeat": 2,
            "check": self.check,
            "inverse": self.inverse,
        }


@dataclass
class Observation:
    call: PlannedCall
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    lines: dict[str, set[int]] = field(default_factory=dict)  # file -> lines (all runs)
    crashed: bool = False

    @property
    def stable(self) -> bool:
        """Same outcome in every call of every run."""
        keys = {json.dumps(o, sort_keys=True) for o in self.outcomes}
        return len(keys) == 1

    @property
    def first(self) -> dict[str, Any]:
        return self.outcomes[0] if self.outcomes else {"status": "crashed"}


@dataclass
class ProbeReport:
    observations: dict[str, Observation]
    env: dict[str, Any]
    errors: list[str]


async def _run_once(
    runner: SandboxRunner, calls: list[PlannedCall], include: list[str], tag: str, seed: str
) -> tuple[
    dict[str, list[dict[str, Any]]],
    dict[str, dict[str, list[int]]],
    dict[str, Any],
    set[str],
    list[str],
]:
    gen = runner.workspace / GEN_DIR
    script = gen / "probe.py"
    script.write_text(PROBE_SCRIPT.read_text(encoding="utf-8"), encoding="utf-8")
    outcomes: dict[str, list[dict[str, Any]]] = {}
    coverage: dict[str, dict[str, list[int]]] = {}
    env: dict[str, Any] = {}
    crashed: set[str] = set()
    errors: list[str] = []
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
                }
            ),
            encoding="utf-8",
        )
        budget = 30.0 + CALL_TIMEOUT_S * 2 * max(0, len(calls) - len(skip))
        result = await runner.run(
            [f"{GEN_DIR}/probe.py", f"{GEN_DIR}/{spec_path.name}", f"{GEN_DIR}/{out_path.name}"],
            wall_seconds=budget,
            env={"PYTHONHASHSEED": seed},
        )
        started: str | None = None
        done = False
        if out_path.exists():
            for raw in out_path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    rec = json.loads(raw)
                except ValueError:
                    continue
                if "env" in rec:
                    env = rec["env"]
                elif "start" in rec:
                    started = rec["start"]
                    skip.add(started)
                elif "id" in rec:
                    outcomes[rec["id"]] = rec["outcomes"]
                    started = None
                elif "coverage" in rec:
                    for ctx, files in rec["coverage"].items():
                        for f, lines in files.items():
                            coverage.setdefault(ctx, {}).setdefault(f, []).extend(lines)
                elif rec.get("done"):
                    done = True
        if done or result.cancelled:
            break
        if started is None:
            tail = (result.stderr or result.stdout)[-800:]
            errors.append(f"probe failed before calling anything (exit {result.exit_code}): {tail}")
            break
        # Resume after the call that took the process down, skipping the rest of its
        # target: one crashing function costs one restart, not one per planned input.
        crashed.add(started)
        culprit = next(c.target.name for c in calls if c.id == started)
        skip |= {c.id for c in calls if c.target.name == culprit and c.id not in outcomes}
    return outcomes, coverage, env, crashed, errors


async def observe(
    runner: SandboxRunner, calls: list[PlannedCall], include: list[str]
) -> ProbeReport:
    """Run all planned calls in two sandboxed processes and merge what they saw."""
    observations = {c.id: Observation(call=c) for c in calls}
    env: dict[str, Any] = {}
    errors: list[str] = []
    for tag, seed in (("a", "1"), ("b", "2")):
        outcomes, coverage, env_seen, crashed, errs = await _run_once(
            runner, calls, include, tag, seed
        )
        env = env or env_seen
        errors.extend(errs)
        for cid, obs in observations.items():
            if cid in crashed:
                obs.crashed = True
            obs.outcomes.extend(outcomes.get(cid, []))
            for f, lines in coverage.get(cid, {}).items():
                obs.lines.setdefault(f, set()).update(lines)
        if errors:
            break
    return ProbeReport(observations=observations, env=env, errors=errors)
