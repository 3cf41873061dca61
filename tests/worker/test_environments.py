"""Environments: real builds with uv against the real index, cached across leases."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from assay.environments import EnvironmentBuildError, EnvironmentPool, EnvSpec, spec_for_project
from tests.worker.conftest import code, make_job, run
from tests.worker.test_runner import until


def test_spec_reads_requirements_with_includes(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "# deps\nSix >= 1.0  # inline\n-r more.txt\n-e .\n--index-url https://x\n\n")
    (tmp_path / "more.txt").write_text("iniconfig\n")
    spec = spec_for_project(tmp_path, "3.11")
    assert spec.requirements == ["Six >= 1.0", "iniconfig"]
    assert spec.key == EnvSpec(["iniconfig", "six>=1.0"], "3.11").key
    assert spec.key != EnvSpec(["iniconfig"], "3.11").key
    assert spec.key != EnvSpec(spec.requirements, "3.12").key


def test_spec_reads_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["six"]\n'
        '[project.optional-dependencies]\ntest = ["iniconfig"]\ndocs = ["sphinx"]\n')
    assert spec_for_project(tmp_path).requirements == ["six", "iniconfig"]
    assert spec_for_project(tmp_path / "nothing").requirements == []


def test_requirements_are_installed_and_cached(
    env_pool: EnvironmentPool, scratch: Path, tmp_path: Path
) -> None:
    (tmp_path / "requirements.txt").write_text("iniconfig\n")
    spec = spec_for_project(tmp_path)

    def build_stamp(venv: Path) -> tuple[int, int]:
        """Identity of the build: a rebuild truncates and rewrites the copy's build log."""
        log = venv.parent / "build.log"
        return log.stat().st_ino, log.stat().st_mtime_ns

    async def lease_twice() -> tuple[Path, tuple[int, int], tuple[int, int]]:
        async with env_pool.lease(spec) as env:
            python = env.python
            first = build_stamp(env.path)
        async with env_pool.lease(spec) as env:
            assert env.python == python
            second = build_stamp(env.path)
        return python, first, second

    python, first, second = asyncio.run(lease_twice())
    # The second lease reused the first build (asserted on the build itself, not on how
    # fast the lease was).
    assert second == first, "the second lease rebuilt the environment"
    info = next(i for i in env_pool.list() if i.key == spec.key and i.copy == 0)
    assert info.state == "ready" and info.requirements == ["iniconfig"]
    assert info.size_bytes and info.last_used_at
    res = run(make_job(python, scratch, [code("imp", "import iniconfig, coverage\n\n"
                                                     "def test_i():\n    assert iniconfig\n")]))
    assert res.results["imp"].outcome == "passed", res.results["imp"].failure


def test_concurrent_leases_get_separate_copies(env_pool: EnvironmentPool) -> None:
    spec = EnvSpec([])

    async def two() -> set[Path]:
        async with env_pool.lease(spec) as a, env_pool.lease(spec) as b:
            states = {i.copy: i.state for i in env_pool.list() if i.key == spec.key}
            assert states[0] == states[1] == "leased"
            return {a.path, b.path}

    assert len(asyncio.run(two())) == 2


def test_failed_build_raises_with_the_installer_log(env_pool: EnvironmentPool) -> None:
    spec = EnvSpec(["assay-surely-no-such-package-3c1f9"])

    async def lease() -> None:
        async with env_pool.lease(spec):
            pass

    with pytest.raises(EnvironmentBuildError) as err:
        asyncio.run(lease())
    assert "assay-surely-no-such-package-3c1f9" in err.value.log_tail
    info = next(i for i in env_pool.list() if i.key == spec.key)
    assert info.state == "failed" and info.error


def test_one_copy_is_leased_by_one_job_at_a_time_here_and_across_processes(
    env_pool: EnvironmentPool,
) -> None:
    """A pool that may keep one copy: concurrent leases in this process take turns, and
    a lease waits while another process holds the copy, then gets it on release."""
    pool = EnvironmentPool(env_pool.envs_dir, max_copies=1)
    spec = EnvSpec([])
    lock_file = env_pool.envs_dir / spec.key / "0.lock"
    holding: list[int] = []
    overlaps: list[int] = []

    async def job(n: int) -> Path:
        async with pool.lease(spec) as env:
            holding.append(n)
            overlaps.append(len(holding))
            await asyncio.sleep(0)  # let the others try while this one holds the copy
            holding.remove(n)
            return env.path

    async def scenario() -> tuple[set[Path], Path, bool]:
        paths = set(await asyncio.gather(*(job(n) for n in range(4))))
        holder = await asyncio.create_subprocess_exec(
            sys.executable, "-c",
            "import fcntl, sys\n"
            f"f = open({str(lock_file)!r}, 'a+'); fcntl.flock(f, fcntl.LOCK_EX)\n"
            "print('locked', flush=True); sys.stdin.readline()\n",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert holder.stdout is not None and holder.stdin is not None
        assert (await holder.stdout.readline()).strip() == b"locked"
        waiting = asyncio.create_task(job(9))
        await until(lambda: pool.waiting == 1, "the lease to find the copy held and wait")
        blocked = not waiting.done()
        holder.stdin.write(b"go\n")
        await holder.wait()
        return paths, await asyncio.wait_for(waiting, 30), blocked

    paths, after, blocked = asyncio.run(scenario())
    assert overlaps == [1] * 5 and len(paths) == 1
    assert blocked, "the lease took a copy another process held"
    assert after in paths
