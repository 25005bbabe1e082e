"""The public market-data stream: batched subscriptions, resubscribed on reconnect."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

import msgspec

from mm_bybit.backoff import Backoff
from mm_bybit.connection_events import StateListener, Subscribed, SubscriptionRejected
from mm_bybit.raw import Frame
from mm_bybit.ws_connection import ReconnectingWebSocket, UndecodableHandler

log = logging.getLogger(__name__)

# Spot takes at most 10 args per subscribe; the other categories document no limit, and 10 keeps
# every request small. All args of one connection must stay under 21,000 characters.
MAX_ARGS_PER_REQUEST = 10
MAX_ARGS_CHARACTERS = 21_000


class PublicFrame(msgspec.Struct, frozen=True, kw_only=True):
    """One market-data push, kept as the venue's bytes for the parser that owns its topic."""

    topic: str
    type: str
    payload: bytes
    ts_received_ns: int


PublicFrameHandler = Callable[[PublicFrame], None]


def public_url(ws_url: str, category: str) -> str:
    """The public stream of one category under the venue's WebSocket base URL."""
    return f"{ws_url.rstrip('/')}/v5/public/{category}"


def trade_topic(symbol: str) -> str:
    """The public trades topic of one symbol (`convert.trades_from_message` parses its pushes)."""
    return f"publicTrade.{symbol}"


def subscribe_batches(
    topics: Iterable[str], per_request: int = MAX_ARGS_PER_REQUEST
) -> list[list[str]]:
    """Split topics into subscribe requests within the per-request argument limit."""
    ordered = sorted(set(topics))
    return [ordered[start : start + per_request] for start in range(0, len(ordered), per_request)]


class PublicStream:
    """Subscribes to public topics of one category and hands each push to `on_frame`.

    Topics added while connected are subscribed at once; after a reconnect every topic is
    subscribed again, and a `Subscribed` event reports each acknowledged batch.
    """

    def __init__(
        self,
        url: str,
        on_frame: PublicFrameHandler,
        *,
        topics: Iterable[str] = (),
        on_state: StateListener | None = None,
        backoff: Backoff | None = None,
        ping_interval_s: float = 20.0,
        pong_timeout_s: float = 10.0,
        name: str = "public",
        on_undecodable: UndecodableHandler | None = None,
    ) -> None:
        self._topics: set[str] = set()
        self._check_topics(topics)
        self._topics.update(topics)
        self._on_frame = on_frame
        self._pending: dict[str, asyncio.Future[Frame]] = {}
        self.connection = ReconnectingWebSocket(
            name,
            url,
            on_frame=self._dispatch,
            open_session=self._subscribe_all,
            on_state=on_state,
            backoff=backoff,
            ping_interval_s=ping_interval_s,
            pong_timeout_s=pong_timeout_s,
            on_undecodable=on_undecodable,
        )

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self._topics)

    def start(self) -> asyncio.Task[None]:
        return self.connection.start()

    async def close(self) -> None:
        await self.connection.close()

    async def subscribe(self, topics: Iterable[str]) -> None:
        """Add topics; subscribe now if connected, otherwise on the next connect."""
        new = set(topics) - self._topics
        self._check_topics(new)
        self._topics.update(new)
        if new and self.connection.connected:
            await self._send_batches("subscribe", new)

    async def unsubscribe(self, topics: Iterable[str]) -> None:
        """Drop topics; unsubscribe now if connected."""
        gone = set(topics) & self._topics
        self._topics -= gone
        if gone and self.connection.connected:
            await self._send_batches("unsubscribe", gone)

    def _check_topics(self, new: Iterable[str]) -> None:
        total = sum(len(topic) for topic in self._topics | set(new))
        if total >= MAX_ARGS_CHARACTERS:
            raise ValueError(
                f"topics of one connection must total under {MAX_ARGS_CHARACTERS} characters, "
                f"would be {total}"
            )

    async def _subscribe_all(self) -> None:
        await self._send_batches("subscribe", self._topics)

    async def _send_batches(self, operation: str, topics: Iterable[str]) -> None:
        for batch in subscribe_batches(topics):
            reply = await self._request(operation, batch)
            if reply.success is False and len(batch) > 1:
                # The venue refuses a whole request for one bad topic: find it by asking one
                # at a time, so the good topics of the batch are not lost with it.
                for topic in batch:
                    self._report(operation, [topic], await self._request(operation, [topic]))
            else:
                self._report(operation, batch, reply)

    async def _request(self, operation: str, args: list[str]) -> Frame:
        request_id = self.connection.next_request_id()
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message = {"req_id": request_id, "op": operation, "args": args}
        try:
            await self.connection.send(msgspec.json.encode(message).decode())
            return await asyncio.wait_for(future, self.connection.session_timeout_s)
        finally:
            self._pending.pop(request_id, None)

    def _report(self, operation: str, batch: list[str], reply: Frame) -> None:
        name = self.connection.name
        if reply.success is False:
            self.connection.emit(
                SubscriptionRejected(connection=name, topics=tuple(batch), reason=reply.ret_msg)
            )
            # A bad symbol must not cost the good topics their connection: report it and go on.
            log.warning("%s: %s %s refused: %s", name, operation, batch, reply.ret_msg)
        elif operation == "subscribe":
            self.connection.emit(Subscribed(connection=name, topics=tuple(batch)))

    def _dispatch(self, payload: bytes, frame: Frame, received_ns: int) -> None:
        if frame.topic:
            self._on_frame(
                PublicFrame(
                    topic=frame.topic, type=frame.type, payload=payload, ts_received_ns=received_ns
                )
            )
            return
        if frame.op in ("subscribe", "unsubscribe"):
            self._resolve(frame)
            return
        log.debug("%s: ignored frame %r", self.connection.name, payload[:200])

    def _resolve(self, frame: Frame) -> None:
        future = self._pending.get(frame.req_id)
        if future is None and self._pending:
            # Option/spread acks carry no req_id: they answer the oldest open request.
            future = next(iter(self._pending.values()))
        if future is not None and not future.done():
            future.set_result(frame)
