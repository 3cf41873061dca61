"""uvicorn's server, stopping the app's WebSockets first: `assay serve` runs it."""

from __future__ import annotations

from collections.abc import Callable
from types import FrameType

import uvicorn


class StoppingServer(uvicorn.Server):
    """uvicorn, telling open WebSockets to close as soon as a stop signal arrives.

    uvicorn waits for open connections before it runs the app's shutdown; live
    sockets would hold every stop for the whole graceful timeout.
    """

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.on_exit()
        super().handle_exit(sig, frame)
