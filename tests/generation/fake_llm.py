"""A real HTTP server speaking the OpenAI chat-completions and Anthropic messages protocols.

The scenario is chosen by the request's `model`: "repair" answers a wrong test first
and the fixed one once the prompt carries the failure; "good" answers the fixed test;
"error-429"/"error-500" answer JSON errors; "nocode" answers prose; "slow" stalls.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WRONG_TEST = """from shop.pricing import slugify


def test_slugify_lowercases_words():
    assert slugify("Hello World") == "Hello World"
"""
GOOD_TEST = """from shop.pricing import slugify


def test_slugify_lowercases_words():
    assert slugify("Hello World") == "hello-world"


def test_slugify_collapses_separators():
    assert slugify("a -- b") == "a-b"
"""


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeLLM:
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _answer_text(model: str, prompt_texts: list[str]) -> str | None:
    if model == "nocode":
        return "I would rather not write tests today, but here is some advice: test more."
    if model == "good":
        return f"Here you go:\n```python\n{GOOD_TEST}```\n"
    if model == "repair":
        last = prompt_texts[-1]
        if "failed when run with pytest" in last and "hello-world" in last:
            return f"Fixed:\n```python\n{GOOD_TEST}```"
        return f"```python\n{WRONG_TEST}```"
    return None


def _handler(state: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError):  # the client gave up (timeout test)
                self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            state.requests.append(Recorded(self.path, dict(self.headers.items()), body))
            model = body.get("model", "")
            texts = [m["content"] for m in body.get("messages", []) if m.get("role") == "user"]
            openai = self.path == "/v1/chat/completions"
            if self.path not in ("/v1/chat/completions", "/v1/messages"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            if model == "slow":
                time.sleep(3)
            if model == "echo-key":  # a provider that quotes the key back in its error
                key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                key = key or self.headers.get("x-api-key", "")
                self._send(401, {"error": {"message": f"Incorrect API key provided: {key}"}})
                return
            if model == "error-429":
                if openai:
                    self._send(
                        429,
                        {
                            "error": {
                                "message": "Rate limit reached for requests",
                                "type": "requests",
                                "code": "rate_limit_exceeded",
                            }
                        },
                    )
                else:
                    self._send(
                        429,
                        {
                            "type": "error",
                            "error": {
                                "type": "rate_limit_error",
                                "message": "Number of requests has exceeded your rate limit",
                            },
                        },
                    )
                return
            if model == "error-500":
                if openai:
                    self._send(
                        500,
                        {"error": {"message": "The server had an error", "type": "server_error"}},
                    )
                else:
                    self._send(
                        529,
                        {
                            "type": "error",
                            "error": {"type": "overloaded_error", "message": "Overloaded"},
                        },
                    )
                return
            text = _answer_text(model, texts) or "?"
            if openai:
                self._send(
                    200,
                    {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": text, "refusal": None},
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                    },
                )
            else:
                self._send(
                    200,
                    {
                        "id": "msg_1",
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [{"type": "text", "text": text}],
                        "stop_reason": "end_turn",
                        "stop_sequence": None,
                        "usage": {"input_tokens": 10, "output_tokens": 10},
                    },
                )

    return Handler


@contextmanager
def fake_llm_server() -> Iterator[FakeLLM]:
    state = FakeLLM()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
