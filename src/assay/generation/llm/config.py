"""Which model to ask and how; the one place that picks the provider protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from assay.generation.errors import LLMError


@dataclass(frozen=True)
class LLMConfig:
    """Provider settings. `api_key` is excluded from repr so it never reaches a log."""

    provider: Literal["openai", "anthropic"] = "openai"
    model: str = "gpt-4o-mini"
    base_url: str | None = None  # e.g. http://localhost:11434/v1 for Ollama
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = 120.0
    max_tokens: int = 2048
    temperature: float = 0.2
    repair_rounds: int = 2

    def public(self) -> dict[str, object]:
        """Settings safe to store or return (no key)."""
        return {
            "provider": self.provider,
            "model": self.model,
            "base_url": self.base_url,
            "has_api_key": bool(self.api_key),
        }


Message = dict[str, str]


async def complete(config: LLMConfig, system: str, messages: list[Message]) -> str:
    """One chat turn with the configured provider; raises LLMError on any failure.

    Error messages may quote the provider's answer; the key is redacted from them in case
    a provider echoes it.
    """
    try:
        return await _complete(config, system, messages)
    except LLMError as exc:
        text = str(exc)
        if config.api_key and config.api_key in text:
            raise LLMError(text.replace(config.api_key, "[redacted]")) from None
        raise


async def _complete(config: LLMConfig, system: str, messages: list[Message]) -> str:
    if config.provider == "anthropic":
        from assay.generation.llm.anthropic import complete as anthropic_complete

        return await anthropic_complete(config, system, messages)
    if config.provider == "openai":
        from assay.generation.llm.openai import complete as openai_complete

        return await openai_complete(config, system, messages)
    raise LLMError(f"unknown LLM provider {config.provider!r} (use 'openai' or 'anthropic')")
