"""The HTTP call both providers make, with errors turned into readable LLMErrors."""

from __future__ import annotations

from typing import Any

import httpx

from assay.generation.errors import LLMError


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or err.get("type") or err)[:300]
    if isinstance(err, str):
        return err[:300]
    return str(body)[:300]


async def post_json(
    url: str, headers: dict[str, str], payload: dict[str, Any], timeout_s: float
) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.post(url, headers=headers, json=payload)
    except httpx.TimeoutException as exc:
        raise LLMError(f"the model provider did not answer within {timeout_s:.0f} s") from exc
    except httpx.HTTPError as exc:
        raise LLMError(f"cannot reach the model provider at {url}: {type(exc).__name__}") from exc
    if response.status_code >= 400:
        hint = " (rate limited, try later)" if response.status_code == 429 else ""
        raise LLMError(
            f"model provider error {response.status_code}{hint}: {_error_text(response)}"
        )
    try:
        body = response.json()
    except ValueError as exc:
        raise LLMError("the model provider answered with something that is not JSON") from exc
    if not isinstance(body, dict):
        raise LLMError("the model provider answered with an unexpected JSON shape")
    return body
