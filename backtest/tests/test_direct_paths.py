"""The backtest's shortcuts give what the paths they stand in for give.

Order pushes: `mm_backtest.pushes.order_event` of an order equals the live conversion of the
order's Bybit record (`mm_bybit.convert.order_event_from_order`), in every state. Amends and
cancels: a `Change` handed to the venue leaves the venue, and the refusal text, exactly as the
request body the executor writes would have. Frames: decoded to what `json.loads` gives, or
refused where it refuses.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import msgspec
import pytest

from mm_backtest import grids
from mm_backtest.desk import Change
from mm_backtest.params import parse_params
from mm_backtest.pushes import EVENT, BacktestExchange, convertible, order_event
from mm_backtest.source import SourceStats, parse_frame
from mm_backtest.venue import UID, Venue, VirtualClock
from mm_bybit import raw
from mm_bybit.convert import order_event_from_order
from mm_bybit.order_requests import amend_request, cancel_request
from mm_sim.instruments import Instrument
from mm_sim.orders import Order

START_NS = 1_767_225_600_000_000_000
STATES = [
    ("New", "UNKNOWN", "EC_NoError", 0),
    ("PartiallyFilled", "UNKNOWN", "EC_NoError", 3),
    ("Filled", "UNKNOWN", "EC_NoError", 10),
    ("Cancelled", "CancelByUser", "EC_PerCancelRequest", 0),
    ("Cancelled", "UNKNOWN", "EC_PostOnlyWillTakeLiquidity", 0),
    ("Cancelled", "", "", 0),
    ("PartiallyFilledCanceled", "CancelByUser", "EC_PerCancelRequest", 4),
    ("Deactivated", "CancelByDCP", "EC_NoError", 0),
    ("Rejected", "CancelByUser", "EC_NoError", 0),
    ("Rejected", "UNKNOWN", "EC_InvalidSymbolStatus", 0),
]


def _venue(document: dict[str, Any]) -> Venue:
    params = parse_params(document)
    venue = Venue(params, VirtualClock(START_NS))
    for symbol in ("BTCUSDT", "ETHUSDT"):
        market = venue.markets[symbol][1]
        mid = venue.state(symbol).model.best_prices()
        market.levels = (True, [(mid[0] or 600_000, 50)], [((mid[1] or 600_010), 50)])
        venue.exchange.step_symbol(venue.markets[symbol][0])
    venue.drain()
    return venue


@pytest.mark.parametrize(("status", "cancel_type", "reject_reason", "cum_lots"), STATES)
@pytest.mark.parametrize("updated_ms", [0, 1_767_225_600_123])
def test_an_order_push_converts_as_the_live_conversion_of_its_record(
    document: dict[str, Any],
    status: str,
    cancel_type: str,
    reject_reason: str,
    cum_lots: int,
    updated_ms: int,
) -> None:
    config = parse_params(document).instruments[0]
    grid = grids.definition(config)
    for side, price in itertools.product(("Buy", "Sell"), (0, 1, 650_001)):
        order = Order(
            order_id="venue-1",
            order_link_id="bt-0-1",
            uid=UID,
            instrument=Instrument(config),
            side=side,
            order_type="Limit",
            time_in_force="PostOnly",
            price_ticks=price,
            qty_lots=10,
            created_ms=1_767_225_600_001,
            updated_ms=updated_ms,
            status=status,
            cancel_type=cancel_type,
            reject_reason=reject_reason,
            cum_lots=cum_lots,
        )
        live = order_event_from_order(msgspec.convert(order.record(), raw.Order), grid)
        assert convertible(order)
        assert order_event(order, grid) == live
        assert type(order_event(order, grid)) is type(live)


def test_orders_the_direct_conversion_does_not_cover_go_as_the_full_record(
    document: dict[str, Any],
) -> None:
    venue = _venue(document)
    state = venue.state("BTCUSDT")
    order = Order("v", "bt-1", UID, state.instrument, "Buy", "Limit", "PostOnly", 1, 1, 1)
    order.status = "Untriggered"
    assert not convertible(order)
    assert venue.exchange.order_record(order) == order.record()
    order.status = "New"
    assert venue.exchange.order_record(order)[EVENT] is not None


def _create(venue: Venue, cid: str, price: int, lots: int = 10, side: str = "Buy") -> None:
    state = venue.state("BTCUSDT")
    body = {
        "category": "linear",
        "symbol": "BTCUSDT",
        "side": side,
        "orderType": "Limit",
        "qty": state.instrument.qty_text(lots),
        "price": state.instrument.price_text(price),
        "timeInForce": "PostOnly",
        "orderLinkId": cid,
    }
    assert venue.request("create", cid, body) == ""
    venue.drain()


def _body(venue: Venue, verb: str, cid: str, change: Change) -> dict[str, Any]:
    grid = venue.grids[change.symbol]
    if verb == "cancel":
        return dict(msgspec.to_builtins(cancel_request(grid, client_order_id=cid)))
    amend = amend_request(grid, cid, price_ticks=change.price_ticks, size_lots=change.size_lots)
    return dict(msgspec.to_builtins(amend))


def _outcome(venue: Venue) -> list[Any]:
    """What a request left behind: the venue's records (ids aside) and its book."""
    book = venue.state("BTCUSDT").book
    records = []
    for batch in venue.drain():
        for record in batch.records:
            event = record.get(EVENT)
            records.append(event if event is not None else record)
    ours = {
        price: [(o.order_link_id, o.resting_lots, o.queue_ahead_lots) for o in orders]
        for price, orders in book.our_bids.items()
    }
    return [records, ours, dict(book.bids), dict(book.asks)]


@pytest.mark.parametrize(
    ("verb", "cid", "change"),
    [
        ("amend", "bt-1", Change("BTCUSDT", 599_990, None)),  # a new price
        ("amend", "bt-1", Change("BTCUSDT", None, 5)),  # smaller: keeps its place
        ("amend", "bt-1", Change("BTCUSDT", 599_995, 20)),
        ("amend", "bt-1", Change("BTCUSDT", 600_000, None)),  # unchanged: refused
        ("amend", "bt-1", Change("BTCUSDT", 700_000, None)),  # crosses: post-only kill
        ("amend", "bt-1", Change("BTCUSDT", 900_000, None)),  # beyond the band: clamped
        ("amend", "bt-1", Change("BTCUSDT", None, 0)),  # below the minimum: the body path
        ("amend", "bt-1", Change("BTCUSDT", 0, None)),  # price 0: the body path
        ("amend", "bt-1", Change("BTCUSDT", None, 10**12)),  # above the maximum
        ("amend", "bt-9", Change("BTCUSDT", 599_990, None)),  # unknown order
        ("cancel", "bt-1", Change("BTCUSDT")),
        ("cancel", "bt-9", Change("BTCUSDT")),
    ],
)
def test_a_change_does_at_the_venue_what_its_request_body_does(
    document: dict[str, Any], verb: str, cid: str, change: Change
) -> None:
    outcomes = []
    for direct in (True, False):
        venue = _venue(document)
        _create(venue, "bt-1", 600_000)
        request = change if direct else _body(venue, verb, cid, change)
        reason = venue.request(verb, cid, request)
        outcomes.append([reason, *_outcome(venue)])
    direct_outcome, body_outcome = outcomes
    assert direct_outcome[0] == body_outcome[0]
    assert direct_outcome[2:] == body_outcome[2:]
    # The pushes: the same events (the body path's records converted the live way).
    grid = grids.definition(parse_params(document).instruments[0])
    live = [
        r
        if not isinstance(r, dict)
        else order_event_from_order(msgspec.convert(r, raw.Order), grid)
        for r in body_outcome[1]
    ]
    assert direct_outcome[1] == live


def test_a_second_cancel_of_one_order_is_refused_as_the_venue_refuses_it(
    document: dict[str, Any],
) -> None:
    venue = _venue(document)
    _create(venue, "bt-1", 600_000)
    assert venue.request("cancel", "bt-1", Change("BTCUSDT")) == ""
    assert venue.request("cancel", "bt-1", Change("BTCUSDT")) == (
        "110001: order not exists or too late to cancel"
    )


@pytest.mark.parametrize(
    "text",
    [
        b'{"topic": "orderbook.50.X", "n": 123456789012345678901234567890, "f": -0.0}',
        b'{"topic": "orderbook.50.X", "f": 1e400, "g": NaN}',  # json.loads takes these
        b'{"topic": "orderbook.50.X", "s": "\xed\xa0\x80"}',  # an encoded lone surrogate
        b'\xef\xbb\xbf{"topic": "orderbook.50.X"}',  # a byte-order mark
        b'{"topic": "orderbook.50.X", "a": 1, "a": 2}',
        b'{"topic": "orderbook.50.X", "s": "x\ty"}',  # a raw tab: not JSON
        b'{"topic": "orderbook.50.X"} x',
        b'{"topic": "orderbook.50.X", "s": "\xff"}',
    ],
)
def test_a_frame_decodes_to_what_json_loads_gives_or_is_refused_as_it_refuses(
    text: bytes,
) -> None:
    stats = SourceStats()
    frame = parse_frame(text, stats, 1)
    try:
        expected = json.loads(text)
    except ValueError:
        assert frame is None
        assert stats.skipped == {"not_json": 1}
        return
    assert frame is not None
    assert repr(frame.message) == repr(expected)


def test_a_grid_that_differs_from_the_venues_keeps_the_full_record(
    document: dict[str, Any],
) -> None:
    params = parse_params(document)
    grid = grids.definition(params.instruments[0])
    coarser = msgspec.structs.replace(grid, tick_size="1")
    venue = _venue(document)
    settings = venue.exchange.settings
    exchange = BacktestExchange(settings, venue.clock, {grid.symbol: coarser})
    assert exchange.grids == {}
    state = venue.state(grid.symbol)
    order = Order("v", "bt-1", UID, state.instrument, "Buy", "Limit", "PostOnly", 10, 10, 1)
    assert exchange.order_record(order) == order.record()
    assert BacktestExchange(settings, venue.clock, {grid.symbol: grid}).grids == {grid.symbol: grid}
