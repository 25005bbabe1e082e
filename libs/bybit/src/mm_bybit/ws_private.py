"""The private stream: auth, order/execution/position/wallet/dcp topics, fills exactly once.

After every (re)connect the stream authenticates, subscribes, and then asks REST for the
executions since the last one it saw and for open and recently closed orders, so what happened
while it was away is delivered too. Fills pass an execId filter (each once, trades only); order
states pass a filter that lets each order's state only move forward.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from mm_bybit.api import BybitRestApi
from mm_bybit.backoff import Backoff
from mm_bybit.connection_events import StateListener, Subscribed
from mm_bybit.credentials import ApiCredentials
from mm_bybit.executions import ExecutionFilter
from mm_bybit.order_updates import OrderUpdateFilter
from mm_bybit.raw import Execution, Frame, Order, Position, PrivateMessage, Wallet, decoder
from mm_bybit.signing import websocket_auth_signature
from mm_bybit.ws_connection import ReconnectingWebSocket, SessionFailed

log = logging.getLogger(__name__)

DEFAULT_TOPICS = ("order", "execution", "position", "wallet")
DCP_TOPIC = "dcp.future"  # disconnect-cancel-all notices for derivatives
# Executions this far before the newest one seen are asked for again on catch-up: the venue's
# execTime and its REST index need not agree to the millisecond, and repeats are filtered anyway.
CATCH_UP_OVERLAP_MS = 60_000

_MESSAGE = decoder(PrivateMessage)
_ORDERS = decoder(list[Order])
_EXECUTIONS = decoder(list[Execution])
_POSITIONS = decoder(list[Position])
_WALLETS = decoder(list[Wallet])


def private_url(ws_url: str) -> str:
    """The private stream under the venue's WebSocket base URL."""
    return ws_url.rstrip("/") + "/v5/private"


def dcp_applies(category: str) -> bool:
    """Whether disconnect-cancel (DCP), as this client arms it, covers `category`."""
    return category == "linear"


def private_topics(category: str, *, dcp: bool) -> tuple[str, ...]:
    """The default topics, and the DCP topic when DCP is wanted and covers the category."""
    return DEFAULT_TOPICS + ((DCP_TOPIC,) if dcp and dcp_applies(category) else ())


class PrivateHandlers(msgspec.Struct, kw_only=True):
    """Callbacks for each kind of private push; each gets a list (one push can hold several)."""

    on_orders: Callable[[list[Order]], None] | None = None
    on_fills: Callable[[list[Execution]], None] | None = None
    on_funding: Callable[[list[Execution]], None] | None = None  # execType Funding rows
    on_positions: Callable[[list[Position]], None] | None = None
    on_wallets: Callable[[list[Wallet]], None] | None = None
    on_dcp: Callable[[Any], None] | None = None
    on_resynced: Callable[[], None] | None = None


class PrivateStream:
    """One authenticated private connection with exactly-once fills across reconnects."""

    def __init__(
        self,
        url: str,
        credentials: ApiCredentials,
        handlers: PrivateHandlers,
        *,
        topics: Iterable[str] = DEFAULT_TOPICS,
        catch_up: BybitRestApi | None = None,
        catch_up_categories: Iterable[str] = ("linear",),
        on_state: StateListener | None = None,
        backoff: Backoff | None = None,
        ping_interval_s: float = 20.0,
        pong_timeout_s: float = 10.0,
        auth_expiry_s: float = 10.0,
        catch_up_since_ms: int | None = None,
        name: str = "private",
    ) -> None:
        self._credentials = credentials
        self.handlers = handlers
        self.topics = tuple(topics)
        self._catch_up = catch_up
        self._catch_up_categories = tuple(catch_up_categories)
        self._auth_expiry_s = auth_expiry_s
        self.fills = ExecutionFilter()
        self.order_updates = OrderUpdateFilter()
        # Catch-up starts from here until a fill is seen; in venue time, as execTime is.
        self._catch_up_since_ms = catch_up_since_ms or self._venue_now_ms()
        self._pending: dict[str, asyncio.Future[Frame]] = {}
        self.connection = ReconnectingWebSocket(
            name,
            url,
            on_frame=self._dispatch,
            open_session=self._open_session,
            on_state=on_state,
            backoff=backoff,
            ping_interval_s=ping_interval_s,
            pong_timeout_s=pong_timeout_s,
        )

    def start(self) -> asyncio.Task[None]:
        return self.connection.start()

    async def close(self) -> None:
        await self.connection.close()

    def _venue_now_ms(self) -> int:
        """Our clock corrected by the REST client's measured offset, when there is one."""
        if self._catch_up is not None:
            return self._catch_up.rest.timestamp_ms()
        return time.time_ns() // 1_000_000

    async def _open_session(self) -> None:
        expires_ms = self._venue_now_ms() + int(self._auth_expiry_s * 1000)
        signature = websocket_auth_signature(self._credentials.secret(), expires_ms)
        await self._request("auth", [self._credentials.api_key, expires_ms, signature])
        await self._request("subscribe", list(self.topics))
        self.connection.emit(Subscribed(connection=self.connection.name, topics=self.topics))
        await self._catch_up_executions()
        await self._catch_up_orders()
        if self.handlers.on_resynced is not None:
            self.handlers.on_resynced()

    async def _request(self, operation: str, args: list[Any]) -> Frame:
        request_id = self.connection.next_request_id()
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            message = {"req_id": request_id, "op": operation, "args": args}
            await self.connection.send(msgspec.json.encode(message).decode())
            reply = await future
        finally:
            self._pending.pop(request_id, None)
        if reply.success is False:
            # ret_msg of a failed auth never holds the secret; the args are not echoed.
            raise SessionFailed(f"{operation} refused: {reply.ret_msg or 'no reason given'}")
        return reply

    async def _catch_up_executions(self) -> None:
        if self._catch_up is None:
            return
        since = self.fills.latest_exec_time_ms or self._catch_up_since_ms
        start_ms = since - CATCH_UP_OVERLAP_MS
        for category in self._catch_up_categories:
            executions = await self._catch_up.executions(category, start_time_ms=start_ms)
            # REST lists newest first; hand them over oldest first, as the stream does.
            self._deliver_fills(
                sorted(executions, key=lambda item: (int(item.exec_time), item.seq))
            )

    async def _catch_up_orders(self) -> None:
        if self._catch_up is None:
            return
        for category in self._catch_up_categories:
            orders = await self._catch_up.open_orders(category)
            orders += await self._catch_up.closed_orders(category)
            self._deliver_orders(orders)

    def _deliver_orders(self, orders: list[Order]) -> None:
        fresh = self.order_updates.select(orders)
        if fresh and self.handlers.on_orders is not None:
            self.handlers.on_orders(fresh)

    def _deliver_fills(self, executions: list[Execution]) -> None:
        funding = self.fills.select_funding(executions)
        if funding and self.handlers.on_funding is not None:
            self.handlers.on_funding(funding)
        fresh = self.fills.select(executions)
        if fresh and self.handlers.on_fills is not None:
            self.handlers.on_fills(fresh)

    def _dispatch(self, payload: bytes, frame: Frame, received_ns: int) -> None:
        if not frame.topic:
            self._resolve(frame)
            return
        message = _MESSAGE.decode(payload)
        topic = message.topic
        if topic.startswith("execution"):
            self._deliver_fills(_EXECUTIONS.decode(message.data))
        elif topic.startswith("order"):
            self._deliver_orders(_ORDERS.decode(message.data))
        elif topic.startswith("position"):
            if self.handlers.on_positions is not None:
                self.handlers.on_positions(_POSITIONS.decode(message.data))
        elif topic == "wallet":
            if self.handlers.on_wallets is not None:
                self.handlers.on_wallets(_WALLETS.decode(message.data))
        elif topic.startswith("dcp"):
            if self.handlers.on_dcp is not None:
                self.handlers.on_dcp(msgspec.json.decode(message.data))
        else:
            log.info("%s: ignored push on topic %r", self.connection.name, topic)

    def _resolve(self, frame: Frame) -> None:
        if frame.op not in ("auth", "subscribe", "unsubscribe"):
            return
        future = self._pending.get(frame.req_id)
        if future is None:
            # Private acks may omit req_id: they answer the oldest open request.
            future = next(iter(self._pending.values()), None)
        if future is not None and not future.done():
            future.set_result(frame)
