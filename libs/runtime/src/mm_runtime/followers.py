"""Following JetStream state in msgspec messages: a KV bucket's keys, or a stream's subjects.

The counterpart of `Bus.subscribe` for what the bus keeps: a follower binds (retrying while the
bucket or stream does not exist yet, the owner creates it), replays what is stored, then follows,
and hands its handler decoded messages only (`bytes` as the type hands the value as stored, for a
reader that validates it itself, such as layered config). An undecodable value or an unsupported
version is counted in `mm_bus_messages_dropped_total{subscription=<follower>, reason}`, logged
(rate limited) and passed to the optional `on_drop` hook, which is where a service reads a bad
value safely (the quoter reads an unreadable halt as halted); a handler that raises is counted in
`mm_bus_handler_errors_total` and logged, never fatal. How far behind a follower is, as the server
said with its last delivery (a KV watcher's remaining revisions, a consumer's pending messages), is
the gauge `mm_bus_follow_pending{follower}`.

Followers are started through `Bus.follow_kv` / `Bus.follow_stream`, which spawn them under the
service's `TaskSupervisor`: a KV follower restarts (binding and replaying afresh) if it ends; a
stream follower's job ends once it has subscribed (the ordered consumer then lives in the client).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import nats.errors
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NotJSMessageError
from nats.js import JetStreamContext, api
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from mm_proto.codec import DecodeError, UnsupportedVersion, decode
from mm_runtime.logs import RateLimitedLog
from mm_runtime.metrics import RuntimeMetrics

_log = logging.getLogger("mm_runtime.followers")

MessageT = TypeVar("MessageT")
# (key, message or None when the key was deleted or purged)
EntryHandler = Callable[[str, Any], Awaitable[None]]
# (message, the raw JetStream message)
StreamHandler = Callable[[Any, Msg], Awaitable[None]]
# (key or subject, reason): called after a value is dropped as unreadable
DropHook = Callable[[str, str], Awaitable[None]]

DELETED = ("DEL", "PURGE")
# An ordered consumer the server lost (it lives in memory: a restart, JetStream off and back) is
# recreated by the client, from the next stream sequence, after two heartbeats go missing; the
# client's 5 s default made that 10 to 20 s of silence.
IDLE_HEARTBEAT_S = 1.0


class _Typed(Generic[MessageT]):
    """Decoding with counted drops, shared by both followers."""

    def __init__(
        self,
        name: str,
        message_type: type[MessageT],
        metrics: RuntimeMetrics,
        on_drop: DropHook | None,
    ) -> None:
        self.name = name
        self._type = message_type
        self._metrics = metrics
        self._on_drop = on_drop
        self._drop_log = RateLimitedLog(_log)

    async def decode(self, where: str, data: bytes) -> MessageT | None:
        if self._type is bytes:
            return data  # type: ignore[return-value]
        try:
            return decode(data, self._type)
        except UnsupportedVersion as error:
            reason, detail = "unsupported_version", str(error)
        except DecodeError as error:
            reason, detail = "undecodable", str(error)
        self._metrics.dropped.labels(self.name, reason).inc()
        self._drop_log.warning(
            f"{self.name}:{reason}", "dropped stored value", at=where, reason=reason, error=detail
        )
        if self._on_drop is not None:
            await self._call(where, self._on_drop(where, reason))
        return None

    async def call(self, where: str, handled: Awaitable[None]) -> None:
        self._metrics.received.labels(self.name).inc()
        await self._call(where, handled)

    async def _call(self, where: str, handled: Awaitable[None]) -> None:
        try:
            await handled
        except Exception:
            self._metrics.handler_errors.labels(self.name).inc()
            _log.exception("follower handler failed", extra={"follower": self.name, "at": where})

    def lag(self, pending: int | None) -> None:
        self._metrics.follow_pending.labels(self.name).set(pending or 0)


class KvFollower(_Typed[MessageT]):
    """Calls `handler(key, message or None when deleted)` for every current and future entry.

    `loaded` is set once the current values have been replayed (or the bucket is found missing:
    the service runs on what it already has), so a service can apply its start-up state first.
    """

    def __init__(
        self,
        js: JetStreamContext,
        bucket: str,
        keys: str,
        message_type: type[MessageT],
        handler: EntryHandler,
        metrics: RuntimeMetrics,
        retry_s: float,
        on_drop: DropHook | None = None,
    ) -> None:
        super().__init__(f"{bucket}-{keys}", message_type, metrics, on_drop)
        self._js = js
        self._bucket = bucket
        self._keys = keys
        self._handler = handler
        self._retry_s = retry_s
        self.loaded = asyncio.Event()
        self._watcher: KeyValue.KeyWatcher | None = None
        self._stopped = False

    async def _bind(self) -> KeyValue:
        while True:
            try:
                return await self._js.key_value(self._bucket)
            except BucketNotFoundError:
                _log.warning("kv bucket missing, retrying", extra={"bucket": self._bucket})
                self.loaded.set()  # nothing to load yet: run on the configured values
                await asyncio.sleep(self._retry_s)

    async def run(self) -> None:
        """Bind, replay and follow until stopped; watch afresh after each `rebind`."""
        while not self._stopped:
            kv = await self._bind()
            watcher = self._watcher = await kv.watch(self._keys)
            async for entry in watcher:
                await self._take(entry)
            if watcher._sub is not None:
                with contextlib.suppress(nats.errors.Error):  # already gone when stopped
                    await watcher._sub.unsubscribe()

    async def _take(self, entry: KeyValue.Entry | None) -> None:
        if entry is None:  # the replay is done
            self.loaded.set()
            return
        self.lag(entry.delta)
        if entry.operation in DELETED:
            await self.call(entry.key, self._handler(entry.key, None))
            return
        message = await self.decode(entry.key, entry.value or b"")
        if message is not None:
            await self.call(entry.key, self._handler(entry.key, message))

    def rebind(self) -> None:
        """Watch afresh, replaying the latest value of every key.

        After a reconnect the server may have lost the watcher's consumer (it lives in memory): the
        client would notice only after missing two heartbeats, 10 s or more. The replay hands the
        handler what it may have missed while the bus was away (latest wins).
        """
        if self._watcher is None:
            return
        updates = self._watcher._updates  # ends `run`'s iteration; the replay makes up the rest
        while True:
            try:
                updates.put_nowait(KeyValue.KeyWatcher.STOP_ITER)
                return
            except asyncio.QueueFull:
                updates.get_nowait()

    async def stop(self) -> None:
        self._stopped = True
        if self._watcher is not None:
            await self._watcher.stop()  # type: ignore[no-untyped-call]


class StreamFollower(_Typed[MessageT]):
    """An ordered consumer on stream subjects: replays per `deliver_policy`, then follows.

    For state where the latest wins: `LAST_PER_SUBJECT` hands a restarted service the current
    value of every subject at once, which a durable consumer (resuming after its last ack) would
    not. `bound` is set once subscribed; until the stream exists binding is retried. A consumer
    the server lost is recreated by the client from the next stream sequence (no gap, no replay).
    """

    def __init__(
        self,
        js: JetStreamContext,
        stream: str,
        subject: str,
        deliver_policy: api.DeliverPolicy,
        message_type: type[MessageT],
        handler: StreamHandler,
        metrics: RuntimeMetrics,
        retry_s: float,
        on_drop: DropHook | None = None,
    ) -> None:
        super().__init__(f"{stream}-{subject}", message_type, metrics, on_drop)
        self._js = js
        self._stream = stream
        self._subject = subject
        self._deliver_policy = deliver_policy
        self._handler = handler
        self._retry_s = retry_s
        self._subscription: Subscription | None = None
        self.bound = asyncio.Event()

    async def run(self) -> None:
        """Subscribe, retrying while the stream does not exist."""
        while True:
            try:
                self._subscription = await self._js.subscribe(
                    self._subject,
                    stream=self._stream,
                    cb=self._deliver,
                    ordered_consumer=True,
                    deliver_policy=self._deliver_policy,
                    idle_heartbeat=IDLE_HEARTBEAT_S,
                )
            except NotFoundError:
                _log.warning("stream missing, retrying", extra={"stream": self._stream})
                await asyncio.sleep(self._retry_s)
                continue
            self.bound.set()
            return

    async def _deliver(self, msg: Msg) -> None:
        try:
            pending = msg.metadata.num_pending
        except NotJSMessageError:
            # Published onto the consumer's inbox by something other than the stream.
            self._metrics.dropped.labels(self.name, "not_jetstream").inc()
            self._drop_log.warning(f"{self.name}:not_jetstream", "dropped a stray message")
            return
        self.lag(pending)
        message = await self.decode(msg.subject, msg.data)
        if message is not None:
            await self.call(msg.subject, self._handler(message, msg))

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
