"""Hypothesis property tests, proposed only where the types make them meaningful.

Two kinds: "raises only the errors it is known to raise" for any input of the declared
types, and round trip / idempotence when the module has an obvious inverse
(encode/decode, dumps/loads, to_x/from_x) or the function is a normalizer. Inverse and
idempotence pairs are pre-checked on a sample in the probe before being proposed.
Settings are derandomized and database-free so the three validation runs see the same
examples and nothing is written outside the workspace.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

from assay.generation.model import TargetInfo
from assay.generation.symbols import FuncNode
from assay.generation.writer import GeneratedTest, snake

SETTINGS = "@settings(max_examples=50, deadline=None, database=None, derandomize=True)"
INVERSE_PAIRS = [
    ("encode", "decode"),
    ("dumps", "loads"),
    ("dump", "load"),
    ("serialize", "deserialize"),
    ("compress", "decompress"),
    ("encrypt", "decrypt"),
    ("pack", "unpack"),
    ("quote", "unquote"),
    ("escape", "unescape"),
    ("marshal", "unmarshal"),
    ("to_", "from_"),
]
NORMALIZER_WORDS = (
    "normalize",
    "normalise",
    "slugify",
    "clean",
    "canonical",
    "sanitize",
    "strip",
    "dedent",
    "squash",
)


def strategy(hint: ast.expr | None, depth: int = 0) -> str | None:
    """A hypothesis strategy expression for a type hint, or None if not simple enough."""
    if hint is None or depth > 2:
        return None
    if isinstance(hint, ast.Constant) and isinstance(hint.value, str):
        try:
            return strategy(ast.parse(hint.value, mode="eval").body, depth)
        except SyntaxError:
            return None
    if isinstance(hint, ast.Constant) and hint.value is None:
        return "st.none()"
    if isinstance(hint, ast.BinOp) and isinstance(hint.op, ast.BitOr):
        left, right = strategy(hint.left, depth), strategy(hint.right, depth)
        return f"st.one_of({left}, {right})" if left and right else None
    name = (
        hint.id
        if isinstance(hint, ast.Name)
        else (
            hint.value.id
            if isinstance(hint, ast.Subscript) and isinstance(hint.value, ast.Name)
            else ""
        )
    )
    inner: list[ast.expr] = []
    if isinstance(hint, ast.Subscript):
        inner = list(hint.slice.elts) if isinstance(hint.slice, ast.Tuple) else [hint.slice]
    simple = {
        "int": "st.integers()",
        "str": "st.text()",
        "bool": "st.booleans()",
        "bytes": "st.binary()",
        "float": "st.floats(allow_nan=False)",
    }
    if name in simple:
        return simple[name]
    if name == "Optional" and inner:
        s = strategy(inner[0], depth + 1)
        return f"st.none() | {s}" if s else None
    if name in ("list", "List", "Sequence", "Iterable") and inner:
        s = strategy(inner[0], depth + 1)
        return f"st.lists({s}, max_size=20)" if s else None
    if name in ("set", "Set", "frozenset") and inner:
        s = strategy(inner[0], depth + 1)
        return f"st.sets({s}, max_size=20)" if s else None
    if name in ("dict", "Dict", "Mapping") and len(inner) == 2:
        k, v = strategy(inner[0], depth + 1), strategy(inner[1], depth + 1)
        return f"st.dictionaries({k}, {v}, max_size=10)" if k and v else None
    return None


def _required(func: FuncNode) -> list[ast.arg] | None:
    args = [*func.args.posonlyargs, *func.args.args]
    n_req = len(args) - len(func.args.defaults)
    kw_req = [
        a for a, d in zip(func.args.kwonlyargs, func.args.kw_defaults, strict=True) if d is None
    ]
    if kw_req:
        return None
    return args[:n_req]


def raised_names(func: FuncNode) -> set[str]:
    """Builtin exception classes the body raises explicitly."""
    out = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and isinstance(getattr(builtins, exc.id, None), type):
                out.add(exc.id)
    return out


@dataclass
class PropertyPlan:
    target: TargetInfo
    kind: str  # "no_unexpected_errors" | "roundtrip" | "idempotent"
    params: list[tuple[str, str]]  # (name, strategy)
    inverse: str | None = None


def plan_properties(
    target: TargetInfo, func: FuncNode, module_functions: set[str]
) -> list[PropertyPlan]:
    if target.kind != "function" or target.is_async:
        return []
    req = _required(func)
    if not req:
        return []
    params = [(a.arg, strategy(a.annotation)) for a in req]
    if any(s is None for _, s in params):
        return []
    typed = [(n, s) for n, s in params if s]
    plans = [PropertyPlan(target, "no_unexpected_errors", typed)]
    name = target.func_name
    if len(typed) == 1:
        for a, b in INVERSE_PAIRS:
            inverse = None
            if a.endswith("_") and name.startswith(a):
                inverse = b + name[len(a) :]
            elif name == a or name.endswith("_" + a):
                inverse = name[: len(name) - len(a)] + b
            elif "_to_" in name:
                left, right = name.split("_to_", 1)
                inverse = f"{right}_to_{left}"
            if inverse and inverse in module_functions:
                plans.append(PropertyPlan(target, "roundtrip", typed, inverse))
                break
        returns = ast.unparse(func.returns) if func.returns is not None else None
        if (
            any(w in name for w in NORMALIZER_WORDS)
            and returns
            and returns == ast.unparse(req[0].annotation or ast.Constant(None))
        ):
            plans.append(PropertyPlan(target, "idempotent", typed))
    return plans


def write_property(
    plan: PropertyPlan, expected_errors: set[str], target_module: str
) -> GeneratedTest:
    t = plan.target
    fn = t.func_name
    names = ", ".join(n for n, _ in plan.params)
    imports = {
        "from hypothesis import given, settings",
        "from hypothesis import strategies as st",
        f"from {target_module} import {fn}",
    }
    given = "@given(" + ", ".join(f"{n}={s}" for n, s in plan.params) + ")"
    if plan.kind == "roundtrip" and plan.inverse:
        imports.add(f"from {target_module} import {plan.inverse}")
        x = plan.params[0][0]
        body = [f"assert {plan.inverse}({fn}({x})) == {x}"]
        test = f"test_{snake(plan.inverse)}_inverts_{snake(fn)}"
    elif plan.kind == "idempotent":
        x = plan.params[0][0]
        body = [f"once = {fn}({x})", f"assert {fn}(once) == once"]
        test = f"test_{snake(fn)}_is_idempotent"
    else:
        errors = sorted(expected_errors)
        if errors:
            caught = errors[0] if len(errors) == 1 else "(" + ", ".join(errors) + ")"
            body = ["try:", f"    {fn}({names})", f"except {caught}:", "    pass"]
            test = f"test_{snake(fn)}_raises_only_{'_or_'.join(snake(e) for e in errors[:2])}"
        else:
            body = [f"{fn}({names})"]
            test = f"test_{snake(fn)}_accepts_any_{'_and_'.join(n for n, _ in plan.params[:2])}"
    return GeneratedTest(test[:72], imports, body, [SETTINGS, given], [n for n, _ in plan.params])
