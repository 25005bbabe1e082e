"""The venue's REST endpoints as typed methods returning raw venue types (see `convert`)."""

from __future__ import annotations

from typing import TypeVar

import msgspec

from mm_bybit.errors import error_from_ret_code
from mm_bybit.order_requests import (
    BATCH_PATHS,
    OPERATION_PATHS,
    OrderRequest,
    batch_body,
    validate_target,
)
from mm_bybit.raw import (
    BatchItem,
    BatchStatusList,
    Execution,
    FeeRate,
    Instrument,
    Order,
    OrderAck,
    OrderbookSnapshot,
    Page,
    Position,
    RecentTrade,
    Wallet,
    decoder,
)
from mm_bybit.rest import RestClient
from mm_bybit.signing import QueryValue

Item = TypeVar("Item")

_BATCH_STATUS = decoder(BatchStatusList)
_MAX_PAGES = 1000
QUERY_WINDOW_MS = 7 * 24 * 3600 * 1000  # the widest startTime..endTime span Bybit answers


class BatchOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """One item of a batch answer: the ack, or the error the venue gave that item alone."""

    ack: BatchItem
    ret_code: int
    ret_message: str

    @property
    def ok(self) -> bool:
        return self.ret_code == 0

    def error(self) -> Exception | None:
        """The typed exception for a failed item, or None."""
        return None if self.ok else error_from_ret_code(self.ret_code, self.ret_message)


class BybitRestApi:
    """Typed access to the endpoints the gateway and executor use."""

    def __init__(self, rest: RestClient) -> None:
        self.rest = rest

    async def send_order(self, request: OrderRequest) -> OrderAck:
        """Create, amend or cancel one order; the ack is not the outcome (see the order stream)."""
        validate_target(request)
        return await self.rest.post_result(OPERATION_PATHS[type(request)], request, OrderAck)

    async def send_batch(self, requests: list[OrderRequest]) -> list[BatchOutcome]:
        """Send a batch; each item succeeds or fails on its own while retCode is 0. A batch
        larger than the endpoint's quota can grant at once goes as several, in order."""
        size = self.rest.budget.batch_size(BATCH_PATHS[type(requests[0])])
        outcomes: list[BatchOutcome] = []
        for start in range(0, len(requests), size):
            outcomes += await self._send_one_batch(requests[start : start + size])
        return outcomes

    async def _send_one_batch(self, requests: list[OrderRequest]) -> list[BatchOutcome]:
        body = batch_body(requests)
        path = BATCH_PATHS[type(requests[0])]
        response = await self.rest.post(path, body, count=len(requests))
        page = msgspec.json.decode(response.envelope.result, type=Page[BatchItem], strict=False)
        statuses = _BATCH_STATUS.decode(response.envelope.ret_ext_info).items
        if len(page.items) != len(requests) or len(statuses) != len(requests):
            raise ValueError(
                f"{path}: expected {len(requests)} results and statuses, received "
                f"{len(page.items)} and {len(statuses)}"
            )
        return [
            BatchOutcome(ack=item, ret_code=status.code, ret_message=status.msg)
            for item, status in zip(page.items, statuses, strict=True)
        ]

    async def cancel_all(self, category: str, symbol: str | None = None) -> list[OrderAck]:
        """Cancel every open order of `symbol` (or the category's settle coin USDT if none)."""
        body: dict[str, str] = {"category": category}
        if symbol is not None:
            body["symbol"] = symbol
        elif category in ("linear", "inverse"):
            body["settleCoin"] = "USDT"
        page = await self.rest.post_result("/v5/order/cancel-all", body, Page[OrderAck])
        return page.items

    async def open_orders(self, category: str, symbol: str | None = None) -> list[Order]:
        """Every open order (all pages), newest first."""
        params = _scope(category, symbol, limit=50)
        return await self._all_pages("/v5/order/realtime", params, Page[Order])

    async def closed_orders(self, category: str, symbol: str | None = None) -> list[Order]:
        """Recently closed orders (up to 500 per category; cleared when the venue restarts)."""
        params = _scope(category, symbol, limit=50)
        params["openOnly"] = 1
        return await self._all_pages("/v5/order/realtime", params, Page[Order])

    async def order_history(self, category: str, start_time_ms: int) -> list[Order]:
        """Every order created from `start_time_ms` (within 7 days), open or closed, newest
        first: `createdTime` is when it reached the book, `updatedTime` of a closed one when it
        left."""
        params = _scope(category, None, limit=50)
        params["startTime"] = start_time_ms
        return await self._all_pages("/v5/order/history", params, Page[Order])

    async def order(self, category: str, symbol: str, order_link_id: str) -> Order | None:
        """One order by client id, open or recently closed; None if the venue does not know it."""
        params = {"category": category, "symbol": symbol, "orderLinkId": order_link_id}
        page = await self.rest.get_result("/v5/order/realtime", params, Page[Order])
        return page.items[0] if page.items else None

    async def executions(
        self,
        category: str,
        symbol: str | None = None,
        start_time_ms: int | None = None,
        order_id: str | None = None,
        exec_type: str | None = None,
    ) -> list[Execution]:
        """Executions (all pages) from `start_time_ms` to now, newest first; funding rows
        included unless `exec_type` names one type.

        Bybit answers at most 7 days per request (only `startTime` means start + 7 days), so a
        longer span is asked for window by window, each with both ends.
        """
        params = _scope(category, symbol, limit=100)
        params |= {"orderId": order_id, "execType": exec_type}
        if start_time_ms is None:
            return await self._all_pages("/v5/execution/list", params, Page[Execution])
        items: list[Execution] = []
        for start, end in reversed(_windows(start_time_ms, self.rest.timestamp_ms())):
            window = params | {"startTime": start, "endTime": end}
            items += await self._all_pages("/v5/execution/list", window, Page[Execution])
        return items

    async def positions(self, category: str, symbol: str | None = None) -> list[Position]:
        """Positions of `symbol`, or every non-zero position in the category's settle coin."""
        params = _scope(category, symbol, limit=200)
        return await self._all_pages("/v5/position/list", params, Page[Position])

    async def wallet_balance(self, account_type: str = "UNIFIED") -> list[Wallet]:
        """The wallet of the account type."""
        params = {"accountType": account_type}
        page = await self.rest.get_result("/v5/account/wallet-balance", params, Page[Wallet])
        return page.items

    async def fee_rates(self, category: str, symbol: str | None = None) -> list[FeeRate]:
        """The account's own maker/taker rates (5/s: load at start and cache)."""
        params = {"category": category, "symbol": symbol}
        page = await self.rest.get_result("/v5/account/fee-rate", params, Page[FeeRate])
        return page.items

    async def instruments(self, category: str, symbol: str | None = None) -> list[Instrument]:
        """Instrument definitions (all pages; linear has more than one)."""
        params: dict[str, QueryValue] = {"category": category, "symbol": symbol}
        if category != "spot":
            params["limit"] = 1000
        return await self._all_pages(
            "/v5/market/instruments-info", params, Page[Instrument], signed=False
        )

    async def orderbook(self, category: str, symbol: str, limit: int = 1000) -> OrderbookSnapshot:
        """The REST book (for resync: its `u` lines up with the depth-1000 stream)."""
        params: dict[str, QueryValue] = {"category": category, "symbol": symbol, "limit": limit}
        return await self.rest.get_result(
            "/v5/market/orderbook", params, OrderbookSnapshot, signed=False
        )

    async def recent_trades(self, category: str, symbol: str, limit: int = 60) -> list[RecentTrade]:
        """The latest public trades, newest first."""
        params: dict[str, QueryValue] = {"category": category, "symbol": symbol, "limit": limit}
        page = await self.rest.get_result(
            "/v5/market/recent-trade", params, Page[RecentTrade], signed=False
        )
        return page.items

    async def set_disconnect_cancel_window(
        self, time_window_s: int, product: str = "DERIVATIVES"
    ) -> None:
        """Arm disconnect-cancel-all (DCP): the venue cancels all orders `time_window_s` after
        every dcp-subscribed connection is gone."""
        if not 3 <= time_window_s <= 300:
            raise ValueError(f"time_window_s must be 3..300, was {time_window_s}")
        body = {"product": product, "timeWindow": time_window_s}
        await self.rest.post("/v5/order/disconnected-cancel-all", body)

    async def _all_pages(
        self,
        path: str,
        params: dict[str, QueryValue],
        page_type: type[Page[Item]],
        signed: bool = True,
    ) -> list[Item]:
        items: list[Item] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            page_params = {**params, "cursor": cursor or None}
            page = await self.rest.get_result(path, page_params, page_type, signed=signed)
            items.extend(page.items)
            if not page.next_page_cursor or not page.items or page.next_page_cursor == cursor:
                return items
            cursor = page.next_page_cursor
        raise ValueError(f"{path}: expected the cursor to run out within {_MAX_PAGES} pages")


def _windows(start_ms: int, end_ms: int) -> list[tuple[int, int]]:
    """[start, end] cut into the at-most-7-day spans Bybit's list endpoints accept, oldest first."""
    windows = []
    while True:
        stop = min(start_ms + QUERY_WINDOW_MS, end_ms)
        windows.append((start_ms, max(stop, start_ms)))
        if stop >= end_ms:
            return windows
        start_ms = stop + 1


def _scope(category: str, symbol: str | None, limit: int) -> dict[str, QueryValue]:
    """Linear and inverse need a symbol or a settle coin; default to USDT for the latter."""
    params: dict[str, QueryValue] = {"category": category, "limit": limit}
    if symbol is not None:
        params["symbol"] = symbol
    elif category in ("linear", "inverse"):
        params["settleCoin"] = "USDT"
    return params
