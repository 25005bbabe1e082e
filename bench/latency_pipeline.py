"""The tick-to-order pipeline wired in one process without NATS: the latency benchmark's baseline.

Per venue frame, the same pure code the services run: the gateway's `SymbolBook` (Rust apply,
feed state, BookTop), the quoter's `SymbolQuoter.on_touch` and `intent_from_decision`, risk's
`RiskEngine.on_intent`, the executor's `plan_actions`, the venue request objects, the trade-WS
message encode, and a write to a loopback socket. Orders are assumed to rest as planned (the
venue's acknowledgement is not part of tick-to-order). Frames are synthetic `orderbook.50`
snapshots and deltas whose top moves by -2..+2 ticks a frame.
"""

from __future__ import annotations

import json
import random
import socket
import time
from dataclasses import replace

import msgspec

from executor.own_orders import OrderState, TrackedOrder
from executor.planner import Amend, Cancel, Create, VenueRules, plan_actions
from md_gateway.feed_state import SymbolFeed
from md_gateway.symbol_book import SymbolBook
from mm_bybit.order_requests import AmendOrder, CancelOrder, CreateOrder, batch_body
from mm_proto import InstrumentDefinition, OrderTarget, Side
from mm_proto.quoting import Ladder
from quoter.messages import intent_from_decision, touch_from_book
from quoter.params import QuoterParams
from quoter.strategy import SymbolQuoter
from risk.engine import HaltStatus, RiskEngine
from risk.limits import RiskLimits

TICK, LOT = "0.10", "0.001"
_SIDES = {Side.BUY: "Buy", Side.SELL: "Sell"}


def synthetic_frames(symbol: str, count: int, seed: int) -> list[bytes]:
    """A 50-level snapshot, then `count - 1` deltas moving the touch like the sim's market."""
    rng = random.Random(seed)
    mid = 600_000  # ticks: 60000.0
    levels = 50

    def side_levels(best_bid: int, best_ask: int) -> tuple[list[list[str]], list[list[str]]]:
        bids = [
            [f"{(best_bid - i) / 10:.1f}", f"{rng.randint(1, 900) / 1000:.3f}"]
            for i in range(levels)
        ]
        asks = [
            [f"{(best_ask + i) / 10:.1f}", f"{rng.randint(1, 900) / 1000:.3f}"]
            for i in range(levels)
        ]
        return bids, asks

    frames = []
    bids, asks = side_levels(mid - 1, mid + 1)
    snapshot = {"topic": f"orderbook.50.{symbol}", "type": "snapshot", "ts": 1, "cts": 1,
                "data": {"s": symbol, "b": bids, "a": asks, "u": 1, "seq": 1}}  # fmt: skip
    frames.append(json.dumps(snapshot).encode())
    for update in range(2, count + 1):
        move = rng.randint(-2, 2)
        old_bid, old_ask = mid - 1, mid + 1
        mid += move
        new_bids, new_asks = side_levels(mid - 1, mid + 1)
        gone_bids = [[f"{p / 10:.1f}", "0"] for p in range(mid - 1 + 1, old_bid + 1)]
        gone_asks = [[f"{p / 10:.1f}", "0"] for p in range(old_ask, mid + 1)]
        delta = {"topic": f"orderbook.50.{symbol}", "type": "delta", "ts": update, "cts": update,
                 "data": {"s": symbol, "b": gone_bids + new_bids[:3], "a": gone_asks + new_asks[:3],
                          "u": update, "seq": update}}  # fmt: skip
        frames.append(json.dumps(delta).encode())
    return frames


class InProcessPipeline:
    """One symbol's gateway book, quoter, risk engine and executor planner, with a venue socket."""

    def __init__(self, symbol: str, sink: socket.socket) -> None:
        self.symbol = symbol
        self.sink = sink
        self.definition = InstrumentDefinition(
            venue="bybit", category="linear", symbol=symbol, base_coin="BTC", quote_coin="USDT",
            status="Trading", tick_size=TICK, lot_size=LOT, min_qty_lots=1, max_qty_lots=10**6,
            min_notional="5",
        )  # fmt: skip
        now_s = time.monotonic()
        self.book = SymbolBook(self.definition, SymbolFeed(symbol, 5.0, 5.0, now_s), 50, 20, 0.1)
        params = QuoterParams(min_spread_bps=0.1, k_vola_spread=0.1)
        grid = self.definition.grid()
        self.quoter = SymbolQuoter(grid, params, maker_fee_rate=-0.00005)
        self.quoter.on_feed(True, time.time_ns())
        self.engine = RiskEngine({symbol: grid}, RiskLimits(), HaltStatus(), time.time_ns())
        self.live: list[TrackedOrder] = []
        self.sequence = 0
        self.orders_sent = 0

    def on_frame(self, payload: bytes, received_ns: int) -> bool:
        """Run one frame through; True when it led to a venue request written to the socket."""
        applied = self.book.apply(payload, time.monotonic())
        if not applied.publishable:
            return False
        top = self.book.top(applied.update_id, received_ns)
        now = time.time_ns()
        self.engine.on_book(self.symbol, top.bid_price_ticks, top.ask_price_ticks, now, now)
        decision = self.quoter.on_touch(touch_from_book(top), now)
        if not decision.publish:
            return False
        self.sequence += 1
        intent = intent_from_decision(
            decision, "bybit", "linear", self.symbol, f"i{self.sequence}", top.ts_exchange_ns, now,
            top.ts_gateway_ns,
        )  # fmt: skip
        ladder = Ladder(tuple(intent.bids), tuple(intent.asks))
        outcome = self.engine.on_intent(self.symbol, ladder, intent.intent_id, time.time_ns())
        if outcome.target is None:
            return False
        target = OrderTarget(
            venue="bybit", category="linear", symbol=self.symbol,
            bids=list(outcome.target.ladder.bids), asks=list(outcome.target.ladder.asks),
            target_id=f"t{self.sequence}", intent_id=intent.intent_id, ts_target_ns=time.time_ns(),
            ts_tick_ns=intent.ts_tick_ns,
        )  # fmt: skip
        plan = plan_actions(self.live, target, self.definition, VenueRules())
        if not plan.actions:
            return False
        self._write(plan.actions)
        self._assume_resting(plan.actions)
        return True

    def _write(self, actions: list[Create | Amend | Cancel]) -> None:
        requests = [self._request(action) for action in actions]
        kind = {CreateOrder: "order.create", AmendOrder: "order.amend", CancelOrder: "order.cancel"}
        operation = kind[type(requests[0])]
        args = [batch_body(requests)] if len(requests) > 1 else requests
        message = {
            "reqId": f"b-{self.sequence}",
            "header": {"X-BAPI-TIMESTAMP": str(time.time_ns() // 1_000_000),
                       "X-BAPI-RECV-WINDOW": "5000"},
            "op": operation + ("-batch" if len(requests) > 1 else ""),
            "args": args,
        }  # fmt: skip
        self.sink.send(msgspec.json.encode(message))
        self.orders_sent += 1

    def _request(self, action: Create | Amend | Cancel) -> CreateOrder | AmendOrder | CancelOrder:
        definition = self.definition
        if isinstance(action, Create):
            self.sequence += 1
            return CreateOrder(
                category="linear", symbol=self.symbol, side=_SIDES[action.side], order_type="Limit",
                qty=definition.lots_to_qty(action.size_lots),
                price=definition.ticks_to_price(action.price_ticks), time_in_force="PostOnly",
                order_link_id=f"c{self.sequence}",
            )  # fmt: skip
        if isinstance(action, Amend):
            return AmendOrder(
                category="linear", symbol=self.symbol, order_link_id=action.client_order_id,
                price=definition.ticks_to_price(action.price_ticks),
            )  # fmt: skip
        return CancelOrder(
            category="linear", symbol=self.symbol, order_link_id=action.client_order_id
        )

    def _assume_resting(self, actions: list[Create | Amend | Cancel]) -> None:
        for action in actions:
            if isinstance(action, Create):
                self.sequence += 1
                self.live.append(
                    TrackedOrder(
                        f"c{self.sequence}",
                        action.side,
                        action.price_ticks,
                        action.size_lots,
                        OrderState.LIVE,
                        since_s=0.0,
                    )
                )
            elif isinstance(action, Amend):
                self.live = [
                    replace(o, price_ticks=action.price_ticks, size_lots=action.size_lots)
                    if o.client_order_id == action.client_order_id
                    else o
                    for o in self.live
                ]
            else:
                self.live = [o for o in self.live if o.client_order_id != action.client_order_id]


def run_baseline(symbols: int = 10, frames_per_symbol: int = 1500) -> list[int]:
    """Tick-to-order samples (ns) of every frame that led to a venue write, round-robin symbols."""
    sink, drain = socket.socketpair()
    drain.setblocking(False)
    pipelines = [InProcessPipeline(f"S{index:02d}USDT", sink) for index in range(symbols)]
    streams = [
        synthetic_frames(p.symbol, frames_per_symbol, seed) for seed, p in enumerate(pipelines)
    ]
    samples: list[int] = []
    for position in range(frames_per_symbol):
        for pipeline, frames in zip(pipelines, streams, strict=True):
            received = time.time_ns()
            if pipeline.on_frame(frames[position], received):
                samples.append(time.time_ns() - received)
        try:
            while drain.recv(1 << 16):
                pass
        except BlockingIOError:
            pass
    sink.close()
    drain.close()
    return samples
