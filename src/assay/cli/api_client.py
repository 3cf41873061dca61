"""A small REST client for the CLI: base URL and token from options or ASSAY_URL/ASSAY_TOKEN."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import typer


class ApiClient:
    def __init__(self, url: str, token: str | None) -> None:
        if not token:
            raise typer.BadParameter(
                "no API token: pass --token or set ASSAY_TOKEN "
                "(create one with `assay token create USER --name cli`)",
                param_hint="--token",
            )
        self.url = url.rstrip("/")
        self.token = token
        self.http = httpx.Client(
            base_url=self.url + "/api/v1",
            # The server records plans this client creates as triggered by the CLI.
            headers={"Authorization": f"Bearer {token}", "X-Assay-Client": "cli"},
            timeout=60,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SystemExit(f"cannot reach Assay at {self.url}: {exc}") from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text
            raise SystemExit(f"{method} {path} failed ({response.status_code}): {detail}")
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def pages(
        self, path: str, params: dict[str, Any] | None = None, limit: int = 200
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paged list, a page at a time (following `next_cursor`)."""
        query: dict[str, Any] = {**(params or {}), "limit": limit}
        while True:
            page = self.request("GET", path, params=query)
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            query["cursor"] = page["next_cursor"]

    def project_id(self, name: str) -> str:
        page = self.request("GET", "/projects", params={"q": name, "limit": 200})
        for project in page["items"]:
            if project["name"].lower() == name.lower():
                return str(project["id"])
        names = ", ".join(p["name"] for p in page["items"]) or "none"
        raise SystemExit(f"no project named {name!r} (similar: {names})")

    def ws_url(self, **params: Any) -> str:
        base = self.url.replace("https://", "wss://").replace("http://", "ws://")
        query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
        return f"{base}/api/v1/ws?{query}"


URL_OPTION = typer.Option("http://127.0.0.1:8000", envvar="ASSAY_URL", help="Server URL.")
TOKEN_OPTION = typer.Option(None, envvar="ASSAY_TOKEN", help="API token.", show_default=False)
