"""One realistic example instance of every message shape, the source of the golden payloads."""

from typing import TypedDict

from mm_proto.control import (
    CancelAllRequest,
    ConfigGetRequest,
    ConfigSetRequest,
    ConfigUnsetRequest,
    CtlReply,
    FlattenRequest,
    HaltRequest,
    Heartbeat,
    ResumeRequest,
    StatusRequest,
)
from mm_proto.economics import KpiSnapshot
from mm_proto.gate import ObligationSummary, ReconciliationResult, TickToOrderSummary
from mm_proto.instrument import FeeSchedule, InstrumentDefinition
from mm_proto.market import BookDepth, BookTop, FeedState, FeedStatus, Trade
from mm_proto.message import Message, Side
from mm_proto.orders import (
    Fill,
    FundingSettlement,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderTarget,
    Position,
)
from mm_proto.policy import PolicyDecision
from mm_proto.quoting import QuoteIntent, QuoteLevel
from mm_proto.risk import HaltState, RiskEvent
from mm_proto.rollout import RAMPING, RolloutEvent, RolloutState

VENUE = "bybit"
CATEGORY = "linear"
SYMBOL = "BTCUSDT"
TS_NS = 1_732_000_000_123_000_000
CLIENT_ORDER_ID = "mm-q-000001"
VENUE_ORDER_ID = "1321052653536515584"


def example_instrument() -> InstrumentDefinition:
    """BTCUSDT linear perpetual on Bybit's grid: tick 0.10, qty step 0.001, min notional 5."""
    return InstrumentDefinition(
        venue=VENUE,
        category=CATEGORY,
        symbol=SYMBOL,
        base_coin="BTC",
        quote_coin="USDT",
        status="Trading",
        tick_size="0.10",
        lot_size="0.001",
        min_qty_lots=1,
        max_qty_lots=1_190_000,
        min_notional="5",
    )


def _ladder(first_ticks: int, step_ticks: int) -> list[QuoteLevel]:
    return [
        QuoteLevel(price_ticks=first_ticks + step_ticks * i, size_lots=10 + i) for i in range(3)
    ]


def _market_examples() -> list[Message]:
    return [
        example_instrument(),
        BookTop(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            bid_price_ticks=650001,
            bid_size_lots=1520,
            ask_price_ticks=650002,
            ask_size_lots=87,
            update_id=177400507,
            ts_exchange_ns=TS_NS,
            ts_gateway_ns=TS_NS + 2_500_000,
        ),
        BookDepth(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            bid_prices_ticks=[650001, 650000, 649998],
            bid_sizes_lots=[1520, 3, 400],
            ask_prices_ticks=[650002, 650005],
            ask_sizes_lots=[87, 1200],
            update_id=177400507,
            ts_exchange_ns=TS_NS,
            ts_gateway_ns=TS_NS + 2_500_000,
        ),
        Trade(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            trade_id="20c5dd3f-2b4c-5b1e-8d2b-5b1c0e6f0a11",
            price_ticks=650002,
            size_lots=3,
            taker_side=Side.BUY,
            ts_exchange_ns=TS_NS,
            ts_gateway_ns=TS_NS + 1_800_000,
        ),
        FeedStatus(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            state=FeedState.STALE,
            reason="gap: update_id 177400507 then 177400509",
            last_update_id=177400507,
            ts_event_ns=TS_NS,
        ),
    ]


def _quoting_examples() -> list[Message]:
    return [
        QuoteIntent(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            bids=_ladder(649990, -5),
            asks=_ladder(650010, 5),
            source_update_id=177400507,
            intent_id="qi-000001",
            ts_source_ns=TS_NS,
            ts_intent_ns=TS_NS + 40_000,
            reason="",
        ),
        OrderTarget(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            bids=_ladder(649990, -5),
            asks=[],
            target_id="ot-000001",
            intent_id="qi-000001",
            cancel_all=False,
            ts_target_ns=TS_NS + 60_000,
        ),
    ]


class _OrderFields(TypedDict):
    venue: str
    category: str
    symbol: str
    client_order_id: str
    venue_order_id: str
    side: Side
    price_ticks: int
    size_lots: int
    ts_event_ns: int


def _order_event_examples() -> list[Message]:
    order = _OrderFields(
        venue=VENUE,
        category=CATEGORY,
        symbol=SYMBOL,
        client_order_id=CLIENT_ORDER_ID,
        venue_order_id=VENUE_ORDER_ID,
        side=Side.BUY,
        price_ticks=650001,
        size_lots=10,
        ts_event_ns=TS_NS,
    )
    rejected = order.copy()
    rejected["venue_order_id"] = ""  # the venue never assigned one
    return [
        OrderAccepted(**order),
        OrderAmended(**order),
        OrderCancelled(**order, reason="EC_PostOnlyWillTakeLiquidity"),
        OrderRejected(**rejected, reason="EC_InvalidSymbolStatus"),
        OrderFilled(**order, filled_lots=4, leaves_lots=6, partial=True),
    ]


def _account_examples() -> list[Message]:
    return [
        Fill(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            fill_id="0ab1bdf7-4a5e-5e0f-9c1a-7d3f2b1c0e11",
            client_order_id=CLIENT_ORDER_ID,
            venue_order_id=VENUE_ORDER_ID,
            side=Side.SELL,
            price_ticks=650001,
            size_lots=4,
            fee="-0.0130002",
            fee_currency="USDT",
            is_maker=True,
            ts_exchange_ns=TS_NS,
            ts_received_ns=TS_NS + 3_000_000,
            seq=140612148849382,
        ),
        FundingSettlement(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            funding_id="5f0a3c2e-1d4b-5a6c-8e9f-0a1b2c3d4e5f",
            position_lots=-4,
            funding_rate="0.0001",
            mark_price="65000.15",
            fee="-0.02600006",
            fee_currency="USDT",
            ts_exchange_ns=TS_NS,
            ts_received_ns=TS_NS + 2_000_000,
        ),
        KpiSnapshot(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            side="sell",
            color="blue",
            ts_start_ns=TS_NS - 60_000_000_000,
            ts_end_ns=TS_NS,
            spread_pnl="0.0002",
            fee_pnl="0.0130002",
            net_pnl="0.0132002",
            fills=1,
            maker_fills=1,
            volume_lots=4,
            notional="260.0004",
            markout_quote={"1s": "-0.0002", "10s": "-0.0006"},
            markout_notional={"1s": "260.0004", "10s": "260.0004"},
            markout_fills={"1s": 1, "10s": 1},
            toxic_fills={"1s": 0, "10s": 0},
            orders_created=3,
            cancels=2,
        ),
        Position(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            size_lots=-4,
            entry_price="65000.1",
            realized_pnl="0.0130002",
            unrealized_pnl="-0.0004",
            ts_exchange_ns=TS_NS,
            reconciled=True,
            seq=140612148849382,
            ts_read_ns=TS_NS,
        ),
    ]


def _control_examples() -> list[Message]:
    return [
        RiskEvent(
            venue=VENUE,
            category=CATEGORY,
            symbol="",
            check="max_loss",
            outcome="halt",
            limit="500",
            observed="512.40",
            detail="daily loss over limit",
            ts_event_ns=TS_NS,
        ),
        HaltState(
            halted=True,
            reason="BTCUSDT market data down for 10001 ms",
            by="md_down",
            ts_changed_ns=TS_NS,
            transient=True,
        ),
        HaltRequest(reason="maintenance", operator="alice"),
        ResumeRequest(reason="maintenance done", operator="alice"),
        CancelAllRequest(symbol=SYMBOL),
        FlattenRequest(symbol=SYMBOL, operator="ops", max_slippage_bps=10),
        StatusRequest(),
        ConfigGetRequest(key="quoter.spread_bps"),
        ConfigSetRequest(key="quoter.spread_bps", value="4.5"),
        ConfigUnsetRequest(key="quoter.BTCUSDT"),
        CtlReply(ok=True, message="halted", data={"halted": "true", "open_orders": "0"}),
        Heartbeat(service="risk", instance_id="risk-0", ts_sent_ns=TS_NS),
        FeeSchedule(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            maker_fee_rate="-0.00005",
            taker_fee_rate="0.00055",
            ts_loaded_ns=TS_NS,
        ),
        PolicyDecision(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            decision_id=f"{SYMBOL}-7",
            stage="applied",
            rule="toxic_markout",
            key=f"quoter.{SYMBOL}",
            old_values={"min_spread_bps": "2.0"},
            new_values={"min_spread_bps": "2.5"},
            inputs={"markout_10s_bps": "-3.2", "fills": "41"},
            detail="10s markout -3.2 bps below -2.0: widen",
            ts_event_ns=TS_NS,
        ),
    ]


def _rollout_examples() -> list[Message]:
    return [
        RolloutState(
            rollout_id="r20241119a",
            phase=RAMPING,
            candidate={"min_spread_bps": "3.0", "levels": "2"},
            ramp_pct=[10, 25, 50, 100],
            step_index=1,
            split_pct=25,
            symbols=["ETHUSDT", "BTCUSDT", "SOLUSDT", "XRPUSDT"],
            green_symbols=["ETHUSDT"],
            step_window_s=3600,
            cooldown_s=600,
            tolerance_bps="0.5",
            gate={"presence_min": "0.8", "required": '["markout_10s", "presence"]'},
            seq=2,
            action="advance",
            reason="green passed the gate for 3600 s and is not worse than blue",
            kpis={"green.net_bps": "1.250", "blue.net_bps": "0.900"},
            ts_started_ns=TS_NS - 7_200_000_000_000,
            ts_step_started_ns=TS_NS,
            ts_changed_ns=TS_NS,
            ts_evaluated_ns=TS_NS,
        ),
        RolloutEvent(
            venue=VENUE,
            category=CATEGORY,
            rollout_id="r20241119a",
            seq=2,
            action="advance",
            phase=RAMPING,
            step_index=1,
            split_pct=25,
            green_symbols=["ETHUSDT"],
            reason="green passed the gate for 3600 s and is not worse than blue",
            kpis={"green.net_bps": "1.250", "blue.net_bps": "0.900"},
            ts_event_ns=TS_NS,
        ),
    ]


def _gate_examples() -> list[Message]:
    minute = 60_000_000_000
    return [
        TickToOrderSummary(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            ts_start_ns=TS_NS - minute,
            ts_end_ns=TS_NS,
            count=412,
            sampled=412,
            p50_nanos=1_850_000,
            p99_nanos=9_400_000,
            max_nanos=14_100_000,
        ),
        ObligationSummary(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            ts_start_ns=TS_NS - minute,
            ts_end_ns=TS_NS,
            snapshots=6,
            met=5,
        ),
        ReconciliationResult(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            outcome="mismatch",
            reason="private stream subscribed",
            ts_event_ns=TS_NS,
            removed=1,
            detail="removed: mm-1-42",
        ),
    ]


def examples() -> list[Message]:
    """One example of every message type, in the registry's order."""
    return [
        *_market_examples(),
        *_quoting_examples(),
        *_order_event_examples(),
        *_account_examples(),
        *_control_examples(),
        *_rollout_examples(),
        *_gate_examples(),
    ]
