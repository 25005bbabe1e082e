"""Logging: one JSON object per line, with secrets removed wherever they appear in the record."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from mm_runtime.logs import REDACTED, RateLimitedLog, SecretRegistry, configure_logging

SECRET = "canary-secret-8f3a1c"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    SecretRegistry.register([SECRET])
    configure_logging("test", "DEBUG", stream)
    yield stream
    logging.getLogger().handlers.clear()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_event_is_one_json_line_with_its_extras(captured: io.StringIO) -> None:
    logging.getLogger("x").info("order sent", extra={"symbol": "BTCUSDT", "lots": 3})
    (event,) = lines(captured)
    assert event["event"] == "order sent"
    assert event["symbol"] == "BTCUSDT"
    assert event["lots"] == 3
    assert event["service"] == "test"


def test_secrets_in_message_arguments_extras_and_exceptions_are_redacted(
    captured: io.StringIO,
) -> None:
    log = logging.getLogger("x")
    log.info("key is %s", SECRET)
    log.warning("settings", extra={"settings": {"secret": SECRET}})
    try:
        raise ValueError(f"bad credentials {SECRET}")
    except ValueError:
        log.exception("failed")
    output = captured.getvalue()
    assert SECRET not in output
    assert output.count(REDACTED) >= 3
    assert "ValueError: bad credentials [REDACTED]" in output


def test_credential_shaped_text_is_redacted_even_when_not_registered(
    captured: io.StringIO,
) -> None:
    logging.getLogger("x").info("headers X-BAPI-SIGN: abcdef0123 api_key=unregistered-key")
    output = captured.getvalue()
    assert "abcdef0123" not in output
    assert "unregistered-key" not in output


def test_rate_limited_log_counts_what_it_suppressed(captured: io.StringIO) -> None:
    now = [0.0]
    limited = RateLimitedLog(logging.getLogger("x"), interval_s=10, clock=lambda: now[0])
    for _ in range(5):
        limited.warning("bad-frame", "dropped frame", symbol="BTCUSDT")
    now[0] = 11.0
    limited.warning("bad-frame", "dropped frame", symbol="BTCUSDT")
    first, second = lines(captured)
    assert first["suppressed_since_last"] == 0
    assert second["suppressed_since_last"] == 4
