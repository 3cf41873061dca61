"""A hostile suite is contained and reported while the server stays healthy;
an imported suite gives the same outcomes as running pytest on it directly."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay.api.app import create_app
from assay.config import Settings
from assay.sandbox import resolve_isolation
from tests.conftest import _headers_factory, make_project
from tests.execution.helpers import add_test, queue_plan, wait_plan
from tests.imports import import_suite

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP server on this machine that a sandboxed test must not reach."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join()
    srv.close()
    assert not accepted, "a sandboxed test connected to the host's network"


@pytest.fixture
def hardened(settings: Settings) -> Iterator[tuple[TestClient, Callable[[str], dict[str, str]]]]:
    s = settings.model_copy(update={"test_timeout_seconds": 3.0, "memory_limit_mb": 512,
                                    "max_processes": 64, "workers": 1})
    with TestClient(create_app(s)) as c:
        yield c, _headers_factory(c)


HOSTILE = {
    "infinite loop": "def test_spin():\n    while True:\n        pass\n",
    "fork bomb": (
        "import os\n\n\ndef test_fork_bomb():\n    pids = []\n    for _ in range(10_000):\n"
        "        pids.append(os.fork())\n        if pids[-1] == 0:\n"
        "            import time\n            time.sleep(60)\n            os._exit(0)\n"
    ),
    "memory hog": "def test_hog():\n    blocks = [bytearray(64 << 20) for _ in range(64)]\n"
    "    assert blocks\n",
    "reads secrets": (
        "import os\n\n\ndef test_secrets():\n"
        "    leaked = {k: v for k, v in os.environ.items()\n"
        "              if k.startswith('ASSAY') or 'hunter2' in v}\n"
        "    assert not leaked, leaked\n"
    ),
    "writes outside": (
        "import pathlib\n\n\ndef test_write_etc():\n"
        "    pathlib.Path('/etc/assay-was-here').write_text('x')\n"
    ),
}


@pytest.mark.serial  # a fork bomb takes every process the sandbox uid may start
def test_hostile_suite_is_contained(
    hardened: tuple[TestClient, Callable[[str], dict[str, str]]], project_dir: Path,
    listener: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Secrets in the server's own environment must never reach a test.
    monkeypatch.setenv("ASSAY_SECRET_KEY", "hunter2-signing-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter2-cloud")
    c, as_role = hardened
    h = as_role("editor")
    project = make_project(c, h, project_dir)
    codes = dict(HOSTILE)
    if resolve_isolation("auto") == "bwrap":
        codes["opens a connection"] = (
            "import socket\n\n\ndef test_connect():\n"
            f"    socket.create_connection(('127.0.0.1', {listener}), timeout=2)\n"
        )
    ids = [add_test(c, h, project["id"], code, title=title) for title, code in codes.items()]
    ids.append(add_test(c, h, project["id"], "def test_ok():\n    assert True\n",
                        title="innocent bystander"))
    plan = wait_plan(c, h, queue_plan(c, h, project["id"], ids)["id"], timeout=180)
    runs = {r["name"]: r for r in plan["runs"]}

    assert runs["innocent bystander"]["status"] == "passed"
    assert "timed out" in runs["infinite loop"]["failure"]
    assert runs["fork bomb"]["status"] in ("failed", "error")
    assert runs["memory hog"]["status"] in ("failed", "error")
    assert runs["reads secrets"]["status"] == "passed"  # nothing to leak
    assert runs["writes outside"]["status"] == "failed"
    assert not Path("/etc/assay-was-here").exists()
    if "opens a connection" in runs:
        assert runs["opens a connection"]["status"] == "failed"
    health = c.get("/api/v1/health").json()
    assert health["status"] == "ok" and health["orchestrator"]["restarts"] == 0


def test_imported_suite_matches_a_direct_pytest_run(
    hardened: tuple[TestClient, Callable[[str], dict[str, str]]], tmp_path: Path
) -> None:
    root = tmp_path / "lib"
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_mixed.py").write_text(
        "import pytest\n\n\n@pytest.mark.parametrize('n', [1, 2, 3])\n"
        "def test_small(n):\n    assert n < 3\n\n\n"
        "class TestThings:\n    def test_ok(self):\n        pass\n\n"
        "    def test_skip(self):\n        pytest.skip('later')\n\n\n"
        "@pytest.fixture\ndef broken():\n    raise RuntimeError('fixture')\n\n\n"
        "def test_uses_broken(broken):\n    pass\n"
    )
    (root / "tests" / "test_more.py").write_text("def test_more():\n    assert 1\n")
    junit = tmp_path / "direct.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"--junitxml={junit}", str(root / "tests")], cwd=root, capture_output=True)
    direct = {}
    for tc in ET.parse(junit).getroot().iter("testcase"):
        outcome = "passed"
        for tag, name in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            if tc.find(tag) is not None:
                outcome = name
        direct[(tc.get("classname"), tc.get("name"))] = outcome

    c, as_role = hardened
    h = as_role("editor")
    project = make_project(c, h, root, name="lib")
    first = import_suite(c, project["id"], h)
    assert first["created"] == len(direct) == 7, first
    again = import_suite(c, project["id"], h)
    assert again["created"] == 0 and again["unchanged"] == 7

    start = c.post("/api/v1/execution/plans", headers=h, json={
        "project_id": project["id"], "selection": {"origin": ["imported"]}})
    plan = wait_plan(c, h, start.json()["id"])
    from assay.services.junit import junit_key

    through_assay = {junit_key(r["name"]): r["status"] for r in plan["runs"]}
    assert through_assay == direct

    # A test that disappears from the suite is archived on the next import.
    (root / "tests" / "test_more.py").unlink()
    third = import_suite(c, project["id"], h)
    assert third["archived"] == 1 and third["archived_ids"] == ["tests/test_more.py::test_more"]
