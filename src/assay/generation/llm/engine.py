"""The LLM engine: ask, extract, validate, feed failures back for a bounded number of rounds.

Provider failures (timeouts, HTTP errors, refusals, answers without code) are collected
as error strings for the generation; they never escape as exceptions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from assay.generation.errors import LLMError
from assay.generation.llm.config import LLMConfig, Message, complete
from assay.generation.llm.prompt import SYSTEM, build_prompt, extract_code, repair_prompt
from assay.generation.model import Candidate, TargetInfo
from assay.generation.validation import Ledger, Submission, validate
from assay.generation.workspace import SandboxRunner

OnCandidates = Callable[[list[Candidate]], Awaitable[None]]


@dataclass
class _Conversation:
    target: TargetInfo
    messages: list[Message]
    attempt: int = 0


@dataclass
class LLMOutcome:
    candidates: list[Candidate] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def _ask(config: LLMConfig, conv: _Conversation, out: LLMOutcome) -> Submission | None:
    try:
        answer = await complete(config, SYSTEM, conv.messages)
    except LLMError as exc:
        out.errors.append(f"{conv.target.name}: {exc}")
        return None
    conv.messages.append({"role": "assistant", "content": answer})
    code = extract_code(answer)
    if code is None:
        out.errors.append(f"{conv.target.name}: malformed answer: no Python test code block")
        return None
    conv.attempt += 1
    suffix = "" if conv.attempt == 1 else f" (repair {conv.attempt - 1})"
    return Submission(
        target=conv.target,
        name=f"{conv.target.qualname}{suffix}",
        code=code,
        kind="llm",
        engine="llm",
    )


async def run_llm(
    targets: list[TargetInfo],
    runner: SandboxRunner,
    ledger: Ledger,
    config: LLMConfig,
    *,
    diff: str | None,
    existing_tests: Sequence[str],
    on_candidates: OnCandidates,
) -> LLMOutcome:
    out = LLMOutcome()
    pending: list[tuple[_Conversation, Submission]] = []
    for target in targets:
        source = (runner.workspace / target.file).read_text(encoding="utf-8")
        conv = _Conversation(
            target,
            [{"role": "user", "content": build_prompt(target, source, diff, existing_tests)}],
        )
        sub = await _ask(config, conv, out)
        if sub is not None:
            pending.append((conv, sub))
    for round_no in range(config.repair_rounds + 1):
        if not pending:
            break
        verdicts = await validate([s for _, s in pending], runner, ledger)
        out.candidates.extend(verdicts)
        await on_candidates(verdicts)
        if round_no == config.repair_rounds:
            break
        retry: list[tuple[_Conversation, Submission]] = []
        for (conv, _), cand in zip(pending, verdicts, strict=True):
            if cand.verdict in ("failed", "flaky", "error") and cand.failure:
                conv.messages.append({"role": "user", "content": repair_prompt(cand.failure)})
                sub = await _ask(config, conv, out)
                if sub is not None:
                    retry.append((conv, sub))
        pending = retry
    return out
