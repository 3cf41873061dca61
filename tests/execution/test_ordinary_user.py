"""A server started by an ordinary user (the laptop case) shows a test none of its secrets.

The user clones Assay into their private home and starts it there, so the data dir
(secret key, admin password, SQLite database) sits in that home beside `.ssh/`. A
test case written through the API then tries to read all of it from inside the
sandbox, and to list the home. It must find nothing: the sandbox's view holds the
system, the interpreter and environment, and the job's own workspace, nothing else.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.environments.uv import uv_binary
from assay.sandbox.isolation import bwrap_path
from tests.execution.test_private_dirs import clone_into
from tests.servers import ServerProcess, wait_final

USER = "assaylaptop"
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY----- laptop-private-key-material"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bwrap_path() is None, reason="needs bubblewrap"),
]


def ordinary_user() -> pwd.struct_passwd:
    """The current user when not root; as root, a system user created for the test."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", USER], check=True, capture_output=True)
        return pwd.getpwnam(USER)


def homes_dir() -> str:
    """Where home directories live: /home when we may create one there (not /tmp, which
    a sandbox may cover with a tmpfs of its own and so hide by accident)."""
    return "/home" if os.access("/home", os.W_OK) else str(Path.home())


def reachable_python() -> str:
    for candidate in ("/usr/bin/python3.13", "/usr/bin/python3.12", "/usr/bin/python3.11"):
        if Path(candidate).exists():
            return candidate
    pytest.skip("no system Python 3.11+ outside root's home for the ordinary user's server")


@pytest.fixture
def laptop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ServerProcess]]:
    user = ordinary_user()
    home = Path(tempfile.mkdtemp(prefix="assay-home-", dir=homes_dir()))
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_ed25519").write_text(SSH_KEY)
    (home / ".bash_history").write_text("export GITHUB_TOKEN=ghp_laptop_history_secret\n")
    project = home / "proj"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    clone = home / "assay"
    clone_into(clone)
    venv = home / "venv"
    uv = uv_binary()
    assert uv is not None, "uv is a dependency of Assay"
    subprocess.run([uv, "venv", "-q", "--python", reachable_python(), str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
                    str(clone)], check=True, capture_output=True)
    data_dir = clone / ".assay"
    data_dir.mkdir()
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(home)], check=True)
    home.chmod(0o700)
    server = ServerProcess(data_dir, "unused", data_dir, "unused", cwd=clone,
                           argv=_as_user(user, [str(venv / "bin" / "assay"), "serve"]))
    for name in ("ASSAY_DATA_DIR", "ASSAY_DATABASE_URL", "ASSAY_ENV_CACHE_DIR",
                 "ASSAY_ADMIN_PASSWORD", "ASSAY_SECRET_KEY"):
        server.env.pop(name)
    server.env.update(HOME=str(home), USER=user.pw_name, LOGNAME=user.pw_name)
    server.start(timeout=180)
    yield home, server
    server.stop()
    shutil.rmtree(home, ignore_errors=True)


def _as_user(user: pwd.struct_passwd, argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups",
            "--", *argv]


def test_a_hostile_test_finds_none_of_the_servers_secrets(
    laptop: tuple[Path, ServerProcess],
) -> None:
    home, server = laptop
    data_dir = home / "assay" / ".assay"
    secrets = {
        "secret-key": (data_dir / "secret-key").read_text().strip(),
        "admin-password": (data_dir / "admin-password").read_text().strip(),
        "ssh": SSH_KEY,
        "history": "ghp_laptop_history_secret",
    }
    health = server.client().get("/health").json()
    api = server.client(server.login("admin", secrets["admin-password"]))
    r = api.post("/projects", json={"name": "proj",
                                    "source": {"type": "path", "path": str(home / "proj")}})
    assert r.status_code == 201, r.text
    hostile = textwrap.dedent(f"""
        import glob, os

        HOME = {str(home)!r}
        DATA = {str(data_dir)!r}

        def test_steal():
            stolen = {{}}
            targets = [DATA + "/secret-key", DATA + "/admin-password", DATA + "/assay.db",
                       HOME + "/.ssh/id_ed25519", HOME + "/.bash_history"]
            for path in targets + glob.glob(HOME + "/**", recursive=True, include_hidden=True):
                if os.path.isfile(path) and "/workspaces/" not in path and "/envs/" not in path:
                    try:
                        with open(path, "rb") as f:
                            stolen[path] = f.read(300)
                    except OSError:
                        pass
            listing = sorted(os.listdir(HOME)) if os.path.isdir(HOME) else []
            assert not stolen and ".ssh" not in listing, f"stolen {{stolen!r}} listing {{listing}}"
    """)
    r = api.post("/tests", json={"project_id": r.json()["id"], "title": "steal",
                                 "code": hostile})
    assert r.status_code == 201, r.text
    project_id = r.json()["project_id"]
    r = api.post("/execution/plans", json={"project_id": project_id, "selection": {}})
    assert r.status_code == 201, r.text
    plan = wait_final(api, r.json()["id"], timeout=300)
    text = str(plan)
    for name, value in secrets.items():
        assert value not in text, f"the {name} leaked into the plan's results"
    [run] = plan["runs"]
    assert run["status"] == "passed", run
    assert run["isolation"] == "bwrap"
    assert health["sandbox"] == {"configured": "auto", "isolation": "bwrap", "warning": None,
                                 "error": None}
