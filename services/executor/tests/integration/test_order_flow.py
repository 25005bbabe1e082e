"""The executor against the simulator: targets become resting orders with the fewest venue calls,
venue events reach the EXEC stream, and its view equals the venue's."""

from __future__ import annotations

import time
from typing import Any

from mm_bybit import raw
from mm_proto import (
    CancelAllRequest,
    CtlReply,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderRejected,
    decode,
    encode,
    subjects,
)
from mm_runtime.testing import eventually


def wanted(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> set[tuple[str, int, int]]:
    return {("buy", p, s) for p, s in bids} | {("sell", p, s) for p, s in asks}


def shape(orders: set[tuple[str, str, int, int]]) -> set[tuple[str, int, int]]:
    return {(side, price, leaves) for _, side, price, leaves in orders}


def counter(service: Any, name: str, **labels: str) -> float:
    value = service._runtime.registry.get_sample_value(name, labels)
    return float(value or 0.0)


async def test_target_becomes_resting_orders_and_small_moves_are_amended(harness: Any) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    bids, asks = [(bid - 2, 5), (bid - 3, 5)], [(ask + 2, 5), (ask + 3, 5)]
    await harness.heartbeat()
    await harness.target(bids, asks)
    await eventually(
        lambda: _venue_shape_is(harness, wanted(bids, asks)), timeout=10, message="orders rest"
    )
    creates = counter(service, "mm_executor_venue_actions_total", kind="create", outcome="ok")
    assert creates == 4

    moved_bids, moved_asks = [(bid - 4, 5), (bid - 5, 5)], [(ask + 4, 7), (ask + 5, 5)]
    await harness.target(moved_bids, moved_asks)
    await eventually(lambda: _venue_shape_is(harness, wanted(moved_bids, moved_asks)), timeout=10)
    amends = counter(service, "mm_executor_venue_actions_total", kind="amend", outcome="ok")
    assert amends == 4
    assert counter(service, "mm_executor_venue_actions_total", kind="create", outcome="ok") == 4
    await eventually(lambda: _views_agree(harness), timeout=10, message="executor = venue")

    events = await eventually(lambda: _events_with(harness, OrderAmended, 4), timeout=10)
    assert {type(event) for event in events} >= {OrderAccepted, OrderAmended}


async def test_cancel_all_target_and_shutdown_leave_no_orders(harness: Any) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)])
    await eventually(lambda: _count_is(harness, 2), timeout=10)
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)], cancel_all=True)
    await eventually(lambda: _count_is(harness, 0), timeout=10)
    cancelled = await eventually(lambda: _events_with(harness, OrderCancelled, 2), timeout=10)
    assert cancelled

    await harness.target([(bid - 3, 5)], [(ask + 3, 5)])
    await eventually(lambda: _count_is(harness, 2), timeout=10)
    await harness.stop_executor(service)
    assert await harness.venue_orders() == set()


async def _venue_shape_is(harness: Any, expected: set[tuple[str, int, int]]) -> bool:
    return shape(await harness.venue_orders()) == expected


async def _count_is(harness: Any, count: int) -> bool:
    return len(await harness.venue_orders()) == count


async def _events_with(harness: Any, kind: type, count: int) -> list[Any]:
    events = await harness.stream("exec_order")
    return events if sum(isinstance(event, kind) for event in events) >= count else []


async def _views_agree(harness: Any) -> bool:
    return bool(await harness.executor_orders() == await harness.venue_orders())


async def test_order_send_and_ack_spans_continue_the_targets_trace(harness: Any) -> None:
    service = await harness.start_executor(harness.settings(telemetry={"exporter": "memory"}))
    bid, ask = await harness.touch()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)], headers=headers)
    await eventually(lambda: _count_is(harness, 2), timeout=10)
    memory = service._runtime.telemetry.memory

    def spans() -> set[str]:
        return {
            span.name
            for span in memory.get_finished_spans()
            if f"{span.context.trace_id:032x}" == trace_id
        }

    assert await eventually(lambda: {"order.send", "order.ack"} <= spans(), timeout=10)


async def test_a_target_of_an_untraced_tick_is_sent_without_spans(harness: Any) -> None:
    service = await harness.start_executor(harness.settings(telemetry={"exporter": "memory"}))
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)], ts_tick_ns=time.time_ns())
    await eventually(lambda: _count_is(harness, 2), timeout=10)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
    await harness.target([(bid - 3, 5)], [(ask + 3, 5)], headers=headers, ts_tick_ns=time.time_ns())
    memory = service._runtime.telemetry.memory

    def traced() -> list[str]:
        return [span.name for span in memory.get_finished_spans() if span.name == "order.ack"]

    await eventually(traced, timeout=10)  # the traced target's amends were acknowledged
    trace_ids = {f"{span.context.trace_id:032x}" for span in memory.get_finished_spans()}
    assert trace_ids == {trace_id}


async def test_operator_cancel_all_empties_the_book_and_a_bad_symbol_is_refused(
    harness: Any,
) -> None:
    await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)])
    await eventually(lambda: _count_is(harness, 2), timeout=10)
    subject = subjects.ctl("executor", "cancel-all")
    bad = await harness.client.request(subject, encode(CancelAllRequest(symbol="DOGEUSDT")), 5)
    refused = decode(bad.data, CtlReply)
    assert not refused.ok
    assert "DOGEUSDT" in refused.message
    good = await harness.client.request(subject, encode(CancelAllRequest()), 5)
    assert decode(good.data, CtlReply).ok
    await eventually(lambda: _count_is(harness, 0), timeout=10)
    await eventually(lambda: _views_agree(harness), timeout=10)


async def test_bad_targets_are_counted_and_dropped_without_stopping_the_executor(
    harness: Any,
) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.client.publish("order.target.bybit.linear.BTCUSDT", b"\x00not msgpack")
    await harness.target([(bid - 2, 5), (bid - 3, 0)], [(ask + 2, 5)])  # one level of size 0
    await eventually(lambda: _count_is(harness, 2), timeout=10)
    assert counter(service, "mm_executor_refused_levels_total") >= 1
    dropped = service._runtime.registry.get_sample_value(
        "mm_bus_messages_dropped_total",
        {"subscription": "order.target.bybit.linear.BTCUSDT", "reason": "undecodable"},
    )
    assert dropped == 1


async def test_orders_go_by_the_trade_websocket_and_by_rest_while_it_is_down(
    harness: Any,
) -> None:
    service = await harness.start_executor(harness.settings())
    trade = service._trade
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)])
    await eventually(lambda: _count_is(harness, 2), timeout=10)
    assert trade.sent_by_websocket >= 1
    assert trade.sent_by_rest == 0
    await trade.close()  # the socket is down and stays down
    await harness.target([(bid - 3, 5)], [(ask + 3, 5)])
    expected = {("buy", bid - 3, 5), ("sell", ask + 3, 5)}
    await eventually(lambda: _venue_shape_is(harness, expected), timeout=10)
    assert trade.sent_by_rest >= 1
    await eventually(lambda: _views_agree(harness), timeout=10)


async def test_a_create_the_venue_refuses_is_published_as_a_rejection(harness: Any) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    await harness.heartbeat()
    # 30 BTC at 10x leverage needs more margin than the 100,000 USDT account has.
    await harness.target([(bid - 2, 30_000)], [(ask + 2, 5)])
    await eventually(lambda: _count_is(harness, 1), timeout=10)
    rejected = await eventually(lambda: _events_with(harness, OrderRejected, 1), timeout=10)
    rejection = next(event for event in rejected if isinstance(event, OrderRejected))
    assert (rejection.side.value, rejection.price_ticks, rejection.size_lots) == (
        "buy",
        bid - 2,
        30_000,
    )
    assert rejection.reason.startswith("create: Bybit retCode 110007")
    assert (
        counter(service, "mm_executor_venue_actions_total", kind="create", outcome="refused") == 1
    )
    await eventually(lambda: _views_agree(harness), timeout=10)


async def test_venue_pushes_it_cannot_convert_are_counted_and_dropped(harness: Any) -> None:

    service = await harness.start_executor(harness.settings())
    feed = service._feed
    off_grid = raw.Order(
        symbol="BTCUSDT",
        order_id="x1",
        order_link_id="mm-0-x-1",
        side="Buy",
        price="60000.05",  # off the 0.10 tick grid
        qty="0.005",
        order_status="New",
    )
    bad_side = raw.Order(symbol="BTCUSDT", order_id="x2", side="Up", order_status="New")
    other_symbol = raw.Order(symbol="XRPUSDT", order_id="x3", side="Buy", order_status="New")
    bad_fill = raw.Execution(
        symbol="BTCUSDT",
        order_id="x1",
        side="Buy",
        exec_id="e1",
        exec_price="1.05",
        exec_qty="0.001",
        exec_time="1",
    )
    feed.on_orders([off_grid, bad_side, other_symbol])
    feed.on_fills([bad_fill])
    await eventually(lambda: feed.queue.empty(), timeout=5)
    await feed.queue.join()
    assert (
        counter(service, "mm_executor_dropped_total", source="order", reason="unconvertible") == 2
    )
    assert counter(service, "mm_executor_dropped_total", source="order", reason="other_symbol") == 1
    assert counter(service, "mm_executor_dropped_total", source="fill", reason="unconvertible") == 1
    assert service.own_orders["BTCUSDT"].orders == {}
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)])
    await eventually(lambda: _count_is(harness, 2), timeout=10)
