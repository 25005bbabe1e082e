"""Against the real simulator: fills cross a private-stream disconnect exactly once each."""

import asyncio
from collections.abc import Awaitable, Callable

from mm_bybit.api import BybitRestApi
from mm_bybit.backoff import Backoff
from mm_bybit.connection_events import ConnectionEvent, Disconnected, Subscribed
from mm_bybit.convert import fill_from_execution, order_event_from_order
from mm_bybit.credentials import ApiCredentials
from mm_bybit.instruments import load_instruments
from mm_bybit.order_requests import CancelOrder, CreateOrder
from mm_bybit.raw import Execution, Order
from mm_bybit.ws_private import PrivateHandlers, PrivateStream
from mm_proto import OrderFilled
from mm_runtime.testing.waiting import eventually
from mm_sim.testing import SimulatorHandle


def last_states(orders: list[Order]) -> dict[str, str]:
    return {order.order_link_id: order.order_status for order in orders}


def resting_buy(link_id: str) -> CreateOrder:
    return CreateOrder(
        category="linear", symbol="BTCUSDT", side="Buy", order_type="Limit", qty="0.001",
        price="50000.0", time_in_force="PostOnly", order_link_id=link_id,
    )  # fmt: skip


async def test_no_fill_is_missed_or_counted_twice_across_a_disconnect(
    sim: SimulatorHandle,
    api: BybitRestApi,
    credentials: ApiCredentials,
    make_fill: Callable[[str, bool], Awaitable[None]],
) -> None:
    fills: list[Execution] = []
    orders: list[Order] = []
    events: list[ConnectionEvent] = []
    stream = PrivateStream(
        sim.ws_private_url,
        credentials,
        PrivateHandlers(on_fills=fills.extend, on_orders=orders.extend),
        catch_up=api,
        on_state=events.append,
        # A two-second pause before reconnecting leaves room to trade while the stream is away.
        backoff=Backoff(base_s=2.0, rng=lambda: 1.0),
    )
    stream.start()
    try:
        await eventually(lambda: any(isinstance(e, Subscribed) for e in events), timeout=5.0)
        for n in range(3):
            await make_fill(f"before-{n}", n % 2 == 0)
        await eventually(lambda: len(fills) == 3, timeout=5.0, message="fills while connected")

        await sim.admin.drop_connections("private")
        await eventually(lambda: any(isinstance(e, Disconnected) for e in events), timeout=5.0)
        for n in range(3):
            await make_fill(f"during-{n}", n % 2 == 1)
        assert not stream.connection.connected, "the gap fills must happen while disconnected"

        await eventually(lambda: len(fills) == 6, timeout=10.0, message="caught-up fills")
        for n in range(2):
            await make_fill(f"after-{n}", n % 2 == 0)
        await eventually(lambda: len(fills) == 8, timeout=5.0, message="fills after reconnect")
        await asyncio.sleep(0.2)  # a late duplicate would land here; none may
    finally:
        await stream.close()

    record = await sim.admin.executions(1001)
    venue_ids = [row["execId"] for row in record["list"] if row["execType"] == "Trade"]
    received_ids = [fill.exec_id for fill in fills]
    assert len(received_ids) == len(set(received_ids)), "an execution was counted twice"
    assert sorted(received_ids) == sorted(venue_ids), "received fills differ from the venue's"
    assert {f.order_link_id for f in fills} >= {f"during-{n}" for n in range(3)}
    assert stream.fills.duplicates >= 3, "catch-up re-read the earlier fills and dropped them"

    await assert_fills_and_orders_convert(api, fills, orders)


async def assert_fills_and_orders_convert(
    api: BybitRestApi, fills: list[Execution], orders: list[Order]
) -> None:
    instrument = (await load_instruments(api, "linear", ["BTCUSDT"]))["BTCUSDT"]
    converted = [fill_from_execution(fill, instrument, 0) for fill in fills]
    assert all(f.size_lots == 1 and f.is_maker for f in converted)
    assert all(f.fee.startswith("0.0") for f in converted)
    filled = [order_event_from_order(order, instrument) for order in orders]
    assert {e.client_order_id for e in filled if isinstance(e, OrderFilled) and not e.partial} >= {
        f"after-{n}" for n in range(2)
    }


async def test_order_changes_while_disconnected_arrive_and_never_go_backwards(
    sim: SimulatorHandle, api: BybitRestApi, credentials: ApiCredentials
) -> None:
    orders: list[Order] = []
    events: list[ConnectionEvent] = []
    stream = PrivateStream(
        sim.ws_private_url, credentials, PrivateHandlers(on_orders=orders.extend),
        catch_up=api, on_state=events.append, backoff=Backoff(base_s=2.0, rng=lambda: 1.0),
    )  # fmt: skip
    stream.start()
    try:
        await eventually(lambda: any(isinstance(e, Subscribed) for e in events), timeout=5.0)
        await api.send_order(resting_buy("kept"))
        await api.send_order(resting_buy("gone"))
        await eventually(lambda: {o.order_link_id for o in orders} == {"kept", "gone"})
        await sim.admin.drop_connections("private")
        await eventually(lambda: any(isinstance(e, Disconnected) for e in events), timeout=5.0)
        cancel = CancelOrder(category="linear", symbol="BTCUSDT", order_link_id="gone")
        await api.send_order(cancel)
        await api.send_order(resting_buy("new"))
        assert not stream.connection.connected, "the changes must happen while disconnected"
        expected = {"kept": "New", "gone": "Cancelled", "new": "New"}
        await eventually(lambda: last_states(orders) == expected, timeout=10.0)
        # Subscribed comes before the REST catch-up; connected only once it is done.
        await eventually(lambda: stream.connection.connected, timeout=5.0)
    finally:
        await stream.close()
    # The catch-up also re-read "kept" as New: an old state, so it was held back, not repeated.
    assert [o.order_link_id for o in orders].count("kept") == 1
    assert stream.order_updates.stale >= 1
