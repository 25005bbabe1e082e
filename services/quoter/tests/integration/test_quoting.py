"""The running quoter turns books into intents, pulls at once on bad news, and follows KV config."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import aiohttp
import msgspec

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import QuoterRig

from mm_proto import FeedState, FeedStatus, HaltState, Position, encode, subjects
from mm_runtime.testing import eventually, free_port

VENUE, CATEGORY, SYMBOL = "bybit", "linear", "BTCUSDT"  # as the rig's instrument settings
BID, ASK = 999_990, 1_000_010  # 99_999.0 / 100_001.0 USDT, mid 100_000


async def test_a_book_update_becomes_an_intent_with_its_update_id_and_trace(
    rig: QuoterRig,
) -> None:
    await rig.start()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent = f"00-{trace_id}-00f067aa0ba902b7-01"
    update_id = await rig.book(BID, ASK, headers={"traceparent": parent})
    intent = await rig.intent_for(update_id)
    # 1 bp of 100_000 is 10 USDT = 100 ticks either side of mid; 0.01 BTC is 10 lots.
    assert [(level.price_ticks, level.size_lots) for level in intent.bids] == [(999_900, 10)]
    assert [(level.price_ticks, level.size_lots) for level in intent.asks] == [(1_000_100, 10)]
    traceparent = rig.headers[rig.intents.index(intent)]["traceparent"]
    assert traceparent.split("-")[1] == trace_id
    assert traceparent.split("-")[2] != "00f067aa0ba902b7"  # a child span: quote.compute
    # The rig stamps the gateway and exchange times alike; the gateway's travels as ts_tick_ns.
    assert intent.ts_tick_ns == intent.ts_source_ns > 0


async def test_a_stale_feed_status_pulls_quotes_in_the_very_next_intent(
    rig: QuoterRig,
) -> None:
    await rig.start()
    assert (await rig.intent_for(await rig.book(BID, ASK))).bids
    seen = len(rig.intents)
    status = FeedStatus(
        venue=VENUE,
        category=CATEGORY,
        symbol=SYMBOL,
        state=FeedState.STALE,
        reason="gap 10->12",
        last_update_id=rig.update_id,
        ts_event_ns=time.time_ns(),
    )
    await rig.client.publish(subjects.feed_status(VENUE, CATEGORY, SYMBOL), encode(status))
    pulled = await rig.next_intent(seen)
    assert (pulled.bids, pulled.asks, pulled.reason) == ([], [], "stale")
    live = msgspec.structs.replace(status, state=FeedState.LIVE, reason="resynced")
    await rig.client.publish(subjects.feed_status(VENUE, CATEGORY, SYMBOL), encode(live))
    assert (await rig.intent_for(await rig.book(BID + 1, ASK + 1))).bids


async def test_silence_longer_than_stale_after_pulls_quotes(rig: QuoterRig) -> None:
    await rig.start(params={"stale_after_s": 0.3})
    assert (await rig.intent_for(await rig.book(BID, ASK))).bids
    seen = len(rig.intents)
    pulled = await rig.next_intent(seen)
    assert (pulled.bids, pulled.asks, pulled.reason) == ([], [], "stale")


async def test_a_halt_in_kv_pulls_quotes_and_resuming_quotes_again(
    rig: QuoterRig,
) -> None:
    await rig.start()
    assert (await rig.intent_for(await rig.book(BID, ASK))).bids
    seen = len(rig.intents)
    risk = await rig.js.key_value(subjects.RISK_BUCKET)
    halt = HaltState(halted=True, reason="loss limit", by="risk", ts_changed_ns=time.time_ns())
    await risk.put(subjects.HALT_KEY, encode(halt))
    pulled = await rig.next_intent(seen)
    assert (pulled.bids, pulled.reason) == ([], "halted")
    resumed = msgspec.structs.replace(halt, halted=False, reason="operator")
    await risk.put(subjects.HALT_KEY, encode(resumed))
    assert (await rig.next_intent(seen + 1)).bids


async def test_inventory_from_the_exec_stream_is_known_at_start_and_blocks_the_growing_side(
    rig: QuoterRig,
) -> None:
    position = Position(
        venue=VENUE,
        category=CATEGORY,
        symbol=SYMBOL,
        size_lots=50,  # at max_inventory_lots
        entry_price="100000",
        realized_pnl="0",
        unrealized_pnl="0",
        ts_exchange_ns=time.time_ns(),
    )
    # Published before the quoter starts: a restarted quoter must pick it up from the stream.
    await rig.js.publish(subjects.exec_position(VENUE, CATEGORY, SYMBOL), encode(position))
    await rig.start()

    async def inventory_known() -> bool:
        return (await rig.status())[f"{SYMBOL}.inventory_lots"] == "50"

    await eventually(inventory_known, timeout=5)
    intent = await rig.intent_for(await rig.book(BID, ASK))
    assert intent.bids == []
    assert intent.asks


async def test_a_live_safe_kv_change_reshapes_the_next_intent(rig: QuoterRig) -> None:
    await rig.start()
    assert (await rig.intent_for(await rig.book(BID, ASK))).bids[0].price_ticks == 999_900
    seen = len(rig.intents)
    await rig.put_config(f"quoter.{SYMBOL}", {"min_spread_bps": 50.0})
    widened = await rig.next_intent(seen)
    assert widened.bids[0].price_ticks == 995_000
    assert widened.asks[0].price_ticks == 1_005_000


async def test_a_restart_only_field_is_refused_and_the_live_fields_beside_it_apply(
    rig: QuoterRig,
) -> None:
    await rig.start()
    await rig.intent_for(await rig.book(BID, ASK))
    seen = len(rig.intents)
    await rig.put_config(f"quoter.{SYMBOL}", {"volatility_horizon_s": 5.0, "min_spread_bps": 50.0})
    widened = await rig.next_intent(seen)
    assert widened.bids[0].price_ticks == 995_000
    status = await rig.status()
    assert "volatility_horizon_s needs a restart" in status[f"config_refused.quoter.{SYMBOL}"]
    assert msgspec.json.decode(status[f"{SYMBOL}.params"])["volatility_horizon_s"] == 60.0


async def test_invalid_config_is_refused_whole_and_the_quoter_keeps_quoting(
    rig: QuoterRig,
) -> None:
    await rig.start()
    await rig.intent_for(await rig.book(BID, ASK))
    await rig.put_config("quoter.default", b"{not json")
    await rig.put_config(f"quoter.{SYMBOL}", {"min_spread_bps": -1, "levels": 3})

    async def refused_both() -> bool:
        status = await rig.status()
        return "invalid JSON" in status.get("config_refused.quoter.default", "") and (
            "min_spread_bps" in status.get(f"config_refused.quoter.{SYMBOL}", "")
        )

    await eventually(refused_both, timeout=5)
    status = await rig.status()
    assert msgspec.json.decode(status[f"{SYMBOL}.params"])["levels"] == 1
    moved = await rig.intent_for(await rig.book(BID - 50, ASK - 50))
    assert moved.bids[0].price_ticks == 999_850


async def test_config_present_at_start_applies_in_full_to_the_first_intent(rig: QuoterRig) -> None:
    await rig.put_config("quoter.default", {"min_spread_bps": 50.0})
    await rig.put_config(f"quoter.{SYMBOL}", {"volatility_horizon_s": 5.0, "levels": 2})
    await rig.start()
    params = msgspec.json.decode((await rig.status())[f"{SYMBOL}.params"])
    assert (params["volatility_horizon_s"], params["levels"]) == (5.0, 2)
    intent = await rig.intent_for(await rig.book(BID, ASK))
    assert [level.price_ticks for level in intent.bids] == [995_000, 994_999]


async def test_metrics_count_intents_suppressions_pulls_and_latency(rig: QuoterRig) -> None:
    port = free_port()
    await rig.start(http={"port": port}, params={"refresh_price_ticks": 5})
    await rig.intent_for(await rig.book(BID, ASK))
    await rig.book(BID + 1, ASK + 1)  # moves our quotes by 1 tick: under the 5-tick threshold
    # Handled before the next top is sent: with `conflate_backlog` a top still waiting when a
    # newer one arrives is conflated away (`mm_runtime.conflation`), never suppressed.
    await eventually(lambda: suppressed(rig) == 1, timeout=5)
    await rig.book(BID + 20, ASK + 20)  # past it: published
    await rig.intent_for(rig.update_id)
    status = FeedStatus(
        venue=VENUE,
        category=CATEGORY,
        symbol=SYMBOL,
        state=FeedState.RESYNCING,
        reason="snapshot",
        last_update_id=rig.update_id,
        ts_event_ns=time.time_ns(),
    )
    await rig.client.publish(subjects.feed_status(VENUE, CATEGORY, SYMBOL), encode(status))
    await eventually(lambda: rig.intents[-1].reason == "stale", timeout=5)
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    labels = f'symbol="{SYMBOL}"'
    assert f"quoter_updates_suppressed_total{{{labels}}} 1.0" in text
    assert f'quoter_pulls_total{{reason="stale",{labels}}}' in text
    assert "quoter_tick_to_quote_seconds_count 2.0" in text
    assert f'quoter_intents_published_total{{reason="price",{labels}}} 1.0' in text


def suppressed(rig: QuoterRig) -> float | None:
    runtime = rig.services[0]._runtime
    assert runtime is not None
    return runtime.registry.get_sample_value("quoter_updates_suppressed_total", {"symbol": SYMBOL})


async def test_a_halt_and_config_present_at_start_both_hold(rig: QuoterRig) -> None:
    risk = await rig.js.key_value(subjects.RISK_BUCKET)
    halt = HaltState(halted=True, reason="carried over", by="risk", ts_changed_ns=time.time_ns())
    await risk.put(subjects.HALT_KEY, encode(halt))
    await rig.put_config(f"quoter.{SYMBOL}", {"volatility_horizon_s": 5.0})
    await rig.start()
    status = await rig.status()
    assert (status[f"{SYMBOL}.halted"], status[f"{SYMBOL}.pull_reason"]) == ("true", "halted")
    assert msgspec.json.decode(status[f"{SYMBOL}.params"])["volatility_horizon_s"] == 5.0
    update_id = await rig.book(BID, ASK)

    async def book_seen() -> bool:
        return (await rig.status())[f"{SYMBOL}.book_update_id"] == str(update_id)

    await eventually(book_seen, timeout=5)
    assert [(intent.bids, intent.reason) for intent in rig.intents] == [([], "halted")]
