"""The process's NATS connection: connect, publish and subscribe in msgspec messages, and drain.

Handlers never see raw bytes and never let an exception reach the NATS client: the subscription
callback decodes with the proto codec, extracts the trace context from the headers, calls the
handler, and on an undecodable payload or unsupported version counts and logs the drop (rate
limited) and carries on. Publishing encodes, injects the current trace context into the headers and
counts per subject family (the first two subject tokens).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from opentelemetry.context import Context

from mm_proto.codec import DecodeError, UnsupportedVersion, decode, encode
from mm_runtime.bus_auth import inbox_prefix
from mm_runtime.logs import RateLimitedLog
from mm_runtime.metrics import RuntimeMetrics
from mm_runtime.settings import NatsSettings
from mm_runtime.telemetry import extract_context, inject_headers

_log = logging.getLogger("mm_runtime.bus")

MessageT = TypeVar("MessageT")
Handler = Callable[[Any, Context, Msg], Awaitable[None]]


class Bus:
    """One NATS connection with typed publish/subscribe and the runtime's bookkeeping."""

    def __init__(self, client: Client, metrics: RuntimeMetrics) -> None:
        self.client = client
        self._metrics = metrics
        self._drop_log = RateLimitedLog(_log)
        self._subscriptions: list[Subscription] = []

    async def publish(
        self, subject: str, message: msgspec.Struct, headers: dict[str, str] | None = None
    ) -> None:
        """Encode and publish on core NATS with the current trace context in the headers."""
        await self.client.publish(subject, encode(message), headers=inject_headers(headers))
        self._metrics.published.labels(_family(subject)).inc()

    async def subscribe(
        self,
        subject: str,
        message_type: Any,
        handler: Handler,
        queue: str = "",
    ) -> Subscription:
        """Call `handler(message, trace_context, raw_msg)` for each decodable message."""

        async def on_message(msg: Msg) -> None:
            await self._deliver(subject, message_type, handler, msg)

        subscription = await self.client.subscribe(subject, queue=queue, cb=on_message)
        self._subscriptions.append(subscription)
        return subscription

    async def _deliver(self, pattern: str, message_type: Any, handler: Handler, msg: Msg) -> None:
        try:
            message = decode(msg.data, message_type)
        except UnsupportedVersion as error:
            self._drop(pattern, "unsupported_version", msg.subject, error)
            return
        except DecodeError as error:
            self._drop(pattern, "undecodable", msg.subject, error)
            return
        self._metrics.received.labels(pattern).inc()
        try:
            await handler(message, extract_context(msg.headers), msg)
        except Exception:
            self._metrics.handler_errors.labels(pattern).inc()
            _log.exception("handler failed", extra={"subject": msg.subject})

    def _drop(self, pattern: str, reason: str, subject: str, error: Exception) -> None:
        self._metrics.dropped.labels(pattern, reason).inc()
        self._drop_log.warning(
            f"{pattern}:{reason}",
            "dropped message",
            subject=subject,
            reason=reason,
            error=str(error),
        )

    async def drain(self) -> None:
        """Stop intake, deliver what is buffered, flush publishes, then close."""
        if self.client.is_connected:
            await self.client.drain()
        elif not self.client.is_closed:
            await self.client.close()


def _family(subject: str) -> str:
    return ".".join(subject.split(".", 2)[:2])


async def connect(settings: NatsSettings, name: str, metrics: RuntimeMetrics) -> Bus:
    """Connect to NATS, reporting connection state in logs and the `mm_nats_connected` gauge."""

    async def on_disconnected() -> None:
        metrics.nats_connected.set(0)
        _log.warning("nats disconnected")

    async def on_reconnected() -> None:
        metrics.nats_connected.set(1)
        _log.info("nats reconnected")

    async def on_error(error: Exception) -> None:
        _log.warning("nats error", extra={"error": str(error)})

    options: dict[str, Any] = {
        "servers": [settings.url],
        "name": name,
        "connect_timeout": settings.connect_timeout_s,
        "drain_timeout": settings.drain_timeout_s,
        "max_reconnect_attempts": settings.max_reconnect_attempts,
        "disconnected_cb": on_disconnected,
        "reconnected_cb": on_reconnected,
        "error_cb": on_error,
    }
    if settings.user:
        options["user"] = settings.user
        options["password"] = settings.password.get_secret_value()
        # The bus grants each user only its own inboxes (mm_runtime.bus_auth).
        options["inbox_prefix"] = inbox_prefix(settings.user)
    client = await nats.connect(**options)
    metrics.nats_connected.set(1)
    return Bus(client, metrics)
