"""The LLM engines against a local fake provider (the only fake in these tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.generation.llm.config import LLMConfig
from assay.generation.llm.prompt import extract_code
from assay.generation.service import GenerationRequest, GenerationResult, generate
from assay.sandbox import Limits

from .fake_llm import GOOD_TEST, FakeLLM, fake_llm_server

SECRET = "sk-test-not-a-real-key-123"
REQUEST = GenerationRequest(mode="function", target="shop.pricing:slugify", engine="llm")


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with fake_llm_server() as server:
        yield server


def config(fake: FakeLLM, provider: str, model: str, **kw: float) -> LLMConfig:
    base = f"{fake.base_url}/v1" if provider == "openai" else fake.base_url
    return LLMConfig(provider=provider, model=model, base_url=base, api_key=SECRET, **kw)  # type: ignore[arg-type]


def run(
    project: Path, python: Path, workspaces: Path, llm: LLMConfig, existing: tuple[str, ...] = ()
) -> GenerationResult:
    return asyncio.run(
        generate(
            REQUEST,
            project_dir=project,
            python=python,
            workspaces_dir=workspaces,
            limits=Limits(wall_seconds=120),
            llm=llm,
            existing_tests=existing,
        )
    )


def assert_no_secret(result: GenerationResult, llm: LLMConfig) -> None:
    assert SECRET not in repr(result.to_dict())
    assert SECRET not in repr(llm)
    assert SECRET not in repr(llm.public())


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_repair_round_turns_failing_candidate_into_accepted(
    provider: str, fake: FakeLLM, project: Path, env_python: Path, workspaces: Path
) -> None:
    llm = config(fake, provider, "repair")
    result = run(project, env_python, workspaces, llm)

    assert result.errors == []
    assert [c.verdict for c in result.candidates] == ["failed", "accepted"]
    first, fixed = result.candidates
    assert "hello-world" in (first.failure or "")
    assert fixed.runs_passed == 3 and fixed.engine == "llm"
    assert fixed.code.strip() == GOOD_TEST.strip()
    assert result.coverage["shop.pricing:slugify"]["missing"] == []
    assert_no_secret(result, llm)

    assert len(fake.requests) == 2
    req = fake.requests[0]
    if provider == "openai":
        assert req.path == "/v1/chat/completions"
        assert req.headers["Authorization"] == f"Bearer {SECRET}"
        assert req.body["messages"][0]["role"] == "system"
    else:
        assert req.path == "/v1/messages"
        assert req.headers["x-api-key"] == SECRET
        assert req.headers["anthropic-version"] == "2023-06-01"
        assert req.body["max_tokens"] > 0 and req.body["system"]
    prompt = next(m for m in req.body["messages"] if m["role"] == "user")["content"]
    assert "def slugify(text: str) -> str:" in prompt
    assert "from shop.pricing import slugify" in prompt
    repair = fake.requests[1].body["messages"]
    assert [m["role"] for m in repair][-3:] == ["user", "assistant", "user"]
    assert "failed when run with pytest" in repair[-1]["content"]


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        (
            "openai",
            "error-429",
            "model provider error 429 (rate limited, try later): Rate limit reached",
        ),
        ("anthropic", "error-429", "model provider error 429 (rate limited, try later)"),
        ("openai", "error-500", "model provider error 500: The server had an error"),
        ("anthropic", "error-500", "model provider error 529: Overloaded"),
        ("openai", "echo-key", "error 401: Incorrect API key provided: [redacted]"),
        ("anthropic", "echo-key", "error 401: Incorrect API key provided: [redacted]"),
        ("openai", "nocode", "malformed answer: no Python test code block"),
        ("anthropic", "nocode", "malformed answer: no Python test code block"),
    ],
)
def test_provider_failures_are_reported_not_raised(
    provider: str,
    model: str,
    expected: str,
    fake: FakeLLM,
    project: Path,
    env_python: Path,
    workspaces: Path,
) -> None:
    llm = config(fake, provider, model)
    result = run(project, env_python, workspaces, llm)
    assert result.candidates == []
    assert len(result.errors) == 1
    assert result.errors[0].startswith("shop.pricing:slugify: ")
    assert expected in result.errors[0]
    assert_no_secret(result, llm)


def test_timeout_is_reported(
    fake: FakeLLM, project: Path, env_python: Path, workspaces: Path
) -> None:
    llm = config(fake, "openai", "slow", timeout_s=0.5)
    result = run(project, env_python, workspaces, llm)
    assert result.candidates == []
    assert result.errors == ["shop.pricing:slugify: the model provider did not answer within 0 s"]


def test_unreachable_provider_is_reported(
    project: Path, env_python: Path, workspaces: Path
) -> None:
    llm = LLMConfig(provider="openai", model="m", base_url="http://127.0.0.1:9/v1", api_key=SECRET)
    result = run(project, env_python, workspaces, llm)
    assert "cannot reach the model provider" in result.errors[0]
    assert_no_secret(result, llm)


def test_duplicate_of_existing_test_case_is_rejected(
    fake: FakeLLM, project: Path, env_python: Path, workspaces: Path
) -> None:
    existing = "# saved earlier\n" + GOOD_TEST.replace('"', "'")
    result = run(project, env_python, workspaces, config(fake, "openai", "good"), (existing,))
    [cand] = result.candidates
    assert cand.verdict == "no_new_coverage"
    assert cand.failure == "duplicate of an existing test case"
    prompt = fake.requests[0].body["messages"][1]["content"]
    assert "Existing tests (do not repeat them)" in prompt


def test_extract_code_takes_the_python_block_with_tests() -> None:
    answer = (
        "Plan:\n```bash\npytest\n```\n```python\nimport os\n```\n"
        "```python\ndef test_x():\n    pass\n```"
    )
    assert extract_code(answer) == "def test_x():\n    pass\n"
    assert extract_code("no code at all") is None
