"""Recorded venue messages parse into raw types and convert into the right proto values."""

import json
from pathlib import Path

import msgspec
import pytest

from mm_bybit import raw
from mm_bybit.convert import (
    ConversionError,
    fill_from_execution,
    funding_from_execution,
    instrument_definition,
    order_event_from_order,
    position_from_raw,
    trades_from_message,
)
from mm_bybit.executions import ExecutionFilter
from mm_proto import (
    FundingSettlement,
    InstrumentDefinition,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    Side,
    decode,
    encode,
)

DATA = Path(__file__).parent.parent / "data"


def lines(name: str) -> list[bytes]:
    return [line.encode() for line in (DATA / name).read_text().splitlines() if line.strip()]


def envelope(name: str) -> raw.RestEnvelope:
    return raw.decoder(raw.RestEnvelope).decode((DATA / name).read_bytes())


def page(name: str, item_type: type) -> raw.Page:  # type: ignore[type-arg]
    return msgspec.json.decode(envelope(name).result, type=raw.Page[item_type], strict=False)


def private_messages(topic: str) -> list[raw.PrivateMessage]:
    messages = []
    for line in lines("yasstake_private_ws_messages.jsonl"):
        frame = msgspec.json.decode(line, type=raw.Frame)
        if frame.topic == topic:
            messages.append(raw.decoder(raw.PrivateMessage).decode(line))
    return messages


@pytest.fixture
def btc_linear() -> InstrumentDefinition:
    item = page("docs_instruments_linear.json", raw.Instrument).items[0]
    return instrument_definition(item, "linear")


@pytest.fixture
def btc_spot_2023() -> InstrumentDefinition:
    spot = json.loads((DATA / "hirokisan_instruments_spot.json").read_text())["Spot"]
    items = msgspec.convert(spot, type=raw.Page[raw.Instrument]).items
    return instrument_definition(next(i for i in items if i.symbol == "BTCUSDT"), "spot")


def ltc_linear() -> InstrumentDefinition:
    # LTCUSDT's grid as the venue listed it (tick 0.01, qty step 0.1); no capture of it is kept.
    return InstrumentDefinition(
        venue="bybit", category="linear", symbol="LTCUSDT", base_coin="LTC", quote_coin="USDT",
        status="Trading", tick_size="0.01", lot_size="0.1", min_qty_lots=1,
        max_qty_lots=100000, min_notional="5",
    )  # fmt: skip


def test_linear_instrument_reads_the_grid_from_the_venue(btc_linear: InstrumentDefinition) -> None:
    assert (btc_linear.tick_size, btc_linear.lot_size) == ("0.10", "0.001")
    assert btc_linear.min_qty_lots == 1
    assert btc_linear.max_qty_lots == 1_190_000
    assert btc_linear.min_notional == "5"
    assert btc_linear.status == "Trading"
    assert decode(encode(btc_linear), InstrumentDefinition) == btc_linear


def test_spot_instrument_sizes_on_base_precision_and_floors_off_grid_limits(
    btc_spot_2023: InstrumentDefinition,
) -> None:
    assert (btc_spot_2023.tick_size, btc_spot_2023.lot_size) == ("0.01", "0.000001")
    assert btc_spot_2023.min_qty_lots == 40
    assert btc_spot_2023.max_qty_lots == 63_011_972  # "63.01197227" floored to the grid
    assert btc_spot_2023.min_notional == "1"


def test_every_real_spot_instrument_converts() -> None:
    spot = json.loads((DATA / "hirokisan_instruments_spot.json").read_text())["Spot"]
    items = msgspec.convert(spot, type=raw.Page[raw.Instrument]).items
    definitions = [instrument_definition(item, "spot") for item in items]
    assert len(definitions) == 190
    assert all(d.min_qty_lots <= d.max_qty_lots for d in definitions)


def test_real_spot_trades_convert_to_ticks_lots_and_taker_side(
    btc_spot_2023: InstrumentDefinition,
) -> None:
    frames = [f for f in lines("yasstake_public_ws_messages.jsonl") if b"publicTrade" in f]
    trades = [t for f in frames for t in trades_from_message(f, {"BTCUSDT": btc_spot_2023}, 7)]
    assert [(t.price_ticks, t.size_lots, t.taker_side) for t in trades] == [
        (4_377_400, 2600, Side.SELL),
        (4_377_401, 9516, Side.BUY),
    ]
    assert trades[0].trade_id == "2290000000090712222"
    assert trades[0].ts_exchange_ns == 1703430744102 * 1_000_000
    assert trades[0].ts_gateway_ns == 7
    assert trades[0].category == "spot"


def test_real_linear_trade_batch_keeps_every_trade_in_order() -> None:
    frame = next(f for f in lines("tardis_linear_inverse_messages.jsonl") if b"LTCUSDT" in f)
    (trade,) = trades_from_message(frame, {"LTCUSDT": ltc_linear()}, 0)
    assert (trade.price_ticks, trade.size_lots, trade.taker_side) == (9453, 4, Side.BUY)
    inverse = next(f for f in lines("tardis_linear_inverse_messages.jsonl") if b'BTCUSD"' in f)
    parsed = raw.decoder(raw.PublicTradeMessage).decode(inverse)
    assert len(parsed.data) > 1
    assert parsed.data[0].tick_direction == "PlusTick"


def test_a_price_off_the_current_grid_is_refused_with_the_value() -> None:
    today = page("docs_instruments_spot.json", raw.Instrument).items[0]
    grid_2025 = instrument_definition(today, "spot")
    frame = next(
        f
        for f in lines("yasstake_public_ws_messages.jsonl")
        if b"publicTrade" in f and b"43774.01" in f
    )
    with pytest.raises(ConversionError, match=r"tick size 0\.1, was 43774\.01"):
        trades_from_message(frame, {"BTCUSDT": grid_2025}, 0)


def test_trade_for_an_unknown_symbol_is_refused() -> None:
    frame = next(f for f in lines("yasstake_public_ws_messages.jsonl") if b"publicTrade" in f)
    with pytest.raises(ConversionError, match="no instrument definition for 'BTCUSDT'"):
        trades_from_message(frame, {}, 0)


def test_real_execution_push_becomes_one_taker_fill(btc_linear: InstrumentDefinition) -> None:
    (message,) = private_messages("execution")
    executions = raw.decoder(list[raw.Execution]).decode(message.data)
    fill = fill_from_execution(executions[0], btc_linear, ts_received_ns=5)
    assert fill.fill_id == "2800474f-1e3d-571e-9cc8-46e3bcb82699"
    assert fill.client_order_id == "SkeltonAgentlp9qlB-0001"
    assert (fill.price_ticks, fill.size_lots, fill.side) == (415_539, 1, Side.BUY)
    assert (fill.fee, fill.fee_currency, fill.is_maker) == ("0.02285465", "USDT", False)
    assert fill.ts_exchange_ns == 1705761437503 * 1_000_000
    assert fill.seq == 8883610598


def test_an_execution_without_seq_becomes_a_fill_without_one(
    btc_linear: InstrumentDefinition,
) -> None:
    (message,) = private_messages("execution")
    execution = raw.decoder(list[raw.Execution]).decode(message.data)[0]
    unsequenced = msgspec.structs.replace(execution, seq=0)
    assert fill_from_execution(unsequenced, btc_linear, 0).seq is None


def test_fast_execution_item_with_numeric_time_parses(btc_linear: InstrumentDefinition) -> None:
    (line,) = lines("yasstake_fast_execution_item.jsonl")
    execution = raw.decoder(raw.Execution).decode(line)
    fill = fill_from_execution(execution, btc_linear, 0)
    assert fill.ts_exchange_ns == 1707036474699 * 1_000_000
    assert fill.side is Side.SELL


def test_funding_rows_are_not_fills_and_repeats_count_once(
    btc_linear: InstrumentDefinition,
) -> None:
    funding = page("ccxt_executions_linear_funding.json", raw.Execution).items
    assert funding[0].exec_type == "Funding"
    assert funding[0].seq == 15411084098  # quoted in the capture, an integer on the wire
    (message,) = private_messages("execution")
    trade = raw.decoder(list[raw.Execution]).decode(message.data)
    fills = ExecutionFilter()
    assert fills.select(funding + trade + trade) == trade
    assert (fills.non_trades, fills.duplicates) == (1, 1)
    with pytest.raises(ConversionError, match="only execType 'Trade'"):
        fill_from_execution(funding[0], ltc_linear(), 0)


def test_real_filled_market_orders_become_complete_fills(btc_linear: InstrumentDefinition) -> None:
    events = []
    for message in private_messages("order"):
        for order in raw.decoder(list[raw.Order]).decode(message.data):
            events.append(order_event_from_order(order, btc_linear))
    assert [type(e) for e in events] == [OrderFilled, OrderFilled]
    first = events[0]
    assert isinstance(first, OrderFilled)
    assert (first.filled_lots, first.leaves_lots, first.partial) == (10, 0, False)
    assert (first.side, first.price_ticks, first.size_lots) == (Side.BUY, 460_645, 10)
    assert first.ts_event_ns == 1704706900004 * 1_000_000


def test_rest_open_order_becomes_accepted(btc_linear: InstrumentDefinition) -> None:
    (order,) = page("ccxt_open_order_linear_new.json", raw.Order).items
    event = order_event_from_order(order, btc_linear)
    assert isinstance(event, OrderAccepted)
    assert (event.price_ticks, event.size_lots) == (1_020_000, 1)
    assert event.venue_order_id == "3606515b-e4d7-4ea4-b096-bb247d0661ae"


def test_real_open_orders_envelope_pages_with_a_cursor() -> None:
    line = next(
        line for line in lines("yasstake_rest_responses.jsonl") if b"nextPageCursor" in line
    )
    result = raw.decoder(raw.RestEnvelope).decode(line).result
    orders = msgspec.json.decode(result, type=raw.Page[raw.Order], strict=False)
    assert len(orders.items) == 2
    assert orders.next_page_cursor.startswith("36a2f9ec-700c-481e-bf05-5df9802bad86%3A")
    assert {o.order_status for o in orders.items} == {"New"}


def test_spot_market_buy_in_quote_coin_is_refused_not_misread() -> None:
    (order,) = page("ccxt_order_spot_partially_filled_canceled.json", raw.Order).items
    assert order.reject_reason == "EC_CancelForNoFullFill"
    spot = InstrumentDefinition(
        venue="bybit", category="spot", symbol="BTCUSDT", base_coin="BTC", quote_coin="USDT",
        status="Trading", tick_size="0.01", lot_size="0.000001", min_qty_lots=1,
        max_qty_lots=10**9, min_notional="1",
    )  # fmt: skip
    with pytest.raises(ConversionError, match="quote coin"):
        order_event_from_order(order, spot)
    limit = msgspec.structs.replace(order, market_unit="", qty="0.002", price="30966.41")
    event = order_event_from_order(limit, spot)
    assert isinstance(event, OrderCancelled)
    assert event.reason == "EC_CancelForNoFullFill"


def test_positions_carry_signed_lots_and_venue_pnl() -> None:
    (long,) = page("ccxt_positions_linear_long.json", raw.Position).items
    position = position_from_raw(long, ltc_linear())
    assert (position.size_lots, position.entry_price) == (12, "64.59947917")
    assert (position.unrealized_pnl, position.realized_pnl) == ("7.800625", "-51.90142002")
    (flat,) = page("ccxt_position_linear_flat.json", raw.Position).items
    assert position_from_raw(flat, ltc_linear()).size_lots == 0
    assert (position.seq, position_from_raw(flat, ltc_linear()).seq) == (15411084098, 15470569116)
    short = msgspec.structs.replace(long, side="Sell")
    assert position_from_raw(short, ltc_linear()).size_lots == -12


def test_docs_position_push_parses(btc_linear: InstrumentDefinition) -> None:
    message = raw.decoder(raw.PrivateMessage).decode((DATA / "docs_ws_position.json").read_bytes())
    (item,) = raw.decoder(list[raw.Position]).decode(message.data)
    assert item.position_idx == 2
    position = position_from_raw(item, btc_linear)
    assert (position.size_lots, position.realized_pnl) == (0, "-25.06579337")
    assert position.seq == 8327597863


def test_a_position_row_without_seq_converts_without_one(btc_linear: InstrumentDefinition) -> None:
    row = raw.decoder(raw.Position).decode(b'{"symbol":"BTCUSDT","side":"","size":"0"}')
    assert position_from_raw(row, btc_linear).seq is None
    never_traded = raw.decoder(raw.Position).decode(
        b'{"symbol":"BTCUSDT","side":"","size":"0","seq":-1}'
    )
    assert position_from_raw(never_traded, btc_linear).seq == -1


def test_real_wallet_pushes_parse() -> None:
    wallets = [
        wallet
        for message in private_messages("wallet")
        for wallet in raw.decoder(list[raw.Wallet]).decode(message.data)
    ]
    assert len(wallets) == 5
    usdt = next(c for c in wallets[0].coin if c.coin == "USDT")
    assert (usdt.wallet_balance, usdt.total_order_im) == ("9998.58103788", "40.418")
    assert wallets[0].account_im_rate == "0.0312"


def test_real_rest_envelopes_parse_with_their_results() -> None:
    envelopes = [
        raw.decoder(raw.RestEnvelope).decode(line)
        for line in lines("yasstake_rest_responses.jsonl")
    ]
    assert [e.ret_code for e in envelopes] == [0] * 6
    create = envelope("ccxt_create_order_spot.json")
    ack = msgspec.json.decode(create.result, type=raw.OrderAck)
    assert ack.order_id == "1609920528435648000"
    assert create.time == 1706653482432


def test_batch_answer_aligns_results_with_statuses() -> None:
    batch = envelope("docs_batch_place.json")
    items = msgspec.json.decode(batch.result, type=raw.Page[raw.BatchItem]).items
    statuses = msgspec.json.decode(batch.ret_ext_info, type=raw.BatchStatusList).items
    assert [i.order_link_id for i in items] == ["spot-btc-03", "spot-atom-03"]
    assert [s.code for s in statuses] == [0, 0]


def test_trade_websocket_reply_carries_limit_headers() -> None:
    reply = raw.decoder(raw.TradeReply).decode(
        (DATA / "docs_trade_ws_create_reply.json").read_bytes()
    )
    assert (reply.req_id, reply.op, reply.ret_code) == ("test-005", "order.create", 0)
    assert reply.header["X-Bapi-Limit-Status"] == "9"
    assert msgspec.json.decode(reply.data, type=raw.OrderAck).order_id.startswith("a4c1718e")


@pytest.mark.parametrize(
    "payload",
    [b"not json", b'{"topic":"publicTrade.BTCUSDT","data":[{"T":1}]}', b'{"topic":"x","data":{}}'],
)
def test_malformed_trade_frames_are_refused_with_a_clear_error(payload: bytes) -> None:
    with pytest.raises(ConversionError, match="publicTrade frame"):
        trades_from_message(payload, {}, 0)


def test_unknown_side_is_refused(btc_linear: InstrumentDefinition) -> None:
    (message,) = private_messages("execution")
    (execution,) = raw.decoder(list[raw.Execution]).decode(message.data)
    with pytest.raises(ConversionError, match="side must be 'Buy' or 'Sell', was 'Long'"):
        fill_from_execution(msgspec.structs.replace(execution, side="Long"), btc_linear, 0)


def test_real_public_frames_are_told_apart_by_topic_type_and_op() -> None:
    frames = [
        msgspec.json.decode(line, type=raw.Frame)
        for line in lines("yasstake_public_ws_messages.jsonl")
    ]
    assert [(f.topic, f.type, f.op) for f in frames] == [
        ("", "", "subscribe"),
        ("", "", "subscribe"),
        ("orderbook.200.BTCUSDT", "snapshot", ""),
        ("orderbook.200.BTCUSDT", "delta", ""),
        ("publicTrade.BTCUSDT", "snapshot", ""),
        ("publicTrade.BTCUSDT", "snapshot", ""),
    ]
    assert frames[0].success is True
    tardis = [
        msgspec.json.decode(line, type=raw.Frame)
        for line in lines("tardis_linear_inverse_messages.jsonl")
    ]
    assert {f.topic.split(".")[0] for f in tardis} >= {"orderbook", "publicTrade", "tickers"}


@pytest.mark.parametrize(
    ("status", "cancel_type", "reject_reason", "reason"),
    [
        ("Cancelled", "CancelByUser", "EC_PerCancelRequest", "CancelByUser"),
        ("Cancelled", "UNKNOWN", "EC_PostOnlyWillTakeLiquidity", "EC_PostOnlyWillTakeLiquidity"),
        ("Cancelled", "CancelByDCP", "EC_NoError", "CancelByDCP"),
        ("Rejected", "UNKNOWN", "EC_PostOnlyWillTakeLiquidity", "EC_PostOnlyWillTakeLiquidity"),
        ("Deactivated", "", "", "UNKNOWN"),
    ],
)
def test_an_ended_order_says_why(
    btc_linear: InstrumentDefinition, status: str, cancel_type: str, reject_reason: str, reason: str
) -> None:
    (order,) = page("ccxt_open_order_linear_new.json", raw.Order).items
    ended = msgspec.structs.replace(
        order, order_status=status, cancel_type=cancel_type, reject_reason=reject_reason
    )
    event = order_event_from_order(ended, btc_linear)
    assert getattr(event, "reason", None) == reason


def test_real_rest_book_and_recent_trades_parse() -> None:
    envelopes = [
        raw.decoder(raw.RestEnvelope).decode(line)
        for line in lines("yasstake_rest_responses.jsonl")
    ]
    book = msgspec.json.decode(envelopes[1].result, type=raw.OrderbookSnapshot)
    assert (book.symbol, book.update_id, book.ts) == ("BTCUSDT", 1458765, 1703314210368)
    assert book.asks[0] == ("29727.05", "0.000069")
    assert book.bids[0] == ("29714.9", "0.0008")
    inverse = msgspec.json.decode(envelopes[0].result, type=raw.Page[raw.RecentTrade], strict=False)
    assert [(t.price, t.size, t.side) for t in inverse.items][:2] == [
        ("26062.50", "913", "Buy"), ("26062.50", "1", "Buy"),
    ]  # fmt: skip


def test_a_real_funding_row_becomes_a_settlement_with_the_venues_sign_and_position() -> None:
    [row] = page("ccxt_executions_linear_funding.json", raw.Execution).items
    settlement = funding_from_execution(row, ltc_linear(), 5)
    assert (settlement.funding_id, settlement.symbol) == (row.exec_id, "LTCUSDT")
    assert settlement.position_lots == ltc_linear().qty_to_lots("1.2")  # side Buy: long
    assert (settlement.fee, settlement.funding_rate, settlement.mark_price) == (
        "0.00867",
        "0.0001",
        "72.25",
    )
    assert settlement.ts_exchange_ns == 1_699_948_800_000 * 1_000_000
    assert decode(encode(settlement), FundingSettlement) == settlement


def test_funding_rows_are_selected_once_and_trades_never_become_funding() -> None:
    funding = page("ccxt_executions_linear_funding.json", raw.Execution).items
    (message,) = private_messages("execution")
    trade = raw.decoder(list[raw.Execution]).decode(message.data)
    executions = ExecutionFilter()
    assert executions.select_funding(funding + trade) == funding
    assert executions.select_funding(funding) == []
    with pytest.raises(ConversionError, match="execType must be 'Funding'"):
        funding_from_execution(trade[0], ltc_linear(), 0)


def test_a_funding_row_with_a_bad_fee_is_refused_with_its_id() -> None:
    [row] = page("ccxt_executions_linear_funding.json", raw.Execution).items
    bad = msgspec.structs.replace(row, exec_fee="NaN")
    with pytest.raises(ConversionError, match=f"funding execution {row.exec_id} execFee"):
        funding_from_execution(bad, ltc_linear(), 0)
