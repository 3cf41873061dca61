"""`GET /api/v1/snapshots/{hash}`: a project snapshot for a Celery worker.

Workers hold no database credentials and no user token; the orchestrator gives
each job a short-lived token scoped to the one snapshot it needs. The archive is
the gzipped tar `pack_snapshot` makes; the worker checks it against the hash.
"""

from __future__ import annotations

import asyncio
import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from assay.api.deps import Ctx
from assay.api.errors import errors
from assay.errors import NotFound, Unauthenticated
from assay.security.job_tokens import allows_snapshot
from assay.snapshots import pack_snapshot

router = APIRouter(prefix="/snapshots", tags=["workers"])

HASH = re.compile(r"^[0-9a-f]{64}$")


@router.get(
    "/{snapshot_hash}",
    response_class=Response,
    responses={
        200: {"description": "The snapshot, a gzipped tar.",
              "content": {"application/gzip": {"schema": {"type": "string",
                                                          "format": "binary"}}}},
        **errors(
            422,
            {401: "No job token scoped to this snapshot (or it expired).",
             404: "This server does not hold that snapshot."},
        ),
    },
)
async def get_snapshot(snapshot_hash: str, request: Request, ctx: Ctx) -> Response:
    """The snapshot as a gzipped tar, for a bearer of a job token scoped to it."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    secret = ctx.settings.resolved_secret_key()
    if scheme.lower() != "bearer" or not token or not allows_snapshot(token, secret, snapshot_hash):
        raise Unauthenticated(
            "a job token scoped to this snapshot is required (it may have expired)"
        )
    if not HASH.match(snapshot_hash):
        raise NotFound("no such snapshot")
    path = ctx.settings.snapshots_dir / snapshot_hash
    if not path.is_dir():
        raise NotFound("this server does not hold that snapshot")
    data = await asyncio.to_thread(pack_snapshot, path)
    return Response(
        data,
        media_type="application/gzip",
        headers={"Cache-Control": "no-store", "X-Assay-Snapshot": snapshot_hash},
    )
