"""The executor's `ctl.executor.status` answer: each symbol's orders as the executor holds them."""

from __future__ import annotations

import json

from executor.order_book_state import OrderBookState


def describe_orders(states: dict[str, OrderBookState]) -> dict[str, str]:
    """`orders.<symbol>` -> JSON list of [client_order_id, side, price_ticks, size_lots,
    filled_lots, state], sorted by client id."""
    data: dict[str, str] = {}
    for symbol, state in states.items():
        rows = [
            [
                order.client_order_id,
                order.side.value,
                order.price_ticks,
                order.size_lots,
                order.filled_lots,
                order.state.value,
            ]
            for order in sorted(state.orders.values(), key=lambda item: item.client_order_id)
        ]
        data[f"orders.{symbol}"] = json.dumps(rows)
    return data
