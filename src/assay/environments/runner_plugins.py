"""Pytest plugins an environment holds only because Assay's runner installed them.

Every environment gets `RUNNER_PACKAGES`, hypothesis among them (generated tests may
use it). An installed package's pytest plugin loads in every pytest of the
environment, used or not, and hypothesis's is heavy: it cost a one-test pytest half a
second of start-up (0.72 s against 0.18 s), and the hundred modules it imports made
humanize's suite a third slower (freezegun patches every loaded module each time it
freezes the clock). The project's developers, who do not have hypothesis, pay neither.
So when nothing the project asked for requires such a package, its plugin is turned
off (`-p no:<name>`) in the project's pytest runs; the package itself stays importable
for the tests that use it.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

RUNNER_PLUGINS = {"hypothesis": "hypothesispytest"}
"""Runner packages with a pytest plugin: distribution name -> the plugin's name."""

_EXTRA = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")
_cache: dict[tuple[str, int], tuple[str, ...]] = {}


def _parsed(requirement: str) -> Requirement | None:
    try:
        return Requirement(requirement)
    except InvalidRequirement:
        return None  # a path, a URL, an option: names no distribution


def unrequested_plugins(python: Path) -> tuple[str, ...]:
    """The plugins of runner packages nothing in `python`'s environment asked for.

    Asked for: named by the environment's requirements (the project's declared
    dependencies, in its `state.json`), or required by an installed distribution
    besides the package itself: always, or through an extra the requirements ask
    for (`pytest`'s own `dev` extra names hypothesis; no one installs it). Other
    markers count as met (a false "asked for" only costs the start-up). Read from
    the installed metadata, once per state of site-packages.
    """
    venv = python.parent.parent
    sites = sorted(venv.glob("lib/python*/site-packages"))
    if not sites:
        return ()
    key = (str(sites[0]), sites[0].stat().st_mtime_ns)
    if key not in _cache:
        _cache[key] = _unrequested(venv, sites[0])
    return _cache[key]


def _unrequested(venv: Path, site: Path) -> tuple[str, ...]:
    # importlib.metadata reads another environment's site-packages as well as its own.
    present = {canonicalize_name(d.metadata["Name"] or ""): d
               for d in importlib.metadata.distributions(path=[str(site)])}
    candidates = {dist for dist in RUNNER_PLUGINS if dist in present}
    if not candidates:
        return ()
    try:
        state = json.loads((venv.parent / "state.json").read_text("utf-8"))
        requirements = [str(r) for r in state.get("requirements", [])]
    except (OSError, ValueError):
        return ()  # not an environment Assay built: leave its plugins as they are
    wanted = [r for r in map(_parsed, requirements) if r is not None]
    asked = {canonicalize_name(r.name) for r in wanted}
    extras = {(canonicalize_name(r.name), canonicalize_name(e)) for r in wanted for e in r.extras}
    for name, dist in present.items():
        if name in candidates:
            continue
        for line in dist.requires or []:
            required = _parsed(line)
            if required is None:
                continue
            needed = [canonicalize_name(e) for e in _EXTRA.findall(str(required.marker or ""))]
            if not needed or any((name, extra) in extras for extra in needed):
                asked.add(canonicalize_name(required.name))
    return tuple(RUNNER_PLUGINS[d] for d in sorted(candidates - asked))


def disable_args(python: Path) -> list[str]:
    """`-p no:<plugin>` for each of `unrequested_plugins(python)`."""
    return [arg for plugin in unrequested_plugins(python) for arg in ("-p", f"no:{plugin}")]
