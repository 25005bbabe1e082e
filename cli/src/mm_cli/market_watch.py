"""What `mm run` shows per symbol, gathered from the bus: mid, our quotes, inventory, PnL, fills.

It listens the way any operator tool would: core subscriptions to the gateway's books and
instruments, risk's order targets (what we are quoting), and the executor's fills and positions
(which JetStream also stores; the last position per symbol is read back from the EXEC stream at
start so a restarted view does not show a flat book it does not know). Why quotes are pulled and
why risk halted come from the quoter's and risk's `ctl.<service>.status` replies (`poll_status`).
Latency and obligation coverage come from the services' own `/metrics` (`scrape_metrics`), and
each service's readiness from its `/readyz` (`probe_readiness`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from decimal import Decimal

import aiohttp
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.errors import NotFoundError
from prometheus_client.parser import text_string_to_metric_families

from mm_proto import (
    BookTop,
    CtlReply,
    Fill,
    InstrumentDefinition,
    OrderTarget,
    Position,
    StatusRequest,
    codec,
    subjects,
)

STATUS_TIMEOUT_S = 1.0
UNKNOWN = "unknown"  # a status that could not be read (the service is down or busy)


@dataclass
class SymbolView:
    """The latest facts about one symbol."""

    instrument: InstrumentDefinition | None = None
    best_bid_ticks: int = 0
    best_ask_ticks: int = 0
    our_bid_ticks: int = 0
    our_ask_ticks: int = 0
    quoting: bool = False
    position: Position | None = None
    fills: int = 0
    rebates: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    pull_reason: str = ""  # the quoter's: "" while it quotes, else stale, halted, cooldown, ...

    def price(self, ticks: int) -> str:
        if not ticks:
            return "-"
        if self.instrument is None:
            return f"{ticks}t"
        return self.instrument.ticks_to_price(ticks)

    @property
    def mid(self) -> str:
        if not (self.best_bid_ticks and self.best_ask_ticks):
            return "-"
        if self.instrument is None:
            return f"{(self.best_bid_ticks + self.best_ask_ticks) / 2:.1f}t"
        tick = Decimal(self.instrument.tick_size)
        return f"{(self.best_bid_ticks + self.best_ask_ticks) * tick / 2:.{_decimals(tick) + 1}f}"

    @property
    def spread_bps(self) -> str:
        if not (self.quoting and self.our_bid_ticks and self.our_ask_ticks):
            return "-"
        mid = (self.our_bid_ticks + self.our_ask_ticks) / 2
        return f"{(self.our_ask_ticks - self.our_bid_ticks) / mid * 1e4:.1f}"

    @property
    def inventory(self) -> str:
        if self.position is None:
            return "0"
        lots = self.position.size_lots
        if self.instrument is None:
            return f"{lots}l"
        quantity = self.instrument.lots_to_qty(abs(lots)).rstrip("0").rstrip(".") or "0"
        return f"-{quantity}" if lots < 0 else quantity

    @property
    def pnl(self) -> Decimal:
        if self.position is None:
            return Decimal(0)
        return Decimal(self.position.realized_pnl) + Decimal(self.position.unrealized_pnl)


def _decimals(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


@dataclass
class MarketWatch:
    """Per-symbol views, kept current by `attach`."""

    venue: str
    category: str
    symbols: tuple[str, ...]
    views: dict[str, SymbolView] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    halt: str = UNKNOWN  # risk's kill switch: "" when trading, else "by <who>: <reason>"

    def __post_init__(self) -> None:
        self.views = {symbol: SymbolView() for symbol in self.symbols}

    async def attach(self, client: Client) -> None:
        """Subscribe to what the view shows and read the last known positions back."""
        venue, category = self.venue, self.category
        await client.subscribe(subjects.instrument_pattern(venue, category), cb=self._on_instrument)
        await client.subscribe(subjects.book_pattern(venue, category), cb=self._on_book)
        await client.subscribe(subjects.order_target_pattern(venue, category), cb=self._on_target)
        await client.subscribe(subjects.exec_fill_pattern(venue, category), cb=self._on_fill)
        await client.subscribe(
            subjects.exec_position_pattern(venue, category), cb=self._on_position
        )
        jetstream = client.jetstream()
        for symbol in self.symbols:
            subject = subjects.exec_position(venue, category, symbol)
            with contextlib.suppress(NotFoundError, codec.DecodeError):
                stored = await jetstream.get_last_msg(subjects.EXEC_STREAM, subject)
                if stored.data:
                    self.views[symbol].position = codec.decode(stored.data, Position)

    async def poll_status(self, client: Client) -> None:
        """Ask the quoter and risk for their status and keep the parts the view shows."""
        quoter = await _status(client, "quoter")
        for symbol, view in self.views.items():
            if quoter is None:
                view.pull_reason = UNKNOWN
            else:
                view.pull_reason = quoter.data.get(f"{symbol}.pull_reason", UNKNOWN)
        risk = await _status(client, "risk")
        if risk is None:
            self.halt = UNKNOWN
        elif risk.data.get("halted") == "true":
            self.halt = f"by {risk.data.get('halt_by', '?')}: {risk.data.get('halt_reason', '')}"
        else:
            self.halt = ""

    def _view(self, symbol: str) -> SymbolView | None:
        return self.views.get(symbol)

    async def _on_instrument(self, msg: Msg) -> None:
        with contextlib.suppress(codec.DecodeError):
            instrument = codec.decode(msg.data, InstrumentDefinition)
            if view := self._view(instrument.symbol):
                view.instrument = instrument

    async def _on_book(self, msg: Msg) -> None:
        with contextlib.suppress(codec.DecodeError):
            top = codec.decode(msg.data, BookTop)
            if view := self._view(top.symbol):
                view.best_bid_ticks, view.best_ask_ticks = top.bid_price_ticks, top.ask_price_ticks

    async def _on_target(self, msg: Msg) -> None:
        with contextlib.suppress(codec.DecodeError):
            target = codec.decode(msg.data, OrderTarget)
            if view := self._view(target.symbol):
                view.quoting = not target.cancel_all and bool(target.bids or target.asks)
                view.our_bid_ticks = max((level.price_ticks for level in target.bids), default=0)
                view.our_ask_ticks = min((level.price_ticks for level in target.asks), default=0)

    async def _on_fill(self, msg: Msg) -> None:
        with contextlib.suppress(codec.DecodeError):
            fill = codec.decode(msg.data, Fill)
            if view := self._view(fill.symbol):
                view.fills += 1
                fee = Decimal(fill.fee)
                view.fees += fee
                if fee < 0:
                    view.rebates -= fee

    async def _on_position(self, msg: Msg) -> None:
        with contextlib.suppress(codec.DecodeError):
            position = codec.decode(msg.data, Position)
            if view := self._view(position.symbol):
                view.position = position


async def _status(client: Client, service: str) -> CtlReply | None:
    try:
        reply = await client.request(
            subjects.ctl(service, "status"), codec.encode(StatusRequest()), STATUS_TIMEOUT_S
        )
        return codec.decode(reply.data, CtlReply)
    except (nats.errors.Error, TimeoutError, codec.DecodeError):
        return None


async def probe_readiness(port: int) -> str:
    """A service's `/readyz`: "ready", "not ready: <its reason>", or "down" (no answer)."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.5)) as session,
            session.get(f"http://127.0.0.1:{port}/readyz") as reply,
        ):
            body = await reply.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return "down"
    if reply.status == 200:
        return "ready"
    reason = str(body.get("reason", "")) if isinstance(body, dict) else ""
    return f"not ready: {reason}" if reason else "not ready"


async def scrape_metrics(port: int) -> dict[str, float]:
    """Every sample of a service's `/metrics` keyed `name{labels}`; empty when it is down."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.5)) as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as reply,
        ):
            text = await reply.text()
    except (aiohttp.ClientError, TimeoutError):
        return {}
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{key}={value}" for key, value in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def histogram_quantile(samples: dict[str, float], name: str, quantile: float) -> float | None:
    """A quantile from a histogram's cumulative buckets summed over its labels (upper bound)."""
    buckets: dict[float, float] = {}
    prefix = f"{name}_bucket{{"
    for key, value in samples.items():
        if not key.startswith(prefix):
            continue
        labels = dict(part.split("=", 1) for part in key[len(prefix) : -1].split(",") if part)
        bound = float(labels.get("le", "inf"))
        buckets[bound] = buckets.get(bound, 0.0) + value
    if not buckets or max(buckets.values()) <= 0:
        return None
    total = buckets[max(buckets)]
    for bound in sorted(buckets):
        if buckets[bound] >= quantile * total:
            return bound
    return None
