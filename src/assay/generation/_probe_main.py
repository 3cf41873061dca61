"""Standalone probe run inside the sandbox with the project's Python (never imports assay).

Usage: python probe.py SPEC.json OUT.jsonl

Calls each planned input of each target twice, in a fresh namespace, under a per-call
alarm, and records what happened (return value described so it can be asserted, or the
exception) plus the target lines each call executed. One JSON object per line, flushed
as it goes, so a call that kills the process (memory, C-level hang) is identifiable and
the caller can resume after it.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import collections.abc
import contextlib
import importlib
import io
import itertools
import json
import os
import signal
import sys
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


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as fh:
        spec = json.loads(fh.read())
    with open(sys.argv[2], "a", encoding="utf-8") as out:
        return run(spec, out)


def run(spec: dict[str, Any], out: Any) -> int:
    for p in reversed(spec["sys_path"]):
        sys.path.insert(0, os.path.abspath(p))
    signal.signal(signal.SIGALRM, _alarm)
    env: dict[str, object] = {"python": sys.version.split()[0]}
    for name in ("hypothesis", "coverage", "pytest"):
        try:
            importlib.import_module(name)
            env[name] = True
        except Exception:
            env[name] = False
    out.write(json.dumps({"env": env}) + "\n")
    out.flush()
    cov = None
    if env["coverage"]:
        import coverage

        cov = coverage.Coverage(
            data_file=None, branch=True, include=[os.path.abspath(f) for f in spec["include"]]
        )
        cov.start()
    skip = set(spec.get("skip", []))
    for call in spec["calls"]:
        if call["id"] in skip:
            continue
        out.write(json.dumps({"start": call["id"]}) + "\n")
        out.flush()
        if cov is not None:
            cov.switch_context(call["id"])
        results = []
        for _ in range(int(call.get("repeat", 2))):
            try:
                if call.get("check"):
                    results.append(check_of(call, spec["timeout"]))
                else:
                    results.append(outcome_of(call, spec["timeout"]))
            except Exception as exc:  # importing the module failed, etc.
                results.append(
                    {"status": "setup_error", "message": f"{type(exc).__name__}: {exc}"[:300]}
                )
        out.write(json.dumps({"id": call["id"], "outcomes": results}, default=str) + "\n")
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


if __name__ == "__main__":
    sys.exit(main())
