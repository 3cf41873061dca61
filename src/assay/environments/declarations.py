"""What a project declares its tests need, read the way its own developers would.

Nothing here runs the project's code: files are parsed (TOML, INI, requirement
lines, and `setup.py` only through `ast` for literal `install_requires` /
`extras_require`). The order, which `docs/architecture.md` documents:

1. `uv.lock`: the lock wins, exported frozen (runtime dependencies plus the test
   groups below), so the tests run on exactly the versions the developers locked.
2. PEP 735 `[dependency-groups]` named like tests (`test`, `tests`, `testing`,
   `dev`), with `include-group` followed.
3. `[project.optional-dependencies]` test extras (same names).
   Poetry's own tables come next: `[tool.poetry.group.<test|dev>.dependencies]` and
   the older `[tool.poetry.dev-dependencies]`, their constraints (`^1.2`, `~1.2`)
   spelled as PEP 440 ranges.
4. Requirement files by their usual names (`requirements-dev.txt`,
   `requirements-test.txt`, `test-requirements.txt`, `dev-requirements.txt`,
   `requirements/test*.txt`, `requirements/dev*.txt`, ...).
5. `tox.ini` `[testenv]` `deps`.
6. `setup.cfg` `[options.extras_require]` (and `setup.py`'s literal one) test extras.

The first kind (2-6) that declares anything for tests is used; the others found are
shown, not installed, since mixing two declarations of the same thing is how
conflicts start. The project's runtime dependencies (`[project.dependencies]`,
`[tool.poetry.dependencies]`, `requirements.txt`, `setup.cfg`/`setup.py`
`install_requires`) are always added:
`pip install -e .` would install them. Settings can name exactly which groups,
extras and files to use instead.
"""

from __future__ import annotations

import ast
import configparser
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.errors import InvalidInput

TEST_NAMES = ("test", "tests", "testing", "dev")
REQUIREMENT_FILES = (
    "requirements-dev.txt", "requirements-test.txt", "requirements-tests.txt",
    "requirements-testing.txt", "requirements_dev.txt", "requirements_test.txt",
    "test-requirements.txt", "tests-requirements.txt", "dev-requirements.txt",
    "requirements/dev.txt", "requirements/test.txt", "requirements/tests.txt",
    "requirements/testing.txt", "tests/requirements.txt",
)


class DeclarationError(InvalidInput, ValueError):
    """A declaration the project makes cannot be read (the message says which and why)."""


@dataclass(frozen=True)
class Requirement:
    """One requirement and where it was declared (for build errors that say so)."""

    text: str
    origin: str


@dataclass
class Declaration:
    """One place that declares dependencies: what it holds and whether it was used."""

    kind: str
    source: str
    requirements: list[str]
    used: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "requirements": self.requirements,
                "used": self.used}


@dataclass
class Choice:
    """Explicit choices (project settings or `[tool.assay]`); None means "detect"."""

    groups: list[str] | None = None
    extras: list[str] | None = None
    requirement_files: list[str] | None = None
    extra_requirements: list[str] = field(default_factory=list)


@dataclass
class Detection:
    """Everything found, and what the environment is built from."""

    declarations: list[Declaration]
    requirements: list[Requirement]
    lock: Path | None = None
    lock_groups: list[str] = field(default_factory=list)
    requires_python: str | None = None
    python_pin: str | None = None
    build_requires: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "declarations": [d.to_dict() for d in self.declarations],
            "requirements": [{"requirement": r.text, "from": r.origin}
                             for r in self.requirements],
            "lock": self.lock.name if self.lock else None,
            "lock_groups": self.lock_groups,
            "requires_python": self.requires_python,
            "python_pin": self.python_pin,
            "build_requires": self.build_requires,
        }


SELF_WITH_EXTRAS = re.compile(r"^(?:-e\s+|--editable\s+)?\.\[([^\]]+)\]$")
"""`.[test]` or `-e .[test,docs]`: the project itself with some of its extras."""


def read_requirement_file(
    path: Path, root: Path, seen: set[Path] | None = None,
    extras_of_self: Callable[[str], list[str]] | None = None,
) -> list[str]:
    """Requirement lines of a pip requirements file, following `-r` includes in the project.

    Options (index URLs, `-c`) and editable or local paths (`-e .`, `.[test]`) are
    dropped: the project is installed by Assay itself, and index settings are the
    operator's to choose, not the project's. `.[test]` stands for the project's own
    `test` extra, which `extras_of_self` expands.
    """
    seen = set() if seen is None else seen
    path = path.resolve()
    if path in seen or not path.is_file():
        return []
    seen.add(path)
    out: list[str] = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        include = re.match(r"^(-r|--requirement)\s*=?\s*(\S+)$", line)
        if include:
            target = (path.parent / include.group(2)).resolve()
            if target == root or root in target.parents:
                out += read_requirement_file(target, root, seen, extras_of_self)
            continue
        self_extras = SELF_WITH_EXTRAS.match(line)
        if self_extras and extras_of_self is not None:
            for name in self_extras.group(1).split(","):
                out += extras_of_self(name.strip())
            continue
        if line.startswith(("-", ".", "/", "file:")):
            continue
        out.append(line)
    return out


def _groups(pyproject: dict[str, Any]) -> dict[str, list[Any]]:
    groups = pyproject.get("dependency-groups", {})
    return groups if isinstance(groups, dict) else {}


def resolve_group(
    groups: dict[str, list[Any]], name: str, trail: tuple[str, ...] = ()
) -> list[str]:
    """A PEP 735 group's requirements, `{include-group = ...}` entries expanded."""
    if name in trail:
        raise DeclarationError(f"dependency group {name!r} includes itself: "
                               f"{' -> '.join((*trail, name))}")
    if name not in groups:
        raise DeclarationError(f"dependency group {name!r} is not declared in pyproject.toml")
    out: list[str] = []
    for entry in groups[name]:
        if isinstance(entry, str):
            out.append(entry)
        elif isinstance(entry, dict) and "include-group" in entry:
            out += resolve_group(groups, str(entry["include-group"]), (*trail, name))
    return out


def _literal_setup_py(path: Path) -> tuple[list[str], dict[str, list[str]]]:
    """Literal `install_requires` and `extras_require` of a `setup(...)` call, if any."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except SyntaxError:
        return [], {}
    install: list[str] = []
    extras: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id",
                                                       getattr(node.func, "attr", "")) == "setup"):
            continue
        for kw in node.keywords:
            try:
                value = ast.literal_eval(kw.value)
            except (ValueError, SyntaxError):
                continue
            if kw.arg == "install_requires" and isinstance(value, list | tuple):
                install = [str(v) for v in value]
            elif kw.arg == "extras_require" and isinstance(value, dict):
                extras = {str(k): [str(v) for v in vs] for k, vs in value.items()
                          if isinstance(vs, list | tuple)}
    return install, extras


def _cfg_list(value: str) -> list[str]:
    return [line.strip() for line in re.split(r"[\n;]", value)
            if line.strip() and not line.strip().startswith("#")]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DeclarationError(f"{path.name} is not valid TOML: {exc}") from exc


def _read_ini(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise DeclarationError(f"{path.name} cannot be read: {exc}") from exc
    return parser


def poetry_requirement(name: str, spec: Any) -> str | None:
    """A Poetry dependency as a PEP 508 requirement; None for what pip cannot take
    from a name and version (a path, a git URL, `python` itself).

    Poetry's caret allows changes that keep the leftmost non-zero part (`^1.2` is
    `>=1.2,<2`, `^0.3` is `>=0.3,<0.4`), its tilde patch-level changes when a minor
    version is given (`~1.2` and `~1.2.3` stay below 1.3), minor ones otherwise (`~1`
    stays below 2); other constraints are PEP 440 already.
    """
    if name.lower() == "python":
        return None
    extras = ""
    markers = ""
    if isinstance(spec, dict):
        if any(k in spec for k in ("path", "git", "url", "file")):
            return None
        if spec.get("extras"):
            extras = f"[{','.join(spec['extras'])}]"
        if spec.get("markers"):
            markers = f"; {spec['markers']}"
        spec = spec.get("version", "*")
    if isinstance(spec, list):  # multiple constraints by Python version: take the first
        return poetry_requirement(name, spec[0]) if spec else None
    constraint = ",".join(_poetry_constraint(part.strip())
                          for part in str(spec).split(",") if part.strip())
    return f"{name}{extras}{constraint}{markers}".strip()


def _poetry_constraint(part: str) -> str:
    if part in ("*", ""):
        return ""
    if part.startswith(("^", "~")) and not part.startswith("~="):
        version = part[1:].strip()
        nums = [int(n) for n in re.findall(r"\d+", version.split("-")[0])[:3]] or [0]
        if part[0] == "^":
            index = next((i for i, n in enumerate(nums) if n != 0), len(nums) - 1)
        else:
            index = 1 if len(nums) > 1 else 0
        upper = [*nums[:index], nums[index] + 1]
        return f">={version},<{'.'.join(map(str, upper))}"
    if re.match(r"^\d", part):
        return f"=={part}"
    return part


def _poetry_table(table: Any) -> list[str]:
    if not isinstance(table, dict):
        return []
    found = [poetry_requirement(str(k), v) for k, v in table.items()]
    return [r for r in found if r]


def _test_named(names: list[str]) -> list[str]:
    return [n for n in names if n.lower() in TEST_NAMES]


def detect(project: Path, choice: Choice | None = None) -> Detection:
    """Read every declaration of `project`; decide what the environment holds."""
    choice = choice or Choice()
    root = project.resolve()
    pyproject = _read_toml(root / "pyproject.toml") if (root / "pyproject.toml").is_file() else {}
    meta = pyproject.get("project", {}) if isinstance(pyproject.get("project"), dict) else {}
    found: list[Declaration] = []
    runtime: list[Declaration] = []

    if meta.get("dependencies"):
        runtime.append(Declaration("project", "pyproject.toml [project.dependencies]",
                                   [str(r) for r in meta["dependencies"]]))
    tool = pyproject.get("tool", {}) if isinstance(pyproject.get("tool"), dict) else {}
    poetry = tool.get("poetry", {}) if isinstance(tool.get("poetry"), dict) else {}
    if not meta.get("dependencies") and _poetry_table(poetry.get("dependencies")):
        runtime.append(Declaration("poetry", "pyproject.toml [tool.poetry.dependencies]",
                                   _poetry_table(poetry.get("dependencies"))))
    if (root / "requirements.txt").is_file():
        runtime.append(Declaration("requirements", "requirements.txt",
                                   read_requirement_file(root / "requirements.txt", root)))
    setup_cfg = _read_ini(root / "setup.cfg") if (root / "setup.cfg").is_file() else None
    if setup_cfg is not None and setup_cfg.has_option("options", "install_requires"):
        runtime.append(Declaration("setup.cfg", "setup.cfg [options] install_requires",
                                   _cfg_list(setup_cfg.get("options", "install_requires"))))
    py_install, py_extras = (_literal_setup_py(root / "setup.py")
                             if (root / "setup.py").is_file() else ([], {}))
    if py_install:
        runtime.append(Declaration("setup.py", "setup.py install_requires", py_install))

    def extras_of_self(name: str) -> list[str]:
        return [str(r) for r in (meta.get("optional-dependencies", {}) or {}).get(name, [])] \
            or py_extras.get(name, []) or (
                _cfg_list(setup_cfg.get("options.extras_require", name))
                if setup_cfg is not None and setup_cfg.has_option("options.extras_require", name)
                else [])

    groups = _groups(pyproject)
    for name in (choice.groups if choice.groups is not None else _test_named(list(groups))):
        found.append(Declaration("dependency-group",
                                 f"pyproject.toml [dependency-groups] {name}",
                                 resolve_group(groups, name)))
    extras = meta.get("optional-dependencies", {}) or {}
    for name in (choice.extras if choice.extras is not None else _test_named(list(extras))):
        if name not in extras:
            raise DeclarationError(f"extra {name!r} is not declared in "
                                   "[project.optional-dependencies]")
        found.append(Declaration("extra", f"pyproject.toml [project.optional-dependencies] "
                                 f"{name}", [str(r) for r in extras[name]]))
    if choice.groups is None and choice.extras is None:
        poetry_groups = poetry.get("group", {}) if isinstance(poetry.get("group"), dict) else {}
        for name in _test_named(list(poetry_groups)):
            found.append(Declaration(
                "poetry", f"pyproject.toml [tool.poetry.group.{name}.dependencies]",
                _poetry_table((poetry_groups[name] or {}).get("dependencies"))))
        if poetry.get("dev-dependencies"):
            found.append(Declaration("poetry", "pyproject.toml [tool.poetry.dev-dependencies]",
                                     _poetry_table(poetry["dev-dependencies"])))
    files = choice.requirement_files if choice.requirement_files is not None else [
        f for f in REQUIREMENT_FILES if (root / f).is_file()]
    for name in files:
        target = (root / name).resolve()
        if not (target == root or root in target.parents) or not target.is_file():
            raise DeclarationError(f"requirements file {name!r} does not exist in the project")
        found.append(Declaration("requirements", name,
                                 read_requirement_file(target, root, None, extras_of_self)))
    if choice.requirement_files is None and (root / "tox.ini").is_file():
        tox = _read_ini(root / "tox.ini")
        if tox.has_option("testenv", "deps"):
            deps: list[str] = []
            for line in _cfg_list(tox.get("testenv", "deps")):
                include = re.match(r"^-r\s*(\S+)$", line)
                if include:
                    deps += read_requirement_file(root / include.group(1), root, None,
                                                  extras_of_self)
                elif (self_extras := SELF_WITH_EXTRAS.match(line)) is not None:
                    for extra in self_extras.group(1).split(","):
                        deps += extras_of_self(extra.strip())
                elif not line.startswith(("-", ".", "{")):
                    deps.append(line)
            found.append(Declaration("tox", "tox.ini [testenv] deps", deps))
    if choice.extras is None:
        cfg_extras: dict[str, list[str]] = {}
        if setup_cfg is not None and setup_cfg.has_section("options.extras_require"):
            cfg_extras = {k: _cfg_list(v) for k, v in setup_cfg["options.extras_require"].items()}
        for name in _test_named(list(cfg_extras)):
            found.append(Declaration("setup.cfg", f"setup.cfg [options.extras_require] {name}",
                                     cfg_extras[name]))
        for name in _test_named(list(py_extras)):
            found.append(Declaration("setup.py", f"setup.py extras_require {name}",
                                     py_extras[name]))

    explicit = any(c is not None for c in (choice.groups, choice.extras,
                                           choice.requirement_files))
    used_kind = None if explicit else next((d.kind for d in found if d.requirements), None)
    for declaration in found:
        declaration.used = explicit or declaration.kind == used_kind
    for declaration in runtime:
        declaration.used = True
    lock = root / "uv.lock" if (root / "uv.lock").is_file() else None
    lock_groups = [n for n in _test_named(list(groups))] if choice.groups is None else \
        list(choice.groups)
    requirements = [Requirement(r, d.source) for d in [*runtime, *found] if d.used
                    for r in d.requirements]
    requirements += [Requirement(r, "settings: extra requirements")
                     for r in choice.extra_requirements]
    build = pyproject.get("build-system", {}) if isinstance(pyproject.get("build-system"),
                                                            dict) else {}
    pin_file = root / ".python-version"
    return Detection(
        declarations=[*runtime, *found],
        requirements=requirements,
        lock=lock,
        lock_groups=lock_groups if lock else [],
        requires_python=meta.get("requires-python"),
        python_pin=pin_file.read_text().split()[0] if pin_file.is_file()
        and pin_file.read_text().split() else None,
        build_requires=[str(r) for r in build.get("requires", ["setuptools>=40.8.0"])],
    )
