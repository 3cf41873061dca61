"""Anthropic Messages API (`POST /v1/messages`)."""

from __future__ import annotations

from assay.generation.errors import LLMError
from assay.generation.llm.config import LLMConfig, Message
from assay.generation.llm.http import post_json

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"


async def complete(config: LLMConfig, system: str, messages: list[Message]) -> str:
    base = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
    if base.endswith("/v1"):  # accept both SDK-style and OpenAI-style base URLs
        base = base[: -len("/v1")]
    headers = {"Content-Type": "application/json", "anthropic-version": API_VERSION}
    if config.api_key:
        headers["x-api-key"] = config.api_key
    payload = {
        "model": config.model,
        "system": system,
        "messages": messages,
        "max_tokens": config.max_tokens,
        "temperature": config.temperature,
    }
    body = await post_json(f"{base}/v1/messages", headers, payload, config.timeout_s)
    if body.get("type") == "error":
        err = body.get("error") or {}
        raise LLMError(f"model provider error: {str(err.get('message', err))[:300]}")
    if body.get("stop_reason") == "refusal":
        raise LLMError("the model refused to answer")
    blocks = body.get("content")
    if not isinstance(blocks, list):
        raise LLMError("malformed answer from the model provider: no content")
    text = "".join(
        b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text"
    )
    if not text.strip():
        raise LLMError("malformed answer from the model provider: no text")
    return text
