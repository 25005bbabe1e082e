"""The executor's `ctl.executor.status` answer: each symbol's orders as the executor holds them."""

from __future__ import annotations

import json
from collections.abc import Mapping

from executor.own_orders import OwnOrders


def describe_orders(own_orders: Mapping[str, OwnOrders]) -> dict[str, str]:
    """`orders.<symbol>` -> JSON list of [client_order_id, side, price_ticks, size_lots,
    filled_lots, state], sorted by client id."""
    data: dict[str, str] = {}
    for symbol, own in own_orders.items():
        rows = [
            [
                order.client_order_id,
                order.side.value,
                order.price_ticks,
                order.size_lots,
                order.filled_lots,
                order.state.value,
            ]
            for order in sorted(own.orders.values(), key=lambda item: item.client_order_id)
        ]
        data[f"orders.{symbol}"] = json.dumps(rows)
    return data
