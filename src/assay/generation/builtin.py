"""The built-in engine: no model, no network; inputs from the source, outcomes observed.

Pipeline per target: plan calls from the source (inputs.py), observe them in the
sandbox (probe.py), keep the calls that reach target lines not reached yet (greedy set
cover on the probe's per-call coverage), write one characterization test per kept call
(writer.py), then add property tests where types allow (properties.py). Validation
decides what is finally accepted; this module only proposes, in a useful order.
"""

from __future__ import annotations

import ast
import builtins
import math
from dataclasses import dataclass, field
from pathlib import Path

from assay.generation.inputs import CallSpec, ModuleContext, Synthesizer, plan_calls
from assay.generation.model import TargetInfo
from assay.generation.probe import Observation, PlannedCall, observe
from assay.generation.properties import PropertyPlan, plan_properties, raised_names, write_property
from assay.generation.symbols import FuncNode, walk_functions
from assay.generation.validation import Submission
from assay.generation.workspace import SandboxRunner
from assay.generation.writer import write_example


@dataclass
class Proposal:
    submissions: list[Submission]
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class _TargetWork:
    target: TargetInfo
    func: FuncNode
    calls: list[PlannedCall] = field(default_factory=list)
    properties: list[tuple[PropertyPlan, PlannedCall | None]] = field(default_factory=list)


def _load(workspace: Path, target: TargetInfo) -> tuple[ModuleContext, FuncNode, set[str]]:
    tree = ast.parse((workspace / target.file).read_text(encoding="utf-8"))
    funcs = {q: n for q, n, _ in walk_functions(tree)}
    module_functions = {q for q, _, is_method in walk_functions(tree) if not is_method}
    return ModuleContext.parse(target.module, tree), funcs[target.qualname], module_functions


def _select(observations: list[Observation], target: TargetInfo, limit: int) -> list[Observation]:
    """Greedy set cover of the target lines, doctest examples first on ties."""
    wanted = set(target.lines)
    chosen: list[Observation] = []
    covered: set[int] = set()
    pool = [o for o in observations if o.outcomes and not o.crashed]
    while pool and len(chosen) < limit:
        done = frozenset(covered)

        def gain(o: Observation, done: frozenset[int] = done) -> tuple[int, int]:
            lines = o.lines.get(target.file, set()) & wanted
            return (len(lines - done), 1 if o.call.spec.origin == "doctest" else 0)

        best = max(pool, key=gain)
        if gain(best)[0] == 0:
            break
        pool.remove(best)
        if write_example(best, target) is None:
            continue
        chosen.append(best)
        covered |= best.lines.get(target.file, set()) & wanted
    return chosen


def _expected_errors(observations: list[Observation], func: FuncNode) -> set[str]:
    found = raised_names(func)
    for o in observations:
        for out in o.outcomes:
            exc = out.get("exc") if out.get("status") == "raise" else None
            if (
                exc
                and exc["module"] == "builtins"
                and isinstance(getattr(builtins, exc["qualname"], None), type)
            ):
                found.add(exc["qualname"])
    return found


async def propose(targets: list[TargetInfo], runner: SandboxRunner, max_tests: int) -> Proposal:
    proposal = Proposal(submissions=[])
    works: list[_TargetWork] = []
    for ti, target in enumerate(targets):
        ctx, func, module_functions = _load(runner.workspace, target)
        work = _TargetWork(target=target, func=func)
        for ci, spec in enumerate(plan_calls(target, func, ctx)):
            work.calls.append(PlannedCall(id=f"t{ti}c{ci}", target=target, spec=spec))
        if not work.calls:
            proposal.notes.append(
                f"{target.name}: no inputs could be synthesized (untyped constructor?)"
            )
        syn = Synthesizer(ctx)
        for pi, plan in enumerate(plan_properties(target, func, module_functions)):
            check = None
            if plan.kind in ("roundtrip", "idempotent"):
                arg = next(iter(func.args.args), None)
                sample = syn.values_for(arg.arg, arg.annotation, None) if arg else []
                if not sample:
                    continue
                check = PlannedCall(
                    id=f"t{ti}p{pi}",
                    target=target,
                    spec=CallSpec(args=[sample[0]], kwargs={}),
                    check=plan.kind,
                    inverse=plan.inverse,
                )
            work.properties.append((plan, check))
        works.append(work)
    calls = [c for w in works for c in w.calls] + [c for w in works for _, c in w.properties if c]
    include = sorted({t.file for t in targets})
    report = await observe(runner, calls, include)
    proposal.errors.extend(report.errors)
    proposal.notes.extend(report.notes)
    has_hypothesis = bool(report.env.get("hypothesis"))
    if not has_hypothesis and any(w.properties for w in works):
        proposal.notes.append(
            "hypothesis is not installed in the project environment: property tests skipped"
        )
    per_target = max(1, math.ceil(max_tests / max(1, len(works))))
    queues: list[list[Submission]] = []
    names: set[str] = set()
    for work in works:
        t = work.target
        observations = [report.observations[c.id] for c in work.calls]
        varied = sum(1 for o in observations if o.varied)
        if varied:
            proposal.notes.append(
                f"{t.name}: {varied} call(s) gave different results between runs; "
                "their values are not asserted"
            )
        unconfirmed = sum(
            1 for o in observations if o.outcomes and not o.crashed and not o.varied
            and not o.stable and o.first.get("status") in ("return", "raise", "iterator")
        )
        if unconfirmed:
            proposal.notes.append(
                f"{t.name}: {unconfirmed} call(s) could not be repeated often enough "
                "within the probe's time budget to rule out chance; their values are not asserted"
            )
        queue: list[Submission] = []
        selected = _select(observations, t, per_target)
        reached = set().union(*(o.lines.get(t.file, set()) for o in selected)) & set(t.lines)
        for obs in selected:
            module = write_example(obs, t)
            if module is None:
                continue
            module.name = _unique(module.name, names)
            queue.append(Submission(target=t, name=module.name, code=module.render()))
        # Property tests only where they can pass the coverage filter (the examples leave
        # target lines unreached) and where every call came back (no process killer).
        if work.properties and reached >= set(t.lines):
            proposal.notes.append(
                f"{t.name}: property tests not proposed, the examples reach every target line"
            )
        elif has_hypothesis and observations and not any(o.crashed for o in observations):
            expected = _expected_errors(observations, work.func)
            for plan, check in work.properties:
                if check is not None:
                    outs = report.observations[check.id].outcomes
                    if not outs or not all(o.get("holds") for o in outs):
                        continue
                module = write_property(plan, expected, t.module)
                module.name = _unique(module.name, names)
                queue.append(
                    Submission(target=t, name=module.name, code=module.render(), kind="property")
                )
        queues.append(queue)
    # Round robin across targets: every target gets its first test judged early.
    while any(queues) and len(proposal.submissions) < max_tests * 2:
        for q in queues:
            if q:
                proposal.submissions.append(q.pop(0))
    return proposal


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{name}_{n}"
        n += 1
    taken.add(candidate)
    return candidate
