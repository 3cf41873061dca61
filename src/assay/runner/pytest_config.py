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
