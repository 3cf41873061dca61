"""Assay where people really put it: a clone under a private (0700) directory.

The README's walkthrough, as root, with the default data dir (`./.assay`) inside a
clone of this repository that lies in a 0700 directory: the sandbox must reach its
environment and workspace although `nobody` cannot traverse the directories above
them, and pytest must collect `examples/mylib` as that project, not as part of the
clone around it (whose pyproject.toml has a pytest section of its own).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assay.sandbox import resolve_isolation
from assay.sandbox.tree import default_tree
from tests.imports import import_suite
from tests.servers import ServerProcess, wait_final

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def clone_into(dest: Path) -> None:
    """What a clone of this checkout holds: its tracked and new files as they are now.

    Copied file by file from `git ls-files` (not `git clone`, which would leave out
    work not yet committed); outside a git checkout, the parts these tests use.
    """
    if not (REPO / ".git").exists():
        dest.mkdir()
        shutil.copy(REPO / "pyproject.toml", dest / "pyproject.toml")
        shutil.copytree(REPO / "examples", dest / "examples")
        shutil.copytree(REPO / "src", dest / "src")
        return
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


@pytest.fixture
def private_clone() -> Iterator[Path]:
    private = Path(tempfile.mkdtemp(prefix="assay-private-"))  # mode 0700
    assert private.stat().st_mode & 0o777 == 0o700
    clone = private / "assay"
    clone_into(clone)
    yield clone
    shutil.rmtree(private, ignore_errors=True)


ISOLATIONS = ["auto", "process"] if os.geteuid() == 0 else ["auto"]


@pytest.fixture(params=ISOLATIONS)
def readme_server(private_clone: Path, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """`assay serve` started in the clone with the defaults: data dir ./.assay, SQLite.

    Also with `process` isolation (no bubblewrap) as root: then the tests run as
    `nobody`, who cannot reach the data dir, and Assay keeps what they need in a
    tree of its own (assay.sandbox.tree).
    """
    data_dir = private_clone / ".assay"
    data_dir.mkdir()
    server = ServerProcess(data_dir, "unused", data_dir, "unused", cwd=private_clone)
    for name in ("ASSAY_DATA_DIR", "ASSAY_DATABASE_URL", "ASSAY_ENV_CACHE_DIR",
                 "ASSAY_ADMIN_PASSWORD", "ASSAY_SECRET_KEY"):
        server.env.pop(name)
    if request.param != "auto":
        server.env["ASSAY_SANDBOX"] = request.param
    server.start(timeout=120)
    yield server
    server.stop()
    shutil.rmtree(default_tree(data_dir), ignore_errors=True)


def test_readme_walkthrough_in_a_private_clone(
    readme_server: ServerProcess, private_clone: Path
) -> None:
    password = (private_clone / ".assay" / "admin-password").read_text().strip()
    api = readme_server.client(readme_server.login("admin", password))
    mylib = private_clone / "examples" / "mylib"
    r = api.post("/projects", json={"name": "mylib",
                                    "source": {"type": "path", "path": str(mylib)}})
    assert r.status_code == 201, r.text
    project = r.json()["id"]
    r = api.post("/tests", json={
        "project_id": project, "title": "adds", "tags": ["smoke"],
        "code": "from mylib import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"})
    assert r.status_code == 201, r.text

    first = readme_import(api, project)
    assert first["created"] == first["collected"] > 0
    second = readme_import(api, project)
    assert (second["created"], second["archived"], second["restored"]) == (0, 0, 0), second
    assert second["unchanged"] == first["collected"]

    cases = api.get("/tests", params={"project_id": project, "limit": 200}).json()["items"]
    refs = sorted(c["reference"] for c in cases if c.get("reference"))
    assert refs and all(ref.startswith("tests/test_pricing.py::") for ref in refs), refs

    r = api.post("/execution/plans", json={"project_id": project,
                                           "selection": {"tags": ["smoke"]},
                                           "priority": "high"})
    assert r.status_code == 201, r.text
    smoke = wait_final(api, r.json()["id"], timeout=300)
    assert [run["status"] for run in smoke["runs"]] == ["passed"], smoke["runs"]

    r = api.post("/execution/plans", json={"project_id": project, "selection": {}})
    assert r.status_code == 201, r.text
    everything = wait_final(api, r.json()["id"], timeout=300)
    outcomes = {run.get("nodeid") or run["test_case_id"]: (run["status"], run.get("failure"))
                for run in everything["runs"]}
    assert len(everything["runs"]) == len(cases)
    assert all(status == "passed" for status, _ in outcomes.values()), outcomes
    isolation = resolve_isolation(readme_server.env.get("ASSAY_SANDBOX", "auto"))
    assert {run["isolation"] for run in everything["runs"]} == {isolation}


def readme_import(api: httpx.Client, project: str) -> dict[str, int]:
    """The README's `curl -X POST .../import-tests`, then its record once finished."""
    done = import_suite(api, project, prefix="")
    assert done["status"] == "finished", done
    return done
