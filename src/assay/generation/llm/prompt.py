"""What the model is told: the target, its module, the diff, the tests that exist.

The answer must be one complete pytest module in a fenced block; anything else is a
malformed answer. Repair turns feed back the exact failure of the previous attempt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assay.generation.model import TargetInfo

SYSTEM = (
    "You write pytest unit tests for Python code. Answer with exactly one complete pytest "
    "module in a single ```python fenced code block: imports included, importing the code "
    "under test by its module path, tests that are deterministic (no time, randomness or "
    "network), each test checking one behaviour and named after it. No explanations outside "
    "the code block."
)
MAX_MODULE_CHARS = 12_000
MAX_TESTS_CHARS = 6_000
FENCE = re.compile(r"```[ \t]*(?P<lang>[\w+-]*)[^\n]*\n(?P<code>.*?)```", re.DOTALL)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "\n# ... (truncated)\n"


def build_prompt(
    target: TargetInfo, module_source: str, diff: str | None, existing_tests: Sequence[str]
) -> str:
    lines = module_source.splitlines()
    target_src = "\n".join(lines[target.line_start - 1 : target.line_end])
    relevant = [t for t in existing_tests if target.module in t or target.func_name in t]
    parts = [
        f"Write pytest tests for `{target.qualname}` in module `{target.module}` "
        f"(import it with `from {target.module} import {target.qualname.split('.')[0]}`).",
        f"Cover these lines of {target.file}: {', '.join(map(str, target.lines))}.",
        f"## Target\n```python\n{target_src}\n```",
        f"## Module {target.module} ({target.file})\n"
        f"```python\n{_clip(module_source, MAX_MODULE_CHARS)}\n```",
    ]
    if diff:
        parts.append(f"## The change being tested\n```diff\n{_clip(diff, MAX_MODULE_CHARS)}\n```")
    if relevant:
        joined = "\n\n".join(relevant)
        parts.append(
            "## Existing tests (do not repeat them)\n```python\n"
            f"{_clip(joined, MAX_TESTS_CHARS)}\n```"
        )
    return "\n\n".join(parts)


def repair_prompt(failure: str) -> str:
    return (
        "This test module failed when run with pytest. Fix it so it passes against the code "
        "as it is (the code is correct; pin its actual behaviour). Failure:\n"
        f"```\n{_clip(failure, 3000)}\n```\nAnswer with the complete corrected module in one "
        "```python block."
    )


def extract_code(answer: str) -> str | None:
    """The Python test module in the answer: the longest python fence defining a test."""
    blocks = [
        m.group("code")
        for m in FENCE.finditer(answer)
        if m.group("lang").lower() in ("", "python", "py", "python3")
    ]
    with_tests = [b for b in blocks if "def test" in b]
    if not with_tests:
        return None
    return max(with_tests, key=len).strip() + "\n"
