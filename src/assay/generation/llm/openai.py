"""OpenAI-compatible chat completions (OpenAI, Ollama, vLLM, LM Studio, ...)."""

from __future__ import annotations

from assay.generation.errors import LLMError
from assay.generation.llm.config import LLMConfig, Message
from assay.generation.llm.http import post_json

DEFAULT_BASE_URL = "https://api.openai.com/v1"


async def complete(config: LLMConfig, system: str, messages: list[Message]) -> str:
    base = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
    headers = {"Content-Type": "application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    payload = {
        "model": config.model,
        "messages": [{"role": "system", "content": system}, *messages],
        "temperature": config.temperature,
        "max_tokens": config.max_tokens,
    }
    body = await post_json(f"{base}/chat/completions", headers, payload, config.timeout_s)
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise LLMError("malformed answer from the model provider: no choices")
    choice = choices[0]
    message = choice.get("message") or {}
    if message.get("refusal"):
        raise LLMError(f"the model refused: {str(message['refusal'])[:200]}")
    if choice.get("finish_reason") == "content_filter":
        raise LLMError("the model refused (content filter)")
    content = message.get("content")
    if not isinstance(content, str) or not content.strip():
        raise LLMError("malformed answer from the model provider: empty message")
    return content
