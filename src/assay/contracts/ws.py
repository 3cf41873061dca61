"""WebSocket control messages (`WS /api/v1/ws`), beside the events it streams.

A client authenticates with `?token=` or a first message `Auth`. The server then
sends `Hello`, the replayed events, `CaughtUp`, live events, and `Ping` when idle.
Control types have no dot; event types always have one.
"""

from __future__ import annotations

from typing import Literal

from assay.contracts.base import Contract


class Auth(Contract):
    token: str


class Hello(Contract):
    type: Literal["hello"] = "hello"
    seq: int
    replaying: bool


class CaughtUp(Contract):
    type: Literal["caught_up"] = "caught_up"
    seq: int


class Ping(Contract):
    type: Literal["ping"] = "ping"
    seq: int


Control = Hello | CaughtUp | Ping
