"""Optional LLM engines: OpenAI-compatible chat completions and Anthropic Messages."""

from assay.generation.llm.config import LLMConfig, complete

__all__ = ["LLMConfig", "complete"]
