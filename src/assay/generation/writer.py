"""Write characterization tests from observations: one behaviour per test, named after it.

A test pins what the code does today (return value or exception) so a later change in
behaviour is noticed. A value (or an exception's message) is asserted only when the
probe confirmed it stable: identical in every call, across enough interpreters that
chance agreement is negligible (`Observation.stable`, see probe.py). For a value that
varied (time, randomness, ids) or could not be confirmed, only its type is, so the
test never flakes on it.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from typing import Any

from assay.generation.inputs import CallSpec, describe_value
from assay.generation.model import TargetInfo
from assay.generation.probe import Observation

MAX_NAME = 72
SIMPLE_MESSAGE = re.compile(r"^[\w\s,;:'\"!/<>=-]{1,80}$")


@dataclass
class GeneratedTest:
    """A complete pytest module of one test (imports included)."""

    name: str  # test function name
    imports: set[str] = field(default_factory=set)
    body: list[str] = field(default_factory=list)
    decorators: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)

    def render(self) -> str:
        plain = sorted(i for i in self.imports if i.startswith("import "))
        third = sorted(i for i in plain if i.split()[1].split(".")[0] in ("pytest", "hypothesis"))
        std = [i for i in plain if i not in third]
        local = sorted(i for i in self.imports if i.startswith("from "))
        hyp = [i for i in local if i.startswith("from hypothesis")]
        local = [i for i in local if i not in hyp]
        groups = [g for g in (std, third + hyp, local) if g]
        head = "\n\n".join("\n".join(g) for g in groups)
        decorators = "".join(f"{d}\n" for d in self.decorators)
        signature = f"def {self.name}({', '.join(self.params)}):"
        body = "\n".join(f"    {ln}" for ln in self.body)
        return f"{head}\n\n\n{decorators}{signature}\n{body}\n"


def snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return re.sub(r"_+", "_", s).strip("_").lower()


def behaviour_test_name(target: TargetInfo, behaviour: str, label: str) -> str:
    prefix = "test_" + "_".join(snake(p) for p in target.qualname.split(".") if p != "__init__")
    name = f"{prefix}_{behaviour}"
    label = snake(re.sub(r"[^A-Za-z0-9]+", "_", label))
    if label and label not in ("value", "defaults"):
        name += f"_for_{label}"
    name = re.sub(r"[^a-z0-9_]+", "_", name.lower())
    name = re.sub(r"_+", "_", name)
    return name[:MAX_NAME].rstrip("_")


def type_expr(ref: dict[str, str], target: TargetInfo) -> tuple[str, set[str]] | None:
    """How to name a type in a test (and what to import), or None if not nameable."""
    module, qual = ref.get("module", ""), ref.get("qualname", "")
    if "<" in qual or not qual:
        return None
    if module == "builtins" and hasattr(builtins, qual):
        return qual, set()
    if module == target.module and "." not in qual:
        return qual, {f"from {module} import {qual}"}
    if module.startswith("_") or "." in qual:
        return None
    return f"{module}.{qual}", {f"import {module}"}


def call_code(target: TargetInfo, spec: CallSpec, receiver_var: str | None) -> tuple[str, set[str]]:
    imports = set(spec.imports)
    if receiver_var is not None:
        fn = f"{receiver_var}.{target.func_name}"
    elif spec.receiver is not None:  # static/class method: receiver is the class itself
        fn = f"{spec.receiver.code}.{target.func_name}"
    else:
        fn = target.func_name
        imports.add(f"from {target.module} import {target.func_name}")
    parts = [a.code for a in spec.args] + [f"{k}={v.code}" for k, v in spec.kwargs.items()]
    code = f"{fn}({', '.join(parts)})"
    if target.is_async:
        imports.add("import asyncio")
        code = f"asyncio.run({code})"
    return code, imports


def _value_assert(
    expr: str, desc: dict[str, Any], target: TargetInfo, imports: set[str]
) -> tuple[list[str], str] | None:
    """Assertion lines for a stable value and words for the test name."""
    kind = desc.get("kind")
    if kind == "literal":
        r = desc["repr"]
        value = ast.literal_eval(r)
        if value is None:
            return [f"assert {expr} is None"], "returns_none"
        if value is True:
            return [f"assert {expr} is True"], "returns_true"
        if value is False:
            return [f"assert {expr} is False"], "returns_false"
        if isinstance(value, float):
            imports.add("import pytest")
            return [f"assert {expr} == pytest.approx({r})"], f"returns_{describe_value(r)}"
        words = describe_value(r)
        if isinstance(value, str) and value:
            words = words if len(words) <= 24 else "text"
        return [f"assert {expr} == {r}"], f"returns_{words}"
    if kind == "evaluable":
        imports.update(desc.get("imports", []))
        return [f"assert {expr} == {desc['repr']}"], f"returns_{describe_value(desc['repr'])}"
    return None


def _type_assert(
    expr: str, desc: dict[str, Any], target: TargetInfo, imports: set[str]
) -> tuple[list[str], str] | None:
    named = type_expr(desc.get("type", {}), target)
    if named is None:
        return None
    tname, imps = named
    imports |= imps
    return [f"assert isinstance({expr}, {tname})"], f"returns_{snake(tname.split('.')[-1])}"


def write_example(obs: Observation, target: TargetInfo) -> GeneratedTest | None:
    """A test for one observed call, or None when nothing stable can be asserted."""
    outs = list(obs.outcomes)
    if not outs or obs.crashed:
        return None
    statuses = {o.get("status") for o in outs}
    if len(statuses) != 1:
        return None
    status = statuses.pop()
    if status not in ("return", "raise", "iterator"):
        return None
    first = outs[0]
    spec = obs.call.spec
    receiver_var = None
    body: list[str] = []
    imports: set[str] = set()
    if target.kind == "method" and spec.receiver is not None and target.class_name:
        cls = target.class_name.split(".")[-1]
        if spec.receiver.code != cls:  # an instance, not the class itself
            receiver_var = snake(cls) or "obj"
            body.append(f"{receiver_var} = {spec.receiver.code}")
    call, imps = call_code(target, spec, receiver_var)
    imports |= imps
    label = spec.label
    if status == "raise":
        exc_refs = {(o["exc"]["module"], o["exc"]["qualname"]) for o in outs}
        if len(exc_refs) != 1:
            return None
        named = type_expr(first["exc"], target)
        if named is None:
            return None
        tname, timps = named
        imports |= timps | {"import pytest"}
        msg = first.get("message", "") if obs.stable else ""
        match = f", match={msg!r}" if msg and SIMPLE_MESSAGE.match(msg) and "0x" not in msg else ""
        body += [f"with pytest.raises({tname}{match}):", f"    {call}"]
        return GeneratedTest(
            behaviour_test_name(target, f"raises_{snake(tname.split('.')[-1])}", label),
            imports,
            body,
        )
    stable = obs.stable
    if status == "iterator":
        helper = call if first.get("exhausted") else f"itertools.islice({call}, 50)"
        if not first.get("exhausted"):
            imports.add("import itertools")
        expr = f"list({helper})"
    else:
        expr = call
    asserted = _value_assert(expr, first["value"], target, imports) if stable else None
    if asserted is None:
        desc = first["value"]
        same_type = len({json_key(o["value"].get("type")) for o in outs}) == 1
        asserted = _type_assert(expr, desc, target, imports) if same_type else None
        if asserted is None:
            return None
    lines, behaviour = asserted
    if status == "iterator":
        behaviour = behaviour.replace("returns_", "yields_", 1)
    attrs = first.get("attrs") or {}
    if receiver_var and stable and attrs and all(o.get("attrs") == attrs for o in outs):
        body.append(f"result = {call}")
        for name, desc in sorted(attrs.items())[:3]:
            extra = _value_assert(f"{receiver_var}.{name}", desc, target, imports)
            if extra:
                body += extra[0]
        body += [ln.replace(expr, "result", 1) for ln in lines]
        behaviour = "updates_" + "_and_".join(sorted(attrs)[:2])
    elif len(f"    {lines[0]}") > 96 and status == "return":
        body.append(f"result = {call}")
        body += [ln.replace(expr, "result", 1) for ln in lines]
    else:
        body += lines
    return GeneratedTest(behaviour_test_name(target, behaviour, label), imports, body)


def json_key(value: object) -> str:
    return repr(sorted(value.items())) if isinstance(value, dict) else repr(value)

