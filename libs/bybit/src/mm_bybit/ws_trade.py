"""Order entry on the trade WebSocket, correlated by reqId, with REST when the socket is down."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from typing import Any

import msgspec

from mm_bybit.api import BatchOutcome, BybitRestApi
from mm_bybit.backoff import Backoff
from mm_bybit.connection_events import ConnectionEvent, Disconnected, StateListener
from mm_bybit.credentials import ApiCredentials
from mm_bybit.errors import (
    RateLimited,
    RequestTimeout,
    TransportError,
    error_from_ret_code,
)
from mm_bybit.order_requests import (
    BATCH_PATHS,
    OPERATION_PATHS,
    WEBSOCKET_OPERATIONS,
    OrderRequest,
    batch_body,
    validate_target,
)
from mm_bybit.rate_budget import RateBudget, parse_limit_headers
from mm_bybit.raw import BatchItem, BatchStatusList, Frame, OrderAck, Page, TradeReply, decoder
from mm_bybit.send_gate import check_send_gate
from mm_bybit.signing import websocket_auth_signature
from mm_bybit.ws_connection import ReconnectingWebSocket, SessionFailed

log = logging.getLogger(__name__)

_REPLY = decoder(TradeReply)
_ACK = decoder(OrderAck)
_BATCH_PAGE = decoder(Page[BatchItem])
_BATCH_STATUS = decoder(BatchStatusList)


def trade_url(ws_url: str) -> str:
    """The trade (order entry) stream under the venue's WebSocket base URL."""
    return ws_url.rstrip("/") + "/v5/trade"


class TradeStream:
    """Sends orders on the trade WebSocket; when it is not connected, through REST instead.

    An answer only means "accepted": outcomes come on the private order stream. A request that
    gets no answer within `request_timeout_s`, or whose connection drops before the answer,
    raises RequestTimeout: it may or may not have reached the venue, so the caller reconciles
    (the orderLinkId makes a resend safe: a duplicate is refused with DuplicateClientOrderId).
    """

    def __init__(
        self,
        url: str,
        credentials: ApiCredentials,
        *,
        fallback: BybitRestApi | None = None,
        budget: RateBudget | None = None,
        request_timeout_s: float = 5.0,
        recv_window_ms: int = 5000,
        on_state: StateListener | None = None,
        backoff: Backoff | None = None,
        ping_interval_s: float = 20.0,
        pong_timeout_s: float = 10.0,
        name: str = "trade",
    ) -> None:
        self._credentials = credentials
        self._fallback = fallback
        self.budget = budget or (fallback.rest.budget if fallback else RateBudget())
        self.request_timeout_s = request_timeout_s
        self.recv_window_ms = recv_window_ms
        self._pending: dict[str, asyncio.Future[TradeReply]] = {}
        self._auth: asyncio.Future[TradeReply] | None = None
        # reqIds must never repeat (20006), also across restarts: prefix with the process id.
        self._request_ids = itertools.count(1)
        self._prefix = f"{os.getpid() % 100000}-{time.time_ns() // 1_000_000 % 10**9}"
        self.sent_by_websocket = 0
        self.sent_by_rest = 0
        self.connection = ReconnectingWebSocket(
            name,
            url,
            on_frame=self._dispatch,
            open_session=self._authenticate,
            on_state=on_state,
            backoff=backoff,
            ping_interval_s=ping_interval_s,
            pong_timeout_s=pong_timeout_s,
        )
        self.connection.add_listener(self._on_state)

    def start(self) -> asyncio.Task[None]:
        return self.connection.start()

    async def close(self) -> None:
        await self.connection.close()
        self._fail_pending("trade stream closed")

    async def send_order(self, request: OrderRequest) -> OrderAck:
        """Create, amend or cancel one order."""
        validate_target(request)
        if not self.connection.connected:
            return await self._rest().send_order(request)
        path = OPERATION_PATHS[type(request)]
        self.sent_by_websocket += 1
        reply = await self._call(path, WEBSOCKET_OPERATIONS[type(request)], [request], 1)
        return _ACK.decode(reply.data)

    async def send_batch(self, requests: list[OrderRequest]) -> list[BatchOutcome]:
        """Send a batch of one kind; each item succeeds or fails on its own. A batch larger than
        the endpoint's quota can grant at once goes as several, in order (Bybit counts each item
        and fails those past the quota)."""
        if not self.connection.connected:
            return await self._rest().send_batch(requests)
        size = self.budget.batch_size(BATCH_PATHS[type(requests[0])])
        outcomes: list[BatchOutcome] = []
        for start in range(0, len(requests), size):
            outcomes += await self._send_one_batch(requests[start : start + size])
        return outcomes

    async def _send_one_batch(self, requests: list[OrderRequest]) -> list[BatchOutcome]:
        body = batch_body(requests)
        path = BATCH_PATHS[type(requests[0])]
        operation = WEBSOCKET_OPERATIONS[type(requests[0])] + "-batch"
        self.sent_by_websocket += 1
        reply = await self._call(path, operation, [body], len(requests))
        items = _BATCH_PAGE.decode(reply.data).items
        statuses = _BATCH_STATUS.decode(reply.ret_ext_info).items
        return [
            BatchOutcome(ack=item, ret_code=status.code, ret_message=status.msg)
            for item, status in zip(items, statuses, strict=True)
        ]

    def _rest(self) -> BybitRestApi:
        if self._fallback is None:
            raise TransportError("trade WebSocket is down and no REST fallback was given")
        self.sent_by_rest += 1
        return self._fallback

    def _timestamp_ms(self) -> int:
        if self._fallback is not None:
            return self._fallback.rest.timestamp_ms()
        return time.time_ns() // 1_000_000

    async def _call(self, path: str, operation: str, args: list[Any], count: int) -> TradeReply:
        async with self.budget.slot(path, count=count) as bucket:
            request_id = f"{self._prefix}-{next(self._request_ids)}"
            future: asyncio.Future[TradeReply] = asyncio.get_running_loop().create_future()
            self._pending[request_id] = future
            message = {
                "reqId": request_id,
                "header": {
                    "X-BAPI-TIMESTAMP": str(self._timestamp_ms()),
                    "X-BAPI-RECV-WINDOW": str(self.recv_window_ms),
                },
                "op": operation,
                "args": args,
            }
            try:
                check_send_gate(operation)  # after the slot was granted, before the write
                await self.connection.send(msgspec.json.encode(message).decode())
                reply = await asyncio.wait_for(future, self.request_timeout_s)
            except TimeoutError:
                raise RequestTimeout(
                    f"{operation} {request_id}: no answer within {self.request_timeout_s}s; "
                    "outcome unknown"
                ) from None
            except ConnectionError as error:
                raise TransportError(f"{operation} {request_id}: not sent: {error}") from None
            finally:
                self._pending.pop(request_id, None)
            limit, remaining, reset_ms = parse_limit_headers(reply.header)
            bucket.update_from_headers(limit, remaining)
        if reply.ret_code != 0:
            venue_error = error_from_ret_code(reply.ret_code, reply.ret_msg, reset_ms or 0)
            if isinstance(venue_error, RateLimited):
                bucket.block_until(venue_error.reset_timestamp_ms)
            raise venue_error
        return reply

    async def _authenticate(self) -> None:
        expires_ms = self._timestamp_ms() + 10_000
        signature = websocket_auth_signature(self._credentials.secret(), expires_ms)
        self._auth = asyncio.get_running_loop().create_future()
        message = {"op": "auth", "args": [self._credentials.api_key, expires_ms, signature]}
        await self.connection.send(msgspec.json.encode(message).decode())
        reply = await self._auth
        if reply.ret_code != 0:
            raise SessionFailed(f"auth refused: retCode {reply.ret_code} {reply.ret_msg}")

    def _dispatch(self, payload: bytes, frame: Frame, received_ns: int) -> None:
        reply = _REPLY.decode(payload)
        if reply.op == "auth":
            if self._auth is not None and not self._auth.done():
                self._auth.set_result(reply)
            return
        future = self._pending.get(reply.req_id)
        if future is None:
            log.warning("trade reply with unknown reqId %r op %r", reply.req_id, reply.op)
            return
        if not future.done():
            future.set_result(reply)

    def _on_state(self, event: ConnectionEvent) -> None:
        if isinstance(event, Disconnected):
            self._fail_pending(f"connection lost ({event.reason})")

    def _fail_pending(self, reason: str) -> None:
        for request_id, future in list(self._pending.items()):
            if not future.done():
                future.set_exception(
                    RequestTimeout(f"{request_id}: {reason} before the answer; outcome unknown")
                )
        self._pending.clear()
