"""Environments: the cached per-project virtualenvs tests run in."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from assay.api.deps import Ctx, Viewer

router = APIRouter(prefix="/environments", tags=["environments"])


@router.get("")
async def list_environments(_: Viewer, ctx: Ctx) -> list[dict[str, Any]]:
    """Every environment with its state (building, ready, failed, leased)."""
    infos = await asyncio.to_thread(ctx.pool.list)
    return [info.to_dict() if hasattr(info, "to_dict") else vars(info) for info in infos]
