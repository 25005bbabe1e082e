"""Following JetStream state: a KV bucket or stream subjects, bound (retrying) and then followed.

A KV bucket's owner creates it (risk owns `risk`, deployment owns `config`); until it exists the
watcher retries in the background and the service runs on what it already has. `loaded` is set
once the current values have been replayed, so a service can apply its start-up configuration
before it begins quoting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext, api
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue

_log = logging.getLogger("quoter.followers")

EntryHandler = Callable[[str, bytes | None], Awaitable[None]]
MessageHandler = Callable[[Msg], Awaitable[None]]


class KeyValueFollower:
    """Calls `handler(key, value or None when deleted)` for every current and future entry."""

    def __init__(
        self,
        js: JetStreamContext,
        bucket: str,
        keys: str,
        handler: EntryHandler,
        retry_s: float,
    ) -> None:
        self._js = js
        self._bucket = bucket
        self._keys = keys
        self._handler = handler
        self._retry_s = retry_s
        self.loaded = asyncio.Event()
        self.name = f"{bucket}-{keys}"
        self._watcher: KeyValue.KeyWatcher | None = None

    async def _bind(self) -> KeyValue:
        while True:
            try:
                return await self._js.key_value(self._bucket)
            except BucketNotFoundError:
                _log.warning("kv bucket missing, retrying", extra={"bucket": self._bucket})
                self.loaded.set()  # nothing to load yet: run on the configured values
                await asyncio.sleep(self._retry_s)

    async def run(self) -> None:
        """Bind, replay and follow until cancelled; handler errors are logged, never fatal."""
        kv = await self._bind()
        self._watcher = await kv.watch(self._keys)
        async for entry in self._watcher:
            if entry is None:
                self.loaded.set()
                continue
            deleted = entry.operation in ("DEL", "PURGE")
            try:
                await self._handler(entry.key, None if deleted else entry.value)
            except Exception:
                _log.exception("kv entry handler failed", extra={"bucket": self._bucket})

    async def stop(self) -> None:
        if self._watcher is not None:
            await self._watcher.stop()  # type: ignore[no-untyped-call]


class StreamFollower:
    """An ordered consumer on stream subjects: replays per `deliver_policy`, then follows.

    Positions are state, latest wins: `LAST_PER_SUBJECT` hands a restarted quoter the current
    position of every symbol at once, which a durable consumer (resuming after its last ack)
    would not. The stream's owner (the executor) creates it; until then binding is retried.
    """

    def __init__(
        self,
        js: JetStreamContext,
        stream: str,
        subject: str,
        deliver_policy: api.DeliverPolicy,
        handler: MessageHandler,
        retry_s: float,
    ) -> None:
        self._js = js
        self._stream = stream
        self._subject = subject
        self._deliver_policy = deliver_policy
        self._handler = handler
        self._retry_s = retry_s
        self._subscription: Subscription | None = None
        self.bound = asyncio.Event()
        self.name = f"{stream}-{subject}"

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
                )
            except NotFoundError:
                _log.warning("stream missing, retrying", extra={"stream": self._stream})
                await asyncio.sleep(self._retry_s)
                continue
            self.bound.set()
            return

    async def _deliver(self, msg: Msg) -> None:
        try:
            await self._handler(msg)
        except Exception:
            _log.exception("stream message handler failed", extra={"subject": msg.subject})

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
