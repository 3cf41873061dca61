"""Standalone probe run inside the sandbox with the project's Python (never imports assay).

Usage: python probe.py SPEC.json OUT.jsonl

Calls each planned input of each target up to `repeat` times in a row, in a fresh
namespace, under a per-call alarm, with `random` re-seeded from the OS before every
call, and records what happened (return value described so it can be asserted, or the
exception) plus the target lines each call executed. Repeating stops at the first
outcome that differs from the first one (the value is not stable: nothing more to
learn) and once the input has used its time budget. One JSON object per line, flushed
as it goes, so a call that kills the process (memory, C-level hang) is identifiable and
the caller can resume after it.

With `hash_seeds` in the spec this process only re-observes the inputs listed in
`expected`: once per seed, in a fresh child interpreter started with that
PYTHONHASHSEED (set and dict-of-set order, `hash()`, module state drawn at import and
the global `random` state are all per interpreter), dropping an input at the first
outcome that differs from the expected one. Children are plain processes inside the
same sandbox: one sandboxed run, however many seeds.
"""

from __future__ import annotations

import ast
import builtins
import collections.abc
import contextlib
import importlib
import io
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
import types
from typing import Any

MAX_REPR = 400
MAX_ITEMS = 50


class ProbeTimeout(BaseException):
    """Raised by the alarm; a BaseException so `except Exception` in user code misses it."""


def _alarm(signum: int, frame: object) -> None:
    raise ProbeTimeout()


def type_ref(tp: type) -> dict[str, str]:
    return {
        "module": getattr(tp, "__module__", "builtins"),
        "qualname": getattr(tp, "__qualname__", tp.__name__),
    }


def _literal_equal(r: str, value: Any) -> bool:
    try:
        back = ast.literal_eval(r)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    try:
        return bool(type(back) is type(value) and back == value and repr(back) == r)
    except Exception:
        return False


def _evaluable(r: str, value: Any, namespaces: list[dict[str, Any]]) -> list[str] | None:
    """Imports that make `r` evaluate back to an equal value, or None."""
    try:
        tree = ast.parse(r, mode="eval")
    except SyntaxError:
        return None
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    ns: dict[str, Any] = {}
    imports: list[str] = []
    for name in sorted(names):
        if hasattr(builtins, name):
            continue
        obj = next((n[name] for n in namespaces if name in n), None)
        if obj is None:
            return None
        mod = getattr(obj, "__module__", None)
        qual = getattr(obj, "__qualname__", None)
        if not mod or qual != name or getattr(sys.modules.get(mod), name, None) is not obj:
            return None
        imports.append(f"from {mod} import {name}")
        ns[name] = obj
    try:
        back = eval(compile(tree, "<repr>", "eval"), ns)
        return imports if back == value and back is not value else None
    except Exception:
        return None


def describe(value: Any, namespaces: list[dict[str, Any]]) -> dict[str, Any]:
    try:
        r = repr(value)
    except Exception:
        r = ""
    out: dict[str, Any] = {"type": type_ref(type(value))}
    with contextlib.suppress(Exception):
        out["len"] = len(value)
    if r and len(r) <= MAX_REPR and " at 0x" not in r:
        if isinstance(value, float) and value != value:
            out["kind"] = "nan"
            return out
        if _literal_equal(r, value):
            out.update(kind="literal", repr=r)
            return out
        imports = _evaluable(r, value, namespaces)
        if imports is not None:
            out.update(kind="evaluable", repr=r, imports=imports)
            return out
    out["kind"] = "opaque"
    return out


def is_lazy_iterator(value: Any) -> bool:
    return isinstance(value, collections.abc.Iterator) and not isinstance(
        value, str | bytes | io.IOBase
    )


def outcome_of(call: dict[str, Any], timeout: float) -> dict[str, Any]:
    ns: dict[str, Any] = {}
    module = importlib.import_module(call["module"])
    namespaces = [vars(module)]
    try:
        for line in call["imports"]:
            exec(line, ns)
        receiver = eval(call["receiver"], ns) if call.get("receiver") else module
        fn = getattr(receiver, call["func"])
        args = [eval(a, ns) for a in call["args"]]
        kwargs = {k: eval(v, ns) for k, v in call["kwargs"].items()}
    except Exception as exc:
        return {"status": "setup_error", "message": f"{type(exc).__name__}: {exc}"[:300]}
    before = _attrs(receiver, namespaces) if call.get("receiver") else None
    sink = io.StringIO()
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            result = fn(*args, **kwargs)
            if isinstance(result, types.CoroutineType):
                import asyncio  # here: children of the seed pass rarely need it (~20 ms)

                result = asyncio.run(result)
            if is_lazy_iterator(result):
                items = list(itertools.islice(result, MAX_ITEMS + 1))
                signal.setitimer(signal.ITIMER_REAL, 0)
                return {
                    "status": "iterator",
                    "value": describe(items[:MAX_ITEMS], namespaces),
                    "exhausted": len(items) <= MAX_ITEMS,
                    "iter_type": type_ref(type(result)),
                }
    except ProbeTimeout:
        return {"status": "timeout"}
    except BaseException as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if isinstance(exc, KeyboardInterrupt):
            raise
        return {
            "status": "raise",
            "exc": type_ref(type(exc)),
            "message": str(exc)[:300],
        }
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    out: dict[str, Any] = {"status": "return", "value": describe(result, namespaces)}
    if before is not None:
        after = _attrs(receiver, namespaces)
        out["attrs"] = {k: v for k, v in after.items() if before.get(k) != v}
    return out


def _attrs(obj: Any, namespaces: list[dict[str, Any]]) -> dict[str, Any]:
    try:
        items = vars(obj).items()
    except TypeError:
        return {}
    out = {}
    for k, v in list(items)[:30]:
        if not k.startswith("_"):
            d = describe(v, namespaces)
            if d["kind"] in ("literal", "evaluable"):
                out[k] = d
    return out


def check_of(call: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Pre-check a property (round trip, idempotence) on one sample before proposing it."""
    module = importlib.import_module(call["module"])
    ns: dict[str, Any] = {}
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            x = eval(call["args"][0], ns)
            f = getattr(module, call["func"])
            if call["check"] == "idempotent":
                once = f(x)
                holds = f(once) == once
            else:
                g = getattr(module, call["inverse"])
                holds = g(f(x)) == x
        return {"status": "check", "holds": bool(holds)}
    except ProbeTimeout:
        return {"status": "timeout"}
    except Exception as exc:
        return {"status": "check", "holds": False, "message": f"{type(exc).__name__}: {exc}"[:200]}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def outcome_key(outcome: dict[str, Any]) -> str:
    """What two outcomes must share to count as the same (the caller compares the same way)."""
    return json.dumps(outcome, sort_keys=True, default=str)


def observe_call(
    call: dict[str, Any], timeout: float, repeat: int, budget: float
) -> tuple[list[dict[str, Any]], float]:
    """Up to `repeat` outcomes of one input, and the seconds its calls took.

    `random` is re-seeded from os.urandom before every call, so a value drawn from it
    differs from call to call even when the module (or an earlier input) seeded it.
    """
    results: list[dict[str, Any]] = []
    first: str | None = None
    spent = 0.0
    for _ in range(max(1, repeat)):
        random.seed()
        started = time.perf_counter()
        observe_once = check_of if call.get("check") else outcome_of
        try:
            outcome = observe_once(call, timeout)
        except Exception as exc:  # importing the module failed, etc.
            outcome = {"status": "setup_error", "message": f"{type(exc).__name__}: {exc}"[:300]}
        spent += time.perf_counter() - started
        results.append(outcome)
        key = outcome_key(outcome)
        first = first or key
        if key != first or outcome["status"] in ("timeout", "setup_error") or spent >= budget:
            break
    return results, spent


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as fh:
        spec = json.loads(fh.read())
    with open(sys.argv[2], "a", encoding="utf-8") as out:
        if spec.get("hash_seeds"):
            return seed_pass(spec, sys.argv[1], out)
        return run(spec, out)


def run(spec: dict[str, Any], out: Any) -> int:
    for p in reversed(spec["sys_path"]):
        sys.path.insert(0, os.path.abspath(p))
    signal.signal(signal.SIGALRM, _alarm)
    env: dict[str, object] = {"python": sys.version.split()[0]}
    if spec.get("report_env", True):
        for name in ("hypothesis", "coverage", "pytest"):
            try:
                importlib.import_module(name)
                env[name] = True
            except Exception:
                env[name] = False
        out.write(json.dumps({"env": env}) + "\n")
        out.flush()
    cov = None
    if spec.get("coverage", True) and env.get("coverage"):
        import coverage

        cov = coverage.Coverage(
            data_file=None, branch=True, include=[os.path.abspath(f) for f in spec["include"]]
        )
        cov.start()
    skip = set(spec.get("skip", []))
    repeat = int(spec.get("repeat", 1))
    budget = float(spec.get("input_budget", spec["timeout"]))
    for call in spec["calls"]:
        if call["id"] in skip:
            continue
        out.write(json.dumps({"start": call["id"]}) + "\n")
        out.flush()
        if cov is not None:
            cov.switch_context(call["id"])
        results, seconds = observe_call(call, spec["timeout"], repeat, budget)
        record = {"id": call["id"], "outcomes": results, "seconds": round(seconds, 4)}
        out.write(json.dumps(record, default=str) + "\n")
        out.flush()
    if cov is not None:
        cov.stop()
        data = cov.get_data()
        lines: dict[str, dict[str, list[int]]] = {}
        for measured in data.measured_files():
            rel = os.path.relpath(measured)
            for line, contexts in (data.contexts_by_lineno(measured) or {}).items():
                for ctx in contexts:
                    if ctx:
                        lines.setdefault(ctx, {}).setdefault(rel, []).append(line)
        out.write(json.dumps({"coverage": lines}) + "\n")
    out.write(json.dumps({"done": True}) + "\n")
    return 0


def _read_records(path: str) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            raw = fh.read().splitlines()
    except OSError:
        return []
    records = []
    for line in raw:
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def child_outcomes(
    spec: dict[str, Any], calls: list[dict[str, Any]], seed: int, prefix: str
) -> dict[str, tuple[dict[str, Any], float]]:
    """One outcome per input from child interpreters run with PYTHONHASHSEED=seed.

    A call that takes its child down is recorded as crashed (it did not crash when
    first observed, so it is not stable) and a new child resumes after it.
    """
    found: dict[str, tuple[dict[str, Any], float]] = {}
    remaining = list(calls)
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    attempt = 0
    while remaining:
        child_spec, child_out = f"{prefix}-{attempt}.json", f"{prefix}-{attempt}.jsonl"
        attempt += 1
        with open(child_spec, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "sys_path": spec["sys_path"],
                    "include": [],
                    "calls": remaining,
                    "timeout": spec["timeout"],
                    "repeat": 1,
                    "coverage": False,
                    "report_env": False,
                },
                fh,
            )
        # The per-call alarm bounds every call; this bounds code that blocks the alarm.
        limit = 10.0 + 2 * float(spec["timeout"]) * len(remaining)
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                [sys.executable, os.path.abspath(__file__), child_spec, child_out],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=limit,
                check=False,
            )
        before = len(found)
        started: str | None = None
        for rec in _read_records(child_out):
            if "start" in rec:
                started = rec["start"]
            elif "id" in rec and rec.get("outcomes"):
                found[rec["id"]] = (rec["outcomes"][0], float(rec.get("seconds", 0.0)))
                started = None
        if started is not None:
            found[started] = ({"status": "crashed"}, 0.0)
        if len(found) == before:  # the child died before calling anything: give up
            break
        remaining = [c for c in remaining if c["id"] not in found]
    return found


def seed_pass(spec: dict[str, Any], spec_path: str, out: Any) -> int:
    """Re-observe the `expected` inputs once per hash seed, each in a fresh interpreter."""
    expected: dict[str, str] = spec["expected"]
    budget = float(spec.get("input_budget", spec["timeout"]))
    pending = [c for c in spec["calls"] if c["id"] in expected]
    spent = dict.fromkeys(expected, 0.0)
    for n, seed in enumerate(spec["hash_seeds"]):
        if not pending:
            break
        seen = child_outcomes(spec, pending, int(seed), f"{spec_path}.seed{n}")
        still: list[dict[str, Any]] = []
        for call in pending:
            cid = call["id"]
            outcome, seconds = seen.get(cid, ({"status": "unreported"}, 0.0))
            out.write(json.dumps({"id": cid, "outcomes": [outcome], "seed": seed}) + "\n")
            spent[cid] += seconds
            if outcome_key(outcome) == expected[cid] and spent[cid] < budget:
                still.append(call)
        out.flush()
        pending = still
    out.write(json.dumps({"done": True}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
