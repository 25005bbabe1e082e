"""Failures against the simulator: timeouts after the venue acted, risk going silent, restarts
with orders resting, private-stream drops while fills happen."""

from __future__ import annotations

import json
from typing import Any

from mm_bybit.order_requests import CreateOrder
from mm_proto import (
    ConfigGetRequest,
    ConfigSetRequest,
    CtlReply,
    OrderCancelled,
    decode,
    encode,
    subjects,
)
from mm_runtime.jetstream import ensure_layout
from mm_runtime.testing import eventually


def counter(service: Any, name: str, **labels: str) -> float:
    value = service._runtime.registry.get_sample_value(name, labels)
    return float(value or 0.0)


def shape(orders: set[tuple[str, str, int, int]]) -> set[tuple[str, int, int]]:
    return {(side, price, leaves) for _, side, price, leaves in orders}


async def _views_agree(harness: Any) -> bool:
    return bool(await harness.executor_orders() == await harness.venue_orders())


async def test_rest_timeouts_after_the_venue_acted_never_make_duplicate_orders(
    harness: Any,
) -> None:
    settings = harness.settings(
        venue={"use_trade_websocket": False, "read_timeout_s": 0.3},
        unconfirmed_query_after_s=0.5,
    )
    service = await harness.start_executor(settings)
    bid, ask = await harness.touch()
    bids = [(bid - 2 - level, 5) for level in range(3)]
    asks = [(ask + 2 + level, 5) for level in range(3)]
    # Every REST answer now comes after the client gave up; the venue still acts on each.
    await harness.sim.admin.set_faults({"rest_delay_ms": 700})
    await harness.heartbeat()
    await harness.target(bids, asks)
    await eventually(
        lambda: (
            counter(
                service, "mm_executor_venue_actions_total", kind="create", outcome="unknown_outcome"
            )
            > 0
        ),
        timeout=15,
    )
    await harness.target(bids, asks)  # the same target again while outcomes are unknown
    await harness.sim.admin.set_faults({"rest_delay_ms": 0})
    await harness.target(bids, asks)
    expected = {("buy", p, s) for p, s in bids} | {("sell", p, s) for p, s in asks}
    await eventually(lambda: _shape_is(harness, expected), timeout=15, message="six orders")
    venue = await harness.venue_orders()
    assert len(venue) == 6
    assert len({link_id for link_id, *_ in venue}) == 6
    await eventually(lambda: _views_agree(harness), timeout=10)
    refused = counter(
        service, "mm_executor_venue_actions_total", kind="create", outcome="duplicate_refused"
    )
    retried = counter(service, "mm_executor_venue_actions_total", kind="create", outcome="retried")
    assert refused + retried > 0


async def _shape_is(harness: Any, expected: set[tuple[str, int, int]]) -> bool:
    return shape(await harness.venue_orders()) == expected


async def test_watchdog_cancels_everything_when_risk_goes_silent(harness: Any) -> None:
    service = await harness.start_executor(harness.settings(watchdog_timeout_s=1.0))
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 2, 5), (bid - 3, 5)], [(ask + 2, 5)])
    await eventually(lambda: _count_is(harness, 3), timeout=10)
    # No more heartbeats or targets: after one second every order goes.
    await eventually(lambda: _count_is(harness, 0), timeout=10, message="watchdog cancels")
    assert counter(service, "mm_executor_watchdog_trips_total") == 1
    await eventually(lambda: _views_agree(harness), timeout=10)
    # Risk is back: targets are acted on again.
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)])
    await eventually(lambda: _count_is(harness, 2), timeout=10)


async def _count_is(harness: Any, count: int) -> bool:
    return len(await harness.venue_orders()) == count


async def test_restart_adopts_resting_orders_cancels_foreign_ones_and_amends_in_place(
    harness: Any,
) -> None:
    first = await harness.start_executor(harness.settings(cancel_on_shutdown=False))
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 2, 5), (bid - 3, 5)], [(ask + 2, 5)])
    await eventually(lambda: _count_is(harness, 3), timeout=10)
    await harness.stop_executor(first)
    resting = await harness.venue_orders()
    assert len(resting) == 3
    await harness.api.send_order(
        CreateOrder(
            category="linear",
            symbol="BTCUSDT",
            side="Buy",
            order_type="Limit",
            qty="0.005",
            price=f"{(bid - 20) / 10:.1f}",
            time_in_force="PostOnly",
            order_link_id="manual-1",
        )
    )
    second = await harness.start_executor(harness.settings())
    await eventually(lambda: _venue_is(harness, resting), timeout=10, message="foreign cancelled")
    assert await harness.executor_orders() == resting
    assert counter(second, "mm_executor_reconciliations_total", change="adopted") == 3
    assert counter(second, "mm_executor_reconciliations_total", change="foreign_cancelled") == 1
    await harness.heartbeat()
    await harness.target([(bid - 4, 5), (bid - 5, 5)], [(ask + 4, 5)])
    expected = {("buy", bid - 4, 5), ("buy", bid - 5, 5), ("sell", ask + 4, 5)}
    await eventually(lambda: _shape_is(harness, expected), timeout=10)
    assert counter(second, "mm_executor_venue_actions_total", kind="create", outcome="ok") == 0
    assert counter(second, "mm_executor_venue_actions_total", kind="amend", outcome="ok") == 3


async def _venue_is(harness: Any, expected: set[tuple[str, str, int, int]]) -> bool:
    return bool(await harness.venue_orders() == expected)


async def test_fills_during_a_private_stream_drop_reach_the_stream_exactly_once(
    harness: Any,
) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 1, 5)], [(ask + 1, 5)])
    await eventually(lambda: _count_is(harness, 2), timeout=10)
    await harness.sim.admin.set_faults({"private_silence": True})
    await harness.sim.admin.trade("BTCUSDT", "Sell", "2")
    await harness.sim.admin.trade("BTCUSDT", "Buy", "2")
    await harness.sim.admin.drop_connections("private")
    await harness.sim.admin.set_faults({"private_silence": False})
    venue_fills = await _venue_fill_ids(harness)
    assert len(venue_fills) >= 2
    await eventually(lambda: _stream_fill_ids_are(harness, venue_fills), timeout=15)
    await eventually(lambda: service.synced.is_set(), timeout=10)
    await harness.heartbeat()
    await harness.target([(bid - 1, 5)], [(ask + 1, 5)])
    await eventually(lambda: _views_agree(harness), timeout=10)
    positions = await harness.stream("exec_position")
    venue_position = (await harness.api.positions("linear", "BTCUSDT"))[0]
    assert positions[-1].size_lots == _signed_lots(venue_position)


async def _venue_fill_ids(harness: Any) -> list[str]:
    records = (await harness.sim.admin.executions(1001))["list"]
    return [record["execId"] for record in records if record.get("execType", "Trade") == "Trade"]


async def _stream_fill_ids_are(harness: Any, expected: list[str]) -> bool:
    fills = await harness.stream("exec_fill")
    ids = [fill.fill_id for fill in fills]
    return len(ids) == len(set(ids)) and set(ids) == set(expected)


def _signed_lots(position: Any) -> int:
    lots = round(float(position.size or 0) * 1000)
    return -lots if position.side == "Sell" else lots


async def test_venue_errors_during_a_reconnect_keep_it_paused_until_reconciled(
    harness: Any,
) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)])
    await eventually(lambda: _count_is(harness, 2), timeout=10)
    await harness.sim.admin.set_faults({"rest_error": "http_5xx", "rest_error_count": -1})
    await harness.sim.admin.drop_connections("private")
    await eventually(lambda: not service.synced.is_set(), timeout=10, message="paused")
    await harness.target([(bid - 4, 5)], [(ask + 4, 5)])  # must wait for the reconciliation
    await harness.sim.admin.set_faults({"rest_error": "none"})
    await eventually(lambda: service.synced.is_set(), timeout=30, message="reconciled again")
    expected = {("buy", bid - 4, 5), ("sell", ask + 4, 5)}
    await eventually(lambda: _shape_is(harness, expected), timeout=15)
    await eventually(lambda: _views_agree(harness), timeout=10)


async def test_a_rate_limit_storm_is_waited_out_without_duplicates(harness: Any) -> None:
    service = await harness.start_executor(harness.settings(max_send_attempts=2))
    bid, ask = await harness.touch()
    await harness.sim.admin.set_faults({"rate_limit_storm": True})
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)])
    await eventually(
        lambda: (
            counter(service, "mm_executor_venue_actions_total", kind="create", outcome="refused")
            >= 2
        ),
        timeout=30,
    )
    await harness.sim.admin.set_faults({"rate_limit_storm": False})
    await harness.target([(bid - 3, 5)], [(ask + 3, 5)])
    expected = {("buy", bid - 3, 5), ("sell", ask + 3, 5)}
    await eventually(lambda: _shape_is(harness, expected), timeout=30)
    await eventually(lambda: _views_agree(harness), timeout=10)


async def test_the_watchdog_timeout_changes_live_through_kv_config(harness: Any) -> None:
    service = await harness.start_executor(harness.settings(watchdog_timeout_s=60.0))
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)])
    await eventually(lambda: _count_is(harness, 2), timeout=10)
    config = await harness.js.key_value("config")
    await config.put("executor.default", b'{"watchdog_timeout_s": 1.0, "symbols": ["ETHUSDT"]}')
    await eventually(lambda: counter(service, "mm_executor_config_refused_total", field="symbols"))
    await eventually(lambda: _count_is(harness, 0), timeout=10, message="1 s watchdog cancels")
    assert counter(service, "mm_executor_watchdog_trips_total") == 1
    assert service.settings.symbols == ["BTCUSDT"]


async def test_a_post_only_kill_leaves_no_ghost_order(harness: Any) -> None:
    await harness.start_executor(harness.settings())
    _bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(ask, 5)], [(ask + 5, 5)])  # the bid would take the ask: killed
    await eventually(lambda: _count_is(harness, 1), timeout=10)
    events = await eventually(lambda: _cancelled(harness), timeout=10)
    assert any(
        isinstance(event, OrderCancelled) and event.reason == "EC_PostOnlyWillTakeLiquidity"
        for event in events
    )
    await eventually(lambda: _views_agree(harness), timeout=10)


async def _cancelled(harness: Any) -> list[Any]:
    events = await harness.stream("exec_order")
    return [event for event in events if isinstance(event, OrderCancelled)]


async def test_an_amend_of_an_order_filled_unseen_is_settled_from_venue_truth(
    harness: Any,
) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 1, 5)], [(ask + 5, 5)])
    await eventually(lambda: _count_is(harness, 2), timeout=10)
    await harness.sim.admin.set_faults({"private_silence": True})
    await harness.sim.admin.trade("BTCUSDT", "Sell", "2")  # fills our bid; we hear nothing
    await harness.target([(bid - 3, 5)], [(ask + 5, 5)])  # amends an order that is gone
    await eventually(
        lambda: (
            counter(
                service, "mm_executor_venue_actions_total", kind="amend", outcome="already_gone"
            )
            == 1
        ),
        timeout=10,
    )
    await harness.sim.admin.set_faults({"private_silence": False})
    await harness.sim.admin.drop_connections("private")  # reconnect: catch-up and reconcile
    await eventually(lambda: service.synced.is_set(), timeout=10)
    await harness.heartbeat()
    await harness.target([(bid - 3, 5)], [(ask + 5, 5)])
    expected = {("buy", bid - 3, 5), ("sell", ask + 5, 5)}
    await eventually(lambda: _shape_is(harness, expected), timeout=10)
    await eventually(lambda: _views_agree(harness), timeout=10)
    venue_fills = await _venue_fill_ids(harness)
    await eventually(lambda: _stream_fill_ids_are(harness, venue_fills), timeout=10)


async def test_a_poisoned_entry_at_start_is_refused_loudly_and_config_set_replaces_it(
    harness: Any,
) -> None:
    await ensure_layout(harness.js)  # as a deployment that ran before would have
    config = await harness.js.key_value("config")
    await config.put("executor.default", b'{"watchdog_timeout_s": Infinity}')
    service = await harness.start_executor(harness.settings())

    async def refused() -> str:
        return str((await harness.status()).get("config_refused.executor.default", ""))

    assert "was inf" in await eventually(refused, message="the poisoned entry was not refused")
    assert counter(service, "mm_executor_config_refused_total", field="watchdog_timeout_s") == 1
    assert service.watchdog.timeout_s == 30.0  # the settings' value

    async def ctl(verb: str, request: Any) -> CtlReply:
        reply = await harness.client.request(
            subjects.ctl("executor", verb), encode(request), timeout=5
        )
        return decode(reply.data, CtlReply)

    too_far = ConfigSetRequest(key="executor.default", value='{"watchdog_timeout_s": 61}')
    assert "must be seconds in [0.5, 60.0]" in (await ctl("config-set", too_far)).message
    switch_off = ConfigSetRequest(key="executor.default", value='{"cancel_on_shutdown": false}')
    assert not (await ctl("config-set", switch_off)).ok
    repaired = ConfigSetRequest(key="executor.default", value='{"watchdog_timeout_s": 10}')
    stored = await ctl("config-set", repaired)
    assert stored.ok, stored.message
    await eventually(lambda: service.watchdog.timeout_s == 10.0, message="repair never applied")
    status = await harness.status()
    assert not any(key.startswith("config_refused.") for key in status)
    current = await ctl("config-get", ConfigGetRequest(key="executor.default"))
    assert json.loads(current.data["effective.default"])["watchdog_timeout_s"] == 10.0
    assert service.cancel_on_shutdown
