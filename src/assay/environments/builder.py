"""Building one environment directory: uv when available, else venv + pip.

uv makes a second copy of an environment nearly free (it links from its cache),
which is what lets the pool hand concurrent jobs separate copies.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from assay.environments.interpreters import find_interpreter
from assay.environments.spec import EnvSpec
from assay.environments.uv import uv_binary
from assay.errors import InvalidInput

BUILD_TIMEOUT_S = 900.0
LOG_TAIL = 4000


class EnvironmentBuildError(InvalidInput):
    """Installing an environment failed; `log_tail` holds the end of the installer's log."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(f"{message}\n{log_tail}".strip())
        self.log_tail = log_tail


def _installer_env(envs_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    env["UV_PYTHON_INSTALL_DIR"] = str(envs_dir / "_pythons")  # reachable by the sandbox uid
    env.pop("VIRTUAL_ENV", None)
    return env


def _run(cmd: list[str], log: Path, env: dict[str, str]) -> None:
    with log.open("a", encoding="utf-8") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        try:
            done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                  timeout=BUILD_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            out.write(f"{exc}\n")
            raise EnvironmentBuildError(f"{cmd[0]} failed: {exc}", tail(log)) from exc
    if done.returncode != 0:
        raise EnvironmentBuildError(
            f"installing the environment failed (exit code {done.returncode})", tail(log)
        )


def _install(cmd: list[str], log: Path, env: dict[str, str], spec: EnvSpec) -> None:
    """Run the installer; a failure names the declarations of the requirements it names."""
    try:
        _run(cmd, log, env)
    except EnvironmentBuildError as exc:
        origin = spec.origin_of(exc.log_tail)
        if not origin:
            raise
        first = str(exc).splitlines()[0]
        raise EnvironmentBuildError(f"{first}: {origin}", exc.log_tail) from exc


def tail(log: Path) -> str:
    try:
        return log.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL:]
    except OSError:
        return ""


def build(venv: Path, spec: EnvSpec, envs_dir: Path, log: Path) -> Path:
    """Create `venv` from scratch for `spec`; return its python."""
    shutil.rmtree(venv, ignore_errors=True)
    env = _installer_env(envs_dir)
    interpreter = find_interpreter(spec.python_version)
    uv = uv_binary()
    python = venv / "bin" / "python"
    if uv is not None:
        if interpreter is not None:
            target = [str(interpreter)]
        else:  # let uv fetch a managed Python into envs_dir/_pythons
            target = [spec.python_version, "--python-preference", "only-managed"]
        _run([uv, "venv", "--quiet", "--python", *target, str(venv)], log, env)
        # Compile bytecode now: the sandbox sees the venv read-only, so without .pyc files
        # every test process would compile pytest and friends again on each import.
        _install([uv, "pip", "install", "--compile-bytecode", "--python", str(python),
                  *spec.install_list], log, env, spec)
    else:
        if interpreter is None:
            raise EnvironmentBuildError(f"no Python {spec.python_version} found on this machine")
        _run([str(interpreter), "-m", "venv", str(venv)], log, env)
        _install([str(python), "-m", "pip", "install", "--disable-pip-version-check",
                  *spec.install_list], log, env, spec)
    make_readable(venv)
    return python


def make_readable(root: Path) -> None:
    """World-readable (and searchable) everything, whatever the server's umask was."""
    searchable = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
    for dirpath, dirs, files in os.walk(root):
        for name in dirs:
            _add_mode(Path(dirpath, name), searchable)
        for name in files:
            _add_mode(Path(dirpath, name), stat.S_IRGRP | stat.S_IROTH)
    _add_mode(root, stat.S_IROTH | stat.S_IXOTH)


def _add_mode(path: Path, bits: int) -> None:
    try:
        mode = path.lstat().st_mode
    except OSError:
        return
    if stat.S_ISLNK(mode) or mode & bits == bits:
        return
    if mode & stat.S_IXUSR:
        bits |= stat.S_IXGRP | stat.S_IXOTH
    path.chmod(stat.S_IMODE(mode) | bits)
