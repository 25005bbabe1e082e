"""The quoter traces its work, survives missing state and bad payloads, and pulls on the way out."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from mm_proto import FeeSchedule, InstrumentDefinition, Position, encode, subjects
from mm_proto.examples import example_instrument
from mm_runtime.jetstream import store_fee_schedule, store_instrument
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import QuoterRig

VENUE, CATEGORY, SYMBOL = "bybit", "linear", "BTCUSDT"  # as the rig's instrument settings
BID, ASK = 999_990, 1_000_010


def position(size_lots: int) -> Position:
    return Position(
        venue=VENUE,
        category=CATEGORY,
        symbol=SYMBOL,
        size_lots=size_lots,
        entry_price="100000",
        realized_pnl="0",
        unrealized_pnl="0",
        ts_exchange_ns=time.time_ns(),
    )


async def test_quote_compute_is_a_child_span_of_the_book_update(
    rig: QuoterRig, tmp_path: Path
) -> None:
    spans_file = tmp_path / "spans.jsonl"
    await rig.start(telemetry={"exporter": "file", "file_path": str(spans_file)})
    trace_id, parent_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    update_id = await rig.book(BID, ASK, headers={"traceparent": f"00-{trace_id}-{parent_id}-01"})
    await rig.intent_for(update_id)

    def compute_span() -> dict[str, object] | None:
        lines = spans_file.read_text().splitlines() if spans_file.exists() else []
        spans = [json.loads(line) for line in lines]
        return next((s for s in spans if s["trace_id"] == trace_id), None)

    span = await eventually(compute_span, timeout=5)
    assert span is not None
    assert span["name"] == "quote.compute"
    assert span["parent_span_id"] == parent_id
    assert span["attributes"]["source_update_id"] == update_id  # type: ignore[index]


async def test_on_a_fresh_server_it_creates_the_layout_and_follows_positions_and_config(
    bare_rig: QuoterRig,
) -> None:
    rig = bare_rig
    await rig.start()
    assert (await rig.intent_for(await rig.book(BID, ASK))).bids
    await rig.js.publish(subjects.exec_position(VENUE, CATEGORY, SYMBOL), encode(position(50)))

    async def inventory_known() -> bool:
        return (await rig.status())[f"{SYMBOL}.inventory_lots"] == "50"

    await eventually(inventory_known, timeout=5)
    await rig.put_config("quoter.default", {"levels": 2})

    async def levels_applied() -> bool:
        params = msgspec.json.decode((await rig.status())[f"{SYMBOL}.params"])
        return bool(params["levels"] == 2)

    await eventually(levels_applied, timeout=5)


async def test_an_undecodable_position_is_dropped_and_the_next_one_applies(rig: QuoterRig) -> None:
    await rig.start()
    subject = subjects.exec_position(VENUE, CATEGORY, SYMBOL)
    await rig.js.publish(subject, b"\xc1 not msgpack")
    await rig.js.publish(subject, encode(position(-7)))

    async def inventory_known() -> bool:
        return (await rig.status())[f"{SYMBOL}.inventory_lots"] == "-7"

    await eventually(inventory_known, timeout=5)


async def test_an_unreadable_halt_value_is_read_as_halted(rig: QuoterRig) -> None:
    await rig.start()
    assert (await rig.intent_for(await rig.book(BID, ASK))).bids
    seen = len(rig.intents)
    risk = await rig.js.key_value(subjects.RISK_BUCKET)
    await risk.put(subjects.HALT_KEY, b"garbage")
    pulled = await rig.next_intent(seen)
    assert (pulled.bids, pulled.asks, pulled.reason) == ([], [], "halted")


async def test_stopping_pulls_every_symbols_quotes(rig: QuoterRig) -> None:
    await rig.start()
    assert (await rig.intent_for(await rig.book(BID, ASK))).bids
    seen = len(rig.intents)
    await rig.stop_all()
    pulled = await rig.next_intent(seen)
    assert (pulled.bids, pulled.asks, pulled.reason) == ([], [], "stopping")


async def test_obligation_coverage_is_measured_on_snapshots(rig: QuoterRig) -> None:
    obligation = {
        "obligation_enabled": True,
        "obligation_notional_5bps": 2_000.0,
        "obligation_notional_10bps": 3_000.0,
        "obligation_snapshot_s": 0.1,
        "min_spread_bps": 8.0,
        "max_inventory_lots": 1_000,
    }
    await rig.start(params=obligation)
    intent = await rig.intent_for(await rig.book(BID, ASK))
    within_5bps = [level for level in intent.bids if level.price_ticks >= 999_500]
    assert sum(level.price_ticks * level.size_lots for level in within_5bps) * 1e-4 >= 2_000

    async def covered() -> bool:
        status = await rig.status()
        return int(status[f"{SYMBOL}.obligation_snapshots"]) >= 2 and (
            status[f"{SYMBOL}.obligation_coverage"] == "1.0000"
        )

    await eventually(covered, timeout=5)


async def test_an_instrument_definition_replaces_the_configured_grid(rig: QuoterRig) -> None:
    await rig.start()
    assert (await rig.intent_for(await rig.book(BID, ASK))).bids[0].size_lots == 10
    definition = InstrumentDefinition(
        venue=VENUE,
        category=CATEGORY,
        symbol=SYMBOL,
        base_coin="BTC",
        quote_coin="USDT",
        status="Trading",
        tick_size="0.1",
        lot_size="0.001",
        min_qty_lots=1,
        max_qty_lots=100_000,
        min_notional="2000",  # 0.02 BTC at 100_000
    )
    seen = len(rig.intents)
    await rig.client.publish(subjects.instrument(VENUE, CATEGORY, SYMBOL), encode(definition))
    resized = await rig.next_intent(seen)
    assert resized.bids[0].size_lots == 21  # 2000 USDT at 99_990 is 20.002 lots: rounded up


async def test_a_symbol_listed_without_a_grid_quotes_once_the_gateway_defines_it(
    rig: QuoterRig,
) -> None:
    await rig.start(instruments=[], symbols="BTCUSDT")
    pulled = await rig.intent_for(await rig.book(BID, ASK))
    assert (pulled.bids, pulled.reason) == ([], "no_instrument")
    definition = example_instrument()
    seen = len(rig.intents)
    await rig.client.publish(subjects.instrument(VENUE, CATEGORY, SYMBOL), encode(definition))
    quoting = await rig.next_intent(seen)
    # Settings' default maker fee (2 bps) sets the floor: 200 ticks either side of mid.
    assert [(level.price_ticks, level.size_lots) for level in quoting.bids] == [(999_800, 10)]


async def test_a_definition_stored_before_the_quoter_started_is_used_at_once(
    rig: QuoterRig,
) -> None:
    definition = example_instrument()
    await store_instrument(rig.js, definition)
    await rig.start(instruments=[], symbols="BTCUSDT")
    quoting = await rig.intent_for(await rig.book(BID, ASK))
    assert [(level.price_ticks, level.size_lots) for level in quoting.bids] == [(999_800, 10)]


async def test_the_accounts_maker_fee_from_the_venue_sets_the_spread_floor(
    rig: QuoterRig,
) -> None:
    await rig.start()  # configured with a 1 bp rebate: the 1 bp minimum spread binds
    before = await rig.intent_for(await rig.book(BID, ASK))
    assert before.bids[0].price_ticks == 999_900
    venue_fees = FeeSchedule(
        venue=VENUE,
        category=CATEGORY,
        symbol=SYMBOL,
        maker_fee_rate="0.0003",  # the venue says the account pays 3 bp: the floor widens
        taker_fee_rate="0.00055",
        ts_loaded_ns=time.time_ns(),
    )
    seen = len(rig.intents)
    await store_fee_schedule(rig.js, venue_fees)
    after = await rig.next_intent(seen)  # re-priced at once, without waiting for a new book
    assert after.bids[0].price_ticks == 999_700
    assert after.asks[0].price_ticks == 1_000_300


async def test_a_bad_instrument_message_is_dropped_and_the_last_good_grid_keeps_quoting(
    rig: QuoterRig,
) -> None:
    await rig.start(instruments=[], symbols="BTCUSDT")
    subject = subjects.instrument(VENUE, CATEGORY, SYMBOL)
    good = example_instrument()
    await rig.client.publish(subject, encode(good))
    await eventually(lambda: rig.services[-1].quoters[SYMBOL].instrument == good.grid())
    await rig.client.publish(subject, b"\x93not a definition")  # undecodable
    absurd = msgspec.structs.replace(good, tick_size="1e-30", status="Settling")
    await rig.client.publish(subject, encode(absurd))  # decodes, but no venue has that tick
    registry = rig.services[-1].runtime.registry
    pattern = subjects.instrument_pattern(VENUE, CATEGORY)

    def dropped() -> tuple[float | None, float | None]:
        name = "mm_bus_messages_dropped_total"
        return (
            registry.get_sample_value(name, {"subscription": pattern, "reason": "undecodable"}),
            registry.get_sample_value(name, {"subscription": "instruments", "reason": "absurd"}),
        )

    await eventually(lambda: dropped() == (1.0, 1.0), message="both counted as dropped")
    quoting = await rig.intent_for(await rig.book(BID, ASK))
    assert [(level.price_ticks, level.size_lots) for level in quoting.bids] == [(999_800, 10)]
    assert rig.services[-1].quoters[SYMBOL].instrument == good.grid()
    seen = len(rig.intents)
    closed = msgspec.structs.replace(good, status="Settling")  # a real change still applies
    await rig.client.publish(subject, encode(closed))
    pulled = await rig.next_intent(seen)
    assert (pulled.bids, pulled.reason) == ([], "not_trading")
