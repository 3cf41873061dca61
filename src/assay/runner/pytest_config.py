"""Pinning pytest to the project's own tree, wherever the copy of it lies.

Left alone, pytest looks for its configuration file in the ancestors of its
arguments and takes the first `pyproject.toml`, `tox.ini` or `setup.cfg` it
finds as its rootdir. A project copied into Assay's data dir (which may itself
sit inside some other checkout) would then be run with that outer project's
settings, and its node ids would carry the workspace path. So every pytest run
Assay makes names the project's configuration file (`-c`), its rootdir and its
conftest boundary explicitly: node ids are the project's own, stable across
imports, and nothing above the project is read.

The search mirrors pytest's own order (pytest 9): the first of these in the
project's root that pytest would accept as configuration wins.
"""

from __future__ import annotations

import configparser
import re
import shlex
import tomllib
from pathlib import Path

EMPTY_CONFIG = "/dev/null"
"""`-c /dev/null`: pytest's documented way to run with no configuration file."""


def _toml_has_pytest(path: Path) -> bool:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    tool = data.get("tool", {})
    return isinstance(tool, dict) and ("pytest" in tool)


def _ini_has(path: Path, section: str) -> bool:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return False
    return parser.has_section(section)


def config_file(project: Path) -> Path | None:
    """The file pytest run in `project` would take as its configuration, or None."""
    for name in ("pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini"):
        if (project / name).is_file():
            return project / name
    checks = (
        ("pyproject.toml", _toml_has_pytest),
        ("tox.ini", lambda p: _ini_has(p, "pytest")),
        ("setup.cfg", lambda p: _ini_has(p, "tool:pytest")),
    )
    for name, accepts in checks:
        path = project / name
        if path.is_file() and accepts(path):
            return path
    return None


def pinned_args(project: Path) -> list[str]:
    """`-c`, `--rootdir` and `--confcutdir` that keep pytest inside `project`."""
    found = config_file(project)
    return [
        "-c", str(found) if found is not None else EMPTY_CONFIG,
        "--rootdir", str(project),
        "--confcutdir", str(project),
    ]


UNRECOGNIZED = re.compile(r"error: unrecognized arguments: (.+)")


def addopts_of(config: Path | None) -> list[str]:
    """The `addopts` of a pytest configuration file, split as pytest splits them."""
    if config is None:
        return []
    value: object = None
    if config.suffix == ".toml":
        try:
            tool = tomllib.loads(config.read_text(encoding="utf-8")).get("tool", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return []
        section = tool.get("pytest", {})
        if config.name == "pyproject.toml" and "ini_options" in section:
            section = section["ini_options"]
        value = section.get("addopts") if isinstance(section, dict) else None
    else:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(config, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            return []
        name = "tool:pytest" if config.name == "setup.cfg" else "pytest"
        value = parser.get(name, "addopts", fallback=None)
    if isinstance(value, list):
        return [str(v) for v in value]
    return shlex.split(value) if isinstance(value, str) else []


def neutralized(project: Path, output: str) -> tuple[list[str], list[str]] | None:
    """When pytest refused options of the project's `addopts` (a plugin that is not
    installed: `--cov` without pytest-cov, `-n` without xdist), the arguments that
    run it without them, and what was dropped; None when that was not the failure.

    The project's developers have that plugin; Assay's environment may not (it was
    not declared), and its own runs must not fail for it. A dropped option's value
    (`-n auto`) goes with it. The caller says so in the run's notes.
    """
    match = UNRECOGNIZED.search(output)
    if match is None:
        return None
    unknown = set(shlex.split(match.group(1)))
    kept: list[str] = []
    dropped: list[str] = []
    take_value = False
    for token in addopts_of(config_file(project)):
        if take_value and not token.startswith("-"):
            dropped.append(token)
            take_value = False
            continue
        take_value = False
        if token in unknown or token.split("=", 1)[0] in unknown:
            dropped.append(token)
            take_value = "=" not in token
            continue
        kept.append(token)
    if not dropped:
        return None
    return ["-o", f"addopts={shlex.join(kept)}"], dropped


def neutralized_note(dropped: list[str]) -> str:
    return (f"note: pytest refused {' '.join(dropped)} from the project's addopts (a plugin "
            "this environment does not have); Assay ran without them. Declare the plugin in "
            "the project's test dependencies to have it.")
