"""Synthesize call inputs for a function from what its source says about them.

Sources of values, most telling first: doctest examples (a person wrote them),
literals the body compares parameters with (and their neighbours: boundaries are
where bugs live), type hints, defaults, and finally the parameter's name. Values are
kept as Python source text (`Expr`) because the same text is evaluated by the probe
in the sandbox and written into the test, so what is asserted is what was run.
"""

from __future__ import annotations

import ast
import doctest
from dataclasses import dataclass, field

from assay.generation.model import TargetInfo
from assay.generation.symbols import FuncNode

MAX_CALLS_PER_TARGET = 40


@dataclass(frozen=True)
class Expr:
    code: str
    imports: frozenset[str] = frozenset()


@dataclass
class CallSpec:
    """One call of the target: how to build the receiver, the arguments, and why."""

    args: list[Expr]
    kwargs: dict[str, Expr]
    receiver: Expr | None = None
    label: str = ""  # the varying input, in words: "empty string", "negative n"
    origin: str = "synthesized"  # "doctest" | "synthesized" | "base"

    @property
    def imports(self) -> frozenset[str]:
        out: set[str] = set()
        for e in [*self.args, *self.kwargs.values(), *([self.receiver] if self.receiver else [])]:
            out |= e.imports
        return frozenset(out)


def E(code: str, *imports: str) -> Expr:
    return Expr(code, frozenset(imports))


INT = [E("3"), E("0"), E("1"), E("-1"), E("10")]
FLOAT = [E("1.5"), E("0.0"), E("-2.5"), E("100.0")]
STR = [E("'hello world'"), E("''"), E("'Hello, World!'"), E("'  padded  '"), E("'42'")]
BYTES = [E("b'hello'"), E("b''")]
BOOL = [E("True"), E("False")]
LIST = [E("[3, 1, 2]"), E("[]"), E("[1, 1, 2, 3]")]
ANY = [E("3"), E("'abc'"), E("[1, 2, 3]"), E("None"), E("0"), E("''"), E("-1"), E("2.5")]

NAME_HINTS: list[tuple[set[str], list[Expr]]] = [
    (
        {"binop", "op", "operator", "combine", "reducer", "combiner"},
        [E("operator.add", "import operator"), E("max")],
    ),
    (
        {
            "n",
            "k",
            "i",
            "count",
            "size",
            "num",
            "width",
            "length",
            "times",
            "index",
            "start",
            "stop",
            "step",
            "limit",
            "r",
            "ndigits",
            "precision",
            "places",
            "depth",
            "level",
            "max_length",
            "maxlen",
            "chunk_size",
            "base",
            "offset",
            "digits",
            "ind",
            "idx",
        },
        INT,
    ),
    (
        {
            "iterable",
            "iterables",
            "seq",
            "sequence",
            "items",
            "values",
            "lst",
            "xs",
            "data",
            "elements",
            "pool",
            "iterator",
            "it",
            "collection",
            "numbers",
            "list",
            "array",
        },
        [E("[3, 1, 2]"), E("[]"), E("'abcd'"), E("[1, 1, 2, 2, 3]"), E("iter([2, 1, 1])")],
    ),
    (
        {
            "s",
            "text",
            "string",
            "name",
            "word",
            "title",
            "sep",
            "prefix",
            "suffix",
            "separator",
            "delimiter",
            "path",
            "label",
            "message",
            "msg",
            "line",
            "char",
            "pattern",
        },
        STR,
    ),
    ({"pred", "predicate", "condition", "filter"}, [E("bool"), E("None")]),
    (
        {"func", "function", "fn", "callback", "key", "transform", "mapper", "f"},
        [E("str"), E("abs")],
    ),
    (
        {"value", "x", "y", "a", "b", "number", "amount", "quantity", "val", "num"},
        [E("3"), E("0"), E("-1"), E("1234567"), E("2.5"), E("'1000'"), E("None")],
    ),
    ({"flag", "strict", "enabled", "verbose", "reverse", "lowercase", "upper"}, BOOL),
    (
        {"mapping", "dict", "d", "kwargs", "options", "params", "headers"},
        [E("{'a': 1, 'b': 2}"), E("{}")],
    ),
]

STDLIB_TYPES: dict[str, list[Expr]] = {
    "datetime": [E("datetime.datetime(2024, 1, 31, 12, 30)", "import datetime")],
    "date": [E("datetime.date(2024, 1, 31)", "import datetime")],
    "timedelta": [
        E("datetime.timedelta(days=1, hours=2)", "import datetime"),
        E("datetime.timedelta(0)", "import datetime"),
    ],
    "Decimal": [
        E("decimal.Decimal('1.50')", "import decimal"),
        E("decimal.Decimal('0')", "import decimal"),
    ],
    "Fraction": [E("fractions.Fraction(3, 4)", "import fractions")],
    "Path": [E("pathlib.Path('example.txt')", "import pathlib")],
    "PurePath": [E("pathlib.PurePath('example.txt')", "import pathlib")],
}


@dataclass
class ModuleContext:
    """What the synthesizer knows about the module a target lives in."""

    module: str
    tree: ast.Module
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)

    @classmethod
    def parse(cls, module: str, tree: ast.Module) -> ModuleContext:
        classes: dict[str, ast.ClassDef] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, node)
        return cls(module=module, tree=tree, classes=classes)


def _dedupe(values: list[Expr]) -> list[Expr]:
    seen: dict[str, Expr] = {}
    for v in values:
        seen.setdefault(v.code, v)
    return list(seen.values())


def _literal_ok(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


class Synthesizer:
    def __init__(self, ctx: ModuleContext) -> None:
        self.ctx = ctx

    # -- values from a type hint -------------------------------------------------------------
    def from_hint(self, hint: ast.expr | None, depth: int = 0) -> list[Expr]:
        if hint is None or depth > 2:
            return []
        if isinstance(hint, ast.Constant) and isinstance(hint.value, str):
            try:
                return self.from_hint(ast.parse(hint.value, mode="eval").body, depth)
            except SyntaxError:
                return []
        if isinstance(hint, ast.Constant) and hint.value is None:
            return [E("None")]
        if isinstance(hint, ast.BinOp) and isinstance(hint.op, ast.BitOr):
            return _dedupe(self.from_hint(hint.left, depth) + self.from_hint(hint.right, depth))
        name = _hint_name(hint)
        inner: list[ast.expr] = []
        if isinstance(hint, ast.Subscript):
            sl = hint.slice
            inner = list(sl.elts) if isinstance(sl, ast.Tuple) else [sl]
        if name in ("Optional",):
            return _dedupe([*self.from_hint(inner[0], depth), E("None")]) if inner else []
        if name in ("Union",):
            return _dedupe([v for h in inner for v in self.from_hint(h, depth)])
        if name == "int":
            return list(INT)
        if name == "float":
            return list(FLOAT)
        if name == "str":
            return list(STR)
        if name == "bool":
            return list(BOOL)
        if name in ("bytes", "bytearray"):
            return list(BYTES)
        if name in (
            "list",
            "List",
            "Sequence",
            "Iterable",
            "Iterator",
            "Collection",
            "MutableSequence",
            "Reversible",
        ):
            elems = self.from_hint(inner[0], depth + 1) if inner else []
            if elems:
                picks = [e for e in elems if e.code != "None"][:3]
                code = "[" + ", ".join(e.code for e in picks) + "]"
                imports = frozenset().union(*(e.imports for e in picks))
                return [Expr(code, imports), E("[]")]
            return list(LIST)
        if name in ("tuple", "Tuple"):
            parts = [self.from_hint(h, depth + 1) for h in inner if not isinstance(h, ast.Constant)]
            if parts and all(parts):
                picks = [p[0] for p in parts]
                code = (
                    "(" + ", ".join(e.code for e in picks) + ("," if len(picks) == 1 else "") + ")"
                )
                return [Expr(code, frozenset().union(*(e.imports for e in picks))), E("()")]
            return [E("(1, 2, 3)"), E("()")]
        if name in ("set", "Set", "frozenset", "AbstractSet", "MutableSet"):
            return [E("{1, 2, 3}"), E("set()")]
        if name in ("dict", "Dict", "Mapping", "MutableMapping"):
            return [E("{'a': 1, 'b': 2}"), E("{}")]
        if name in ("Callable",):
            return [E("str"), E("bool")]
        if name in ("Any", "object"):
            return list(ANY)
        if name in STDLIB_TYPES:
            return list(STDLIB_TYPES[name])
        if name in self.ctx.classes and depth < 2:
            return self.instances_of(name, depth + 1)
        return []

    # -- instances of the module's own classes ----------------------------------------------
    def instances_of(self, cls_name: str, depth: int = 0) -> list[Expr]:
        node = self.ctx.classes.get(cls_name)
        if node is None:
            return []
        imp = f"from {self.ctx.module} import {cls_name}"
        bases = {_hint_name(b) for b in node.bases}
        if bases & {"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag"}:
            members = [
                t.id
                for st in node.body
                if isinstance(st, ast.Assign)
                for t in st.targets
                if isinstance(t, ast.Name) and not t.id.startswith("_")
            ]
            return [E(f"{cls_name}.{m}", imp) for m in members[:3]]
        params = self.constructor_params(node)
        if params is None:
            return [E(f"{cls_name}()", imp)]
        args: list[str] = []
        imports = {imp}
        for pname, hint, has_default in params:
            if has_default:
                continue
            vals = self.values_for(pname, hint, None, depth + 1)
            if not vals:
                return []
            args.append(vals[0].code)
            imports |= vals[0].imports
        return [Expr(f"{cls_name}({', '.join(args)})", frozenset(imports))]

    def constructor_params(
        self, node: ast.ClassDef
    ) -> list[tuple[str, ast.expr | None, bool]] | None:
        for st in node.body:
            if isinstance(st, ast.FunctionDef) and st.name == "__init__":
                return [(p.arg, p.annotation, d) for p, d in _positional(st)[1:]]
        fields: list[tuple[str, ast.expr | None, bool]] = [
            (st.target.id, st.annotation, st.value is not None)
            for st in node.body
            if isinstance(st, ast.AnnAssign)
            and isinstance(st.target, ast.Name)
            and "ClassVar" not in ast.unparse(st.annotation)
        ]
        return fields or None

    # -- everything for one parameter ---------------------------------------------------------
    def values_for(
        self,
        pname: str,
        hint: ast.expr | None,
        default: ast.expr | None,
        depth: int = 0,
        literals: list[Expr] | None = None,
    ) -> list[Expr]:
        values = self.from_hint(hint, depth)
        typed = bool(values)
        if literals:
            values = values[:1] + literals + values[1:] if typed else literals + values
        if not typed:
            hinted = name_hint(pname)
            if hinted:
                values += hinted
            elif default is None or not _literal_ok(default):
                values += ANY
        if default is not None and _literal_ok(default):
            dv = E(ast.unparse(default))
            if dv.code == "None" and not typed:
                values = [v for v in values if v.code != "None"]
            values = [*values, dv] if default is not None else values
        return _dedupe(values)


def name_hint(pname: str) -> list[Expr]:
    """Values a parameter name suggests: exact (`seq`), plural (`seqs`), suffix (`leftseq`)."""
    name = pname.lower()
    for names, hinted in NAME_HINTS:
        if name in names or name.rstrip("s") in names:
            return list(hinted)
    for names, hinted in NAME_HINTS:
        if any(len(n) >= 3 and name.rstrip("s").endswith(n) for n in names):
            return list(hinted)
    return []


def _hint_name(node: ast.expr) -> str:
    if isinstance(node, ast.Subscript):
        return _hint_name(node.value)
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _positional(func: FuncNode) -> list[tuple[ast.arg, bool]]:
    args = [*func.args.posonlyargs, *func.args.args]
    n_defaults = len(func.args.defaults)
    return [(a, i >= len(args) - n_defaults) for i, a in enumerate(args)]


def body_literals(func: FuncNode) -> dict[str, list[Expr]]:
    """Constants a parameter is compared with, plus neighbours for numbers.

    `if n < 0` makes -1, 0 and 1 interesting for `n`; `if mode == "fast"` makes "fast".
    Constants not tied to a parameter are returned under the key "".
    """
    params = {a.arg for a in [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]}
    out: dict[str, list[Expr]] = {}

    def add(key: str, value: object) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int | float):
            for v in (value, value - 1, value + 1):
                out.setdefault(key, []).append(E(repr(v)))
        elif isinstance(value, str) and len(value) <= 40:
            out.setdefault(key, []).append(E(repr(value)))

    for node in ast.walk(func):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            names = {_param_of(s, params) for s in sides} - {None}
            for side in sides:
                consts: list[object] = []
                if isinstance(side, ast.Constant):
                    consts = [side.value]
                elif isinstance(side, ast.Tuple | ast.List | ast.Set):
                    consts = [e.value for e in side.elts if isinstance(e, ast.Constant)]
                elif isinstance(side, ast.UnaryOp) and isinstance(side.operand, ast.Constant):
                    try:
                        consts = [ast.literal_eval(side)]
                    except ValueError:
                        consts = []
                for c in consts:
                    for key in names or {""}:
                        add(str(key), c)
    return {k: _dedupe(v) for k, v in out.items()}


def _param_of(node: ast.expr, params: set[str]) -> str | None:
    """The parameter an expression is about: `n`, `len(s)`, `s.lower()`, `x[0]`."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in params:
            return sub.id
    return None


def doctest_calls(func: FuncNode, ctx: ModuleContext, target: TargetInfo) -> list[CallSpec]:
    """Calls of the target written in its docstring examples, with literal arguments only."""
    doc = ast.get_docstring(func)
    if not doc:
        return []
    calls: list[CallSpec] = []
    try:
        examples = doctest.DocTestParser().get_examples(doc)
    except ValueError:
        return []
    for ex in examples:
        try:
            expr = ast.parse(ex.source.strip(), mode="eval").body
        except SyntaxError:
            continue
        if not isinstance(expr, ast.Call) or _hint_name(expr.func) != target.func_name:
            continue
        if target.kind == "method":
            continue  # receivers in examples are usually built in earlier lines
        if not all(_literal_ok(a) for a in expr.args) or not all(
            _literal_ok(k.value) for k in expr.keywords
        ):
            continue
        if any(k.arg is None for k in expr.keywords) or any(
            isinstance(a, ast.Starred) for a in expr.args
        ):
            continue
        args = [E(ast.unparse(a)) for a in expr.args]
        words = [describe_value(a.code) for a in args[:2]]
        words += [f"{k.arg}_{describe_value(ast.unparse(k.value))}" for k in expr.keywords[:1]]
        calls.append(
            CallSpec(
                args=args,
                kwargs={k.arg: E(ast.unparse(k.value)) for k in expr.keywords if k.arg},
                label="_and_".join(words) or "defaults",
                origin="doctest",
            )
        )
    return calls


def describe_value(code: str) -> str:
    """Words for a value in a test name: `''` -> 'empty_string', `-1` -> 'negative'."""
    try:
        v = ast.literal_eval(code)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        head = code.split("(")[0].split(".")[-1]
        return _slug(head) or "value"
    if v is None:
        return "none"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int | float):
        if v == 0:
            return "zero"
        if v < 0:
            return "negative"
        if abs(v) >= 1000:
            return "large_number"
        return str(int(v)) if float(v).is_integer() else _slug(str(v)).replace("_", "_point_")
    if isinstance(v, str | bytes):
        if not v:
            return "empty_string" if isinstance(v, str) else "empty_bytes"
        s = _slug(v if isinstance(v, str) else v.decode("latin-1"))
        if v != v.strip():
            return "padded_string"
        return s[:24] if s else "symbols"
    if isinstance(v, list | tuple | set | frozenset | dict):
        kind = type(v).__name__
        return f"empty_{kind}" if not v else f"{len(v)}_item_{kind}"
    return "value"


def _slug(text: str) -> str:
    out = "".join(ch.lower() if ch.isascii() and ch.isalnum() else "_" for ch in text)
    return "_".join(p for p in out.split("_") if p)


def plan_calls(target: TargetInfo, func: FuncNode, ctx: ModuleContext) -> list[CallSpec]:
    """Doctest calls, a base call, then one parameter varied at a time (bounded)."""
    syn = Synthesizer(ctx)
    literals = body_literals(func)
    receiver: Expr | None = None
    positional = _positional(func)
    is_static = any(_hint_name(d) == "staticmethod" for d in func.decorator_list)
    is_classmethod = any(_hint_name(d) == "classmethod" for d in func.decorator_list)
    if target.kind == "method" and target.class_name:
        cls_name = target.class_name.split(".")[-1]
        if not is_static:
            positional = positional[1:]
        if is_static or is_classmethod:
            receiver = E(cls_name, f"from {ctx.module} import {target.class_name.split('.')[0]}")
        else:
            instances = syn.instances_of(cls_name)
            if not instances:
                return []
            receiver = instances[0]
    defaults = list(func.args.defaults)
    kw_defaults = dict(
        zip([a.arg for a in func.args.kwonlyargs], func.args.kw_defaults, strict=True)
    )
    required: list[tuple[str, list[Expr]]] = []
    optional: list[tuple[str, list[Expr]]] = []
    n_req = len(positional) - len(defaults)
    for i, (arg, has_default) in enumerate(positional):
        default = defaults[i - n_req] if has_default else None
        vals = syn.values_for(arg.arg, arg.annotation, default, literals=literals.get(arg.arg))
        (optional if has_default else required).append((arg.arg, vals))
    for a in func.args.kwonlyargs:
        default = kw_defaults.get(a.arg)
        vals = syn.values_for(a.arg, a.annotation, default, literals=literals.get(a.arg))
        if default is None:
            required.append((a.arg, vals))
        else:
            optional.append((a.arg, vals))
    if any(not vals for _, vals in required):
        return doctest_calls(func, ctx, target)
    kwonly = {a.arg for a in func.args.kwonlyargs}

    # *args: pass two values by default (only when no optional positional would absorb them).
    var = func.args.vararg
    var_values: list[Expr] = []
    if var is not None and not defaults:
        var_values = [v for v in syn.values_for(var.arg, var.annotation, None) if v.code != "None"]
    var_default = var_values[:2]

    def build(
        overrides: dict[str, Expr],
        label: str,
        origin: str = "synthesized",
        varargs: list[Expr] | None = None,
    ) -> CallSpec:
        args = [overrides.get(n, vals[0]) for n, vals in required if n not in kwonly]
        args += var_default if varargs is None else varargs
        kwargs = {n: overrides.get(n, vals[0]) for n, vals in required if n in kwonly}
        kwargs.update({n: v for n, v in overrides.items() if n in dict(optional)})
        return CallSpec(args=args, kwargs=kwargs, receiver=receiver, label=label, origin=origin)

    calls = doctest_calls(func, ctx, target)
    many = len(required) + len(optional) > 1
    base_label = " and ".join(describe_value(v[0].code) for _, v in required[:2]) or "defaults"
    calls.append(build({}, base_label, "base"))
    for name, vals in required:
        for v in vals[1:]:
            calls.append(
                build(
                    {name: v},
                    f"{describe_value(v.code)}_{name}" if many else describe_value(v.code),
                )
            )
    for name, vals in optional:
        for v in vals:
            calls.append(build({name: v}, f"{name}_{describe_value(v.code)}"))
    if var_values:
        calls.append(build({}, f"no_{var.arg if var else 'args'}", varargs=[]))
        for v in var_values[2:4]:
            calls.append(
                build({}, f"{describe_value(v.code)}_{var.arg if var else ''}", varargs=[v, v])
            )
    seen: set[str] = set()
    unique = []
    for c in calls:
        key = repr(([a.code for a in c.args], sorted((k, v.code) for k, v in c.kwargs.items())))
        if key not in seen:
            seen.add(key)
            unique.append(c)
    return unique[:MAX_CALLS_PER_TARGET]
