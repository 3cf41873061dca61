"""A runner package's pytest plugin loads only where the project asked for the package.

Real environments (uv), real sandboxed pytest, warm and cold: hypothesis is in every
environment for generated tests, but its plugin (half a second of start-up) is the
project's only when the project's requirements bring hypothesis in.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from assay.environments import EnvironmentPool, EnvSpec
from assay.environments.runner_plugins import unrequested_plugins
from assay.runner.warm import WarmRunners
from tests.worker.conftest import ISOLATIONS, code, make_job, record

BWRAP = "bwrap" in ISOLATIONS

PROBE = code("probe", (
    "from hypothesis import given, strategies as st\n\n\n"
    "def test_plugin(pytestconfig):\n"
    "    print('PLUGIN', pytestconfig.pluginmanager.has_plugin('hypothesispytest'))\n\n\n"
    "@given(st.integers())\n"
    "def test_hypothesis_still_works(n):\n"
    "    assert n == n\n"
))


def _plugin_seen(python: Path, scratch: Path, warm: bool) -> bool:
    job = make_job(python, scratch, [PROBE], isolation="bwrap" if warm else "auto")

    async def main() -> bool:
        runners = WarmRunners(scratch / "warm") if warm else None
        try:
            rec = await record(job, warm=runners)
        finally:
            if runners is not None:
                await runners.close()
        result = rec.results["probe"]
        assert result.outcome == "passed", result.failure
        assert {t["outcome"] for t in result.tests} == {"passed"}
        if warm:
            assert rec.outcome.start == "warm", rec.outcome.start_note
        return "PLUGIN True" in (result.output or "")

    return asyncio.run(main())


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_hypothesis_plugin_is_off_where_the_project_did_not_ask_for_it(
    base_python: Path, scratch: Path, warm: bool
) -> None:
    if warm and not BWRAP:
        pytest.skip("warm runners need bubblewrap")
    assert unrequested_plugins(base_python) == ("hypothesispytest",)
    assert _plugin_seen(base_python, scratch, warm) is False


def test_hypothesis_plugin_loads_where_the_project_requires_hypothesis(
    env_pool: EnvironmentPool, scratch: Path
) -> None:
    async def build() -> Path:
        async with env_pool.lease(EnvSpec(["hypothesis"])) as env:
            return env.python

    python = asyncio.run(build())
    assert unrequested_plugins(python) == ()
    assert _plugin_seen(python, scratch, warm=BWRAP) is True
