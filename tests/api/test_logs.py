"""Logs are one JSON object per line, and never carry a token from a URL."""

from __future__ import annotations

import json
import logging

from assay.logs import JsonFormatter


def test_tokens_in_urls_are_redacted() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/api/v1/ws?token=assay_SECRET-value_1&since=7"), None,
    )
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "SECRET" not in line
    assert entry["event"].endswith('/api/v1/ws?token=[redacted]&since=7" [accepted]')
    assert entry["level"] == "info" and entry["logger"] == "uvicorn.error"
