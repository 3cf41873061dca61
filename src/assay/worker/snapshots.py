"""Getting a job's project snapshot onto this worker: cached by content hash.

A worker holds no database credentials, so it asks the API server that sent the
job, with the job-scoped token in the job. What it receives is checked against
the hash before it is used (`unpack_snapshot`), so a wrong or tampered archive is
refused rather than run.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from assay.contracts.jobs import Delivery
from assay.snapshots import SnapshotError, unpack_snapshot

HASH = re.compile(r"^[0-9a-f]{64}$")
FETCH_TIMEOUT_S = 120.0


def ensure_snapshot(
    snapshot_hash: str, delivery: Delivery, cache_dir: Path, trust_local: bool
) -> Path:
    """The snapshot's directory on this machine, fetching it once if needed (blocking)."""
    if not HASH.match(snapshot_hash):
        raise SnapshotError(f"not a snapshot hash: {snapshot_hash!r}")
    cached = cache_dir / snapshot_hash
    if cached.is_dir():
        return cached
    local = delivery.snapshot_path
    if trust_local and local:
        path = Path(local)
        if path.name == snapshot_hash and path.is_dir():
            return path  # same machine or shared volume: snapshots are immutable
    url, token = delivery.snapshot_url, delivery.snapshot_token
    if not url or not token:
        raise SnapshotError("the job names no snapshot URL and token to fetch its project with")
    try:
        response = httpx.get(
            url, headers={"Authorization": f"Bearer {token}"}, timeout=FETCH_TIMEOUT_S
        )
    except httpx.HTTPError as exc:
        raise SnapshotError(f"fetching the project snapshot from {url} failed: {exc}") from exc
    if response.status_code != 200:
        raise SnapshotError(
            f"fetching the project snapshot from {url} failed: "
            f"HTTP {response.status_code} {response.text[:300]}"
        )
    return unpack_snapshot(response.content, cache_dir, snapshot_hash)
