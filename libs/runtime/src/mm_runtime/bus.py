"""The process's NATS connection: connect, publish and subscribe in msgspec messages, and drain.

Handlers never see raw bytes and never let an exception reach the NATS client: the subscription
callback decodes with the proto codec, extracts the trace context from the headers, calls the
handler, and on an undecodable payload or unsupported version counts and logs the drop (rate
limited) and carries on. A subscription for state may conflate its backlog to the newest message
per subject (`mm_runtime.conflation`). Publishing encodes, injects the current trace context into
the headers and counts per subject family (the first two subject tokens).
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
from nats.js import api
from opentelemetry.context import Context

from mm_proto.codec import DecodeError, UnsupportedVersion, decode, encode
from mm_runtime.bus_auth import inbox_prefix
from mm_runtime.conflation import Conflator
from mm_runtime.followers import (
    DropHook,
    EntryHandler,
    KvFollower,
    StreamFollower,
    StreamHandler,
)
from mm_runtime.logs import RateLimitedLog
from mm_runtime.metrics import RuntimeMetrics
from mm_runtime.pull_consumer import FailureHook, PullConsumer, ResumeAt, StrayHook
from mm_runtime.settings import NatsSettings
from mm_runtime.tasks import TaskSupervisor
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
        self._tasks: TaskSupervisor | None = None
        self._owner = ""
        self._kv_followers: list[KvFollower[Any]] = []
        # Metric children bound once per subject / pattern, not looked up per message.
        self._published: dict[str, Any] = {}
        self._received: dict[str, Any] = {}

    def reconnected(self) -> None:
        """The connection is back: KV followers watch afresh (see `KvFollower.rebind`)."""
        for follower in self._kv_followers:
            follower.rebind()

    def supervise_with(self, tasks: TaskSupervisor, owner: str) -> None:
        """Where followers run: `owner`'s supervisor (the lifecycle sets this for a service)."""
        self._tasks, self._owner = tasks, owner

    def _supervisor(self) -> TaskSupervisor:
        if self._tasks is None:
            raise RuntimeError("followers need a supervisor: call Bus.supervise_with first")
        return self._tasks

    async def publish(
        self, subject: str, message: msgspec.Struct, headers: dict[str, str] | None = None
    ) -> None:
        """Encode and publish on core NATS with the current trace context in the headers."""
        await self.client.publish(subject, encode(message), headers=inject_headers(headers))
        counter = self._published.get(subject)
        if counter is None:
            counter = self._published[subject] = self._metrics.published.labels(_family(subject))
        counter.inc()

    async def subscribe(
        self,
        subject: str,
        message_type: Any,
        handler: Handler,
        queue: str = "",
        *,
        conflate: bool = False,
    ) -> Subscription:
        """Call `handler(message, trace_context, raw_msg)` for each decodable message.

        With `conflate`, a message that a newer one on the same subject replaced while both
        waited is counted and never handled (`mm_runtime.conflation`): for state such as book
        tops and quote intents, never for facts that must each be handled.
        """
        if not conflate:

            async def on_message(msg: Msg) -> None:
                await self._deliver(subject, message_type, handler, msg)

            subscription = await self.client.subscribe(subject, queue=queue, cb=on_message)
            self._subscriptions.append(subscription)
            return subscription

        conflator: Conflator[Msg] = Conflator(self._metrics.conflated.labels(subject))
        # The callback can run before `subscribe` returns; with no subscription yet it sees no
        # backlog, which only means no conflation for that message.
        bound: list[Subscription] = []

        async def on_newest(msg: Msg) -> None:
            pending = bound[0].pending_msgs if bound else 0
            for newest in conflator.offer(msg, pending):
                await self._deliver(subject, message_type, handler, newest)

        subscription = await self.client.subscribe(subject, queue=queue, cb=on_newest)
        bound.append(subscription)
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
        counter = self._received.get(pattern)
        if counter is None:
            counter = self._received[pattern] = self._metrics.received.labels(pattern)
        counter.inc()
        try:
            await handler(message, extract_context(msg.headers), msg)
        except Exception:
            self._metrics.handler_errors.labels(pattern).inc()
            _log.exception("handler failed", extra={"subject": msg.subject})

    def follow_kv(
        self,
        bucket: str,
        keys: str,
        message_type: type[MessageT],
        handler: EntryHandler,
        *,
        retry_s: float,
        on_drop: DropHook | None = None,
    ) -> KvFollower[MessageT]:
        """Follow `keys` in KV `bucket` as `message_type`, supervised as `<owner>-follow-...`.

        Restarted if it ends (binding and replaying afresh); see `mm_runtime.followers`.
        """
        js = self.client.jetstream()
        follower = KvFollower(
            js, bucket, keys, message_type, handler, self._metrics, retry_s, on_drop
        )
        self._supervisor().spawn(self._kv_task(follower), follower.run)
        self._kv_followers.append(follower)
        return follower

    async def unfollow(self, follower: KvFollower[Any]) -> None:
        """Stop a KV follower for good (its task ends as expected, not restarted)."""
        await self._supervisor().cancel(self._kv_task(follower))
        await follower.stop()
        if follower in self._kv_followers:
            self._kv_followers.remove(follower)

    def _kv_task(self, follower: KvFollower[Any]) -> str:
        return f"{self._owner}-follow-{follower.name}"

    def follow_stream(
        self,
        stream: str,
        subject: str,
        message_type: type[MessageT],
        handler: StreamHandler,
        *,
        deliver_policy: api.DeliverPolicy,
        retry_s: float,
        on_drop: DropHook | None = None,
    ) -> StreamFollower[MessageT]:
        """Follow `subject` of `stream` as `message_type` with an ordered consumer.

        Binding is a supervised task whose job ends once subscribed; see `mm_runtime.followers`.
        """
        js = self.client.jetstream()
        follower = StreamFollower(
            js,
            stream,
            subject,
            deliver_policy,
            message_type,
            handler,
            self._metrics,
            retry_s,
            on_drop,
        )
        name = f"{self._owner}-follow-{follower.name}"
        self._supervisor().spawn(name, follower.run, finishes=True)
        return follower

    def pull_consumer(
        self,
        stream: str,
        subject: str,
        config: api.ConsumerConfig,
        *,
        on_failure: FailureHook | None = None,
        on_stray: StrayHook | None = None,
        resume_at: ResumeAt | None = None,
    ) -> PullConsumer:
        """A durable pull consumer whose fetches survive the bus (`mm_runtime.pull_consumer`);
        the caller runs its loop as a supervised task and decides when to ack. With `resume_at`
        it delivers in stream order from the first sequence the caller has not applied."""
        js = self.client.jetstream()
        return PullConsumer(
            js,
            stream,
            subject,
            config,
            self._metrics,
            on_failure=on_failure,
            on_stray=on_stray,
            resume_at=resume_at,
        )

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


def server_list(url: str) -> list[str]:
    """The servers in a `NatsSettings.url`: one URL, or a cluster's URLs separated by commas."""
    servers = [item.strip() for item in url.split(",") if item.strip()]
    if not servers:
        raise ValueError("expected at least one NATS server URL, received none")
    return servers


def _family(subject: str) -> str:
    return ".".join(subject.split(".", 2)[:2])


async def connect(settings: NatsSettings, name: str, metrics: RuntimeMetrics) -> Bus:
    """Connect to NATS, reporting connection state in logs and the `mm_nats_connected` gauge."""

    async def on_disconnected() -> None:
        metrics.nats_connected.set(0)
        _log.warning("nats disconnected")

    buses: list[Bus] = []

    async def on_reconnected() -> None:
        metrics.nats_connected.set(1)
        _log.info("nats reconnected")
        for bus in buses:
            bus.reconnected()

    async def on_error(error: Exception) -> None:
        _log.warning("nats error", extra={"error": str(error)})

    options: dict[str, Any] = {
        "servers": server_list(settings.url),
        "name": name,
        "connect_timeout": settings.connect_timeout_s,
        "drain_timeout": settings.drain_timeout_s,
        "max_reconnect_attempts": settings.max_reconnect_attempts,
        "ping_interval": settings.ping_interval_s,
        "max_outstanding_pings": settings.max_outstanding_pings,
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
    buses.append(Bus(client, metrics))
    return buses[0]
