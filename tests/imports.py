"""Importing a project's suite in tests: start the background import, wait for its end."""

from __future__ import annotations

import time
from typing import Any, Protocol


class Client(Protocol):
    def post(self, url: str, **kwargs: Any) -> Any: ...
    def get(self, url: str, **kwargs: Any) -> Any: ...


def import_suite(client: Client, project_id: str, headers: dict[str, str] | None = None,
                 prefix: str = "/api/v1", timeout: float = 300) -> dict[str, Any]:
    """POST import-tests (202), then the import's record once it is no longer running."""
    url = f"{prefix}/projects/{project_id}/import-tests"
    r = client.post(url, headers=headers)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "running"
    deadline = time.monotonic() + timeout
    while True:
        record = dict(client.get(url, headers=headers).json())
        if record["status"] != "running":
            return record
        assert time.monotonic() < deadline, f"the import is still running: {record}"
        time.sleep(0.1)
