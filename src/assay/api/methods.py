"""Methods the schema does not declare on a path it has: 405, with the `Allow` it declares.

The router alone gets two things wrong. Its 405 lists the methods of the first route
that matched the path, not of every route serving it (`OPTIONS /projects` said
`Allow: POST`, though `GET` lists them). And a templated route serves what the schema
gives to a concrete path: `DELETE /tests/bulk` reached `DELETE /tests/{test_id}` (a
404 for a test case named "bulk") though `/tests/bulk` only takes POST. The schema's
rule is the one clients read: a concrete path wins over a templated one that also
matches it. So this middleware finds the schema's path for a request as that rule
says, and answers an undeclared method itself; a declared one goes to the router.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.routing import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})
PARAM = re.compile(r"^\{[^/{}]+\}$")


class _Path:
    """One path of the schema: how it matches, how concrete it is, and its methods."""

    def __init__(self, template: str, methods: frozenset[str]) -> None:
        segments = template.strip("/").split("/")
        self.regex = re.compile(
            "^/" + "/".join("[^/]+" if PARAM.match(s) else re.escape(s) for s in segments) + "$"
        )
        # Compared segment by segment: a concrete segment (0) before a parameter (1).
        self.rank = tuple(1 if PARAM.match(s) else 0 for s in segments)
        self.allow = ", ".join(sorted(methods))
        self.methods = methods


def schema_paths(schema: dict[str, Any]) -> dict[int, list[_Path]]:
    """The schema's paths by their number of segments, most concrete first."""
    by_length: dict[int, list[_Path]] = {}
    for template, item in schema.get("paths", {}).items():
        methods = frozenset(m.upper() for m in item if m.upper() in HTTP_METHODS)
        if methods:
            path = _Path(template, methods)
            by_length.setdefault(len(path.rank), []).append(path)
    for paths in by_length.values():
        paths.sort(key=lambda p: p.rank)
    return by_length


class DeclaredMethodsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._paths: dict[int, list[_Path]] | None = None

    def _lookup(self, scope: Scope) -> _Path | None:
        if self._paths is None:
            self._paths = schema_paths(scope["app"].openapi())
        path = get_route_path(scope)
        for candidate in self._paths.get(len(path.strip("/").split("/")), ()):
            if candidate.regex.match(path):
                return candidate
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = self._lookup(scope)
        if found is None or scope["method"] in found.methods:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"detail": "Method Not Allowed"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 405,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"allow", found.allow.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
