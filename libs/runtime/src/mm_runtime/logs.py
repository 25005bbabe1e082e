"""Structured logging: one JSON object per line on stderr, secrets redacted at the logging layer.

Redaction lives in a `logging.Filter` on the handler, so it covers every logger in the process
(ours and third-party) and no call site has to remember it. The filter renders the message and any
exception text itself, replaces every registered secret (and a few credential-shaped patterns such
as signatures in URLs or headers), and hands the formatter only redacted text.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TextIO

REDACTED = "[REDACTED]"
_MIN_SECRET_LENGTH = 4
_CREDENTIAL_PATTERNS = (
    re.compile(
        r"(?i)(x-bapi-sign|x-bapi-api-key|api_secret|api_key|password|secret)([\"']?\s*[:=]\s*[\"']?)([^\s\"',&}]+)"
    ),
)
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime"}
)


class SecretRegistry:
    """The process-wide set of strings that must never be written out."""

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _secrets: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def register(cls, values: Iterable[str]) -> None:
        fresh = {value for value in values if len(value) >= _MIN_SECRET_LENGTH}
        with cls._lock:
            cls._secrets = cls._secrets | fresh

    @classmethod
    def redact(cls, text: str) -> str:
        for secret in cls._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _CREDENTIAL_PATTERNS:
            text = pattern.sub(lambda match: match.group(1) + match.group(2) + REDACTED, text)
        return text


class RedactionFilter(logging.Filter):
    """Renders message, arguments, extras and exception text, then removes secrets from them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = SecretRegistry.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = SecretRegistry.redact(
                logging.Formatter().formatException(record.exc_info)
            )
            record.exc_info = None
        if record.stack_info:
            record.stack_info = SecretRegistry.redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRIBUTES:
                setattr(record, key, _redact_value(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, service and any extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES:
                event[key] = value
        if record.exc_text:
            event["exception"] = record.exc_text
        if record.stack_info:
            event["stack"] = record.stack_info
        return json.dumps(event, default=str, ensure_ascii=False)


def _redact_value(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    return SecretRegistry.redact(value if isinstance(value, str) else str(value))


def configure_logging(
    service: str, level: str = "INFO", stream: TextIO | None = None
) -> Callable[[], None]:
    """Route every logger in the process to one redacting JSON handler.

    Returns a function that puts back the handlers, level and excepthook found before, for
    callers (tests running a service in-process) that outlive the service.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    previous = (list(root.handlers), root.level, sys.excepthook)
    for existing in previous[0]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught

    def restore() -> None:
        root.removeHandler(handler)
        for existing in previous[0]:
            root.addHandler(existing)
        root.setLevel(previous[1])
        sys.excepthook = previous[2]

    return restore


def _log_uncaught(kind: type[BaseException], error: BaseException, traceback: Any) -> None:
    logging.getLogger("uncaught").critical("uncaught exception", exc_info=(kind, error, traceback))


class RateLimitedLog:
    """Logs at most one line per key per interval and counts what it suppressed in between."""

    def __init__(
        self,
        logger: logging.Logger,
        interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._clock = clock
        self._interval_s = interval_s
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, message: str, **fields: Any) -> None:
        now = self._clock()
        if now - self._last.get(key, -self._interval_s) < self._interval_s:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        self._last[key] = now
        suppressed = self._suppressed.pop(key, 0)
        self._logger.warning(message, extra={**fields, "suppressed_since_last": suppressed})
