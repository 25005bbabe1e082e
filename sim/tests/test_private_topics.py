"""The engine's private records: every topic by default, only the named ones when an embedding
(the backtest) says which it reads; and the price band follows the mark it is computed from."""

from __future__ import annotations

from typing import Any

from mm_sim.events import Event, PrivateRecords
from mm_sim.exchange import Exchange
from mm_sim.order_changes import OrderChanges
from mm_sim.order_entry import OrderEntry
from mm_sim.price_band import PriceBands
from mm_sim.settings import MarketModelConfig, SimSettings


class _Clock:
    def now_ms(self) -> int:
        return 1_700_000_000_000


def _exchange() -> tuple[Exchange, OrderEntry, list[str]]:
    exchange = Exchange(SimSettings(market=MarketModelConfig(auto_step=False)), _Clock())
    topics: list[str] = []

    def on_event(event: Event) -> None:
        if isinstance(event, PrivateRecords):
            topics.append(event.topic)

    exchange.listeners.append(on_event)
    return exchange, OrderEntry(exchange), topics


def _resting_buy(exchange: Exchange, entry: OrderEntry, link_id: str) -> dict[str, Any]:
    key = next(key for key in exchange.symbols if key[0] == "linear")
    state = exchange.symbols[key]
    best_bid = state.model.best_prices()[0]
    uid = next(iter(exchange.accounts))
    params = {
        "category": "linear",
        "symbol": key[1],
        "side": "Buy",
        "orderType": "Limit",
        "timeInForce": "PostOnly",
        "qty": state.instrument.qty_text(
            int(state.instrument.config.min_order_qty / state.instrument.qty_step)
        ),
        "price": state.instrument.price_text(best_bid - 10),
        "orderLinkId": link_id,
    }
    entry.create(uid, params)
    return params | {"uid": uid}


def test_every_private_topic_is_built_unless_the_embedding_names_some() -> None:
    exchange, entry, topics = _exchange()
    _resting_buy(exchange, entry, "all-topics")
    assert "order" in topics
    assert "position" in topics

    exchange, entry, topics = _exchange()
    exchange.private_topics = frozenset({"order", "execution"})
    _resting_buy(exchange, entry, "orders-only")
    assert topics == ["order"]


def test_the_price_band_follows_the_mark_and_an_amend_is_clamped_to_the_current_one() -> None:
    exchange, entry, _topics = _exchange()
    placed = _resting_buy(exchange, entry, "banded")
    key = ("linear", placed["symbol"])
    state = exchange.symbols[key]
    seen = {entry.bands.bounds(state)}
    for _ in range(200):
        exchange.step_symbol(key)
        bounds = entry.bands.bounds(state)
        assert bounds == PriceBands(exchange).bounds(state)  # as computed afresh at this mark
        seen.add(bounds)
    assert len(seen) > 1  # the mark moved the band
    highest = entry.bands.bounds(state)[1]
    OrderChanges(entry).amend(
        placed["uid"],
        {
            "category": "linear",
            "symbol": placed["symbol"],
            "orderLinkId": "banded",
            "price": state.instrument.price_text(highest + 1_000),
        },
    )
    order = exchange.accounts[placed["uid"]].find("", "banded")
    assert order is not None
    assert order.price_ticks == highest
