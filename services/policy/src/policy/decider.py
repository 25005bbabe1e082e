"""One evaluation round: hold, finish what a crash left, then decide and write per symbol.

A round holds every symbol (and writes nothing) while risk's kill switch is on or the quoter's
config cannot be read; a symbol's KPI-driven rules hold while its newest KPI row is older than
`stale_after_s` (the feed rule still runs: pulling a symbol is the safe direction). A decision
is published `decided` before its entry is written and `applied` / `refused` after; a decision a
crash left `decided` is finished first: applied if the entry already holds its values, written if
it still holds the old ones, refused if someone changed them by hand meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from mm_proto import PolicyDecision
from mm_proto.instrument import Grid
from mm_runtime.live_config import LiveConfig
from policy.budgets import Allocation, Holding, allocation, gross_ceilings, within_gross
from policy.journal import Journal
from policy.metrics import PolicyMetrics
from policy.params import PolicyParams
from policy.plan import Change, plan_changes
from policy.quoter_config import (
    QuoterConfig,
    QuoterUnreachableError,
    QuoterView,
    encode_value,
    entry_key,
)
from policy.rules import FeedView, Proposal, autopolicy
from policy.signals import FeedHealth, KpiWindow

_log = logging.getLogger("policy.decider")
RATE_LIMITED = "rate limited"  # how `mm_runtime.ctl_limits` begins a refusal for over-budget
Publish = Callable[[PolicyDecision], Awaitable[None]]


@dataclass
class Inputs:
    """What the round reads besides the quoter: KPI rows, feed health, the halt, the grids."""

    kpi: KpiWindow
    feed: FeedHealth
    grids: Mapping[str, Grid]
    halted: Callable[[], str]  # why the kill switch is on, or ""


@dataclass
class Decider:
    """Decides for `symbols` each round; see the module docstring."""

    venue: str
    category: str
    symbols: list[str]
    config: LiveConfig[PolicyParams]
    quoter: QuoterConfig
    journal: Journal
    inputs: Inputs
    publish: Publish
    metrics: PolicyMetrics
    clock: Callable[[], int] = time.time_ns
    held: dict[str, str] = field(default_factory=dict)  # symbol -> why it is held
    skipped: dict[str, list[str]] = field(default_factory=dict)  # symbol -> pinned proposals
    weights: dict[str, float] = field(default_factory=dict)
    gross_lots: dict[str, int] = field(default_factory=dict)  # the allocator's gross ceilings
    view: QuoterView | None = None
    rounds: int = 0  # rounds begun since start

    async def round(self) -> None:
        """One evaluation of every symbol."""
        self.rounds += 1
        halt = self.inputs.halted()
        if halt:
            await self._hold_all(f"kill switch on: {halt}")
            return
        try:
            view = self.view = await self.quoter.read()
        except QuoterUnreachableError as error:
            await self._hold_all(str(error))
            return
        if self.journal.pending:
            for decision in list(self.journal.pending.values()):
                await self._finish(decision, view)
            view = self.view = await self.quoter.read()
        now = self.clock()
        wishes = self._allocator(view, now).wishes
        written = self.journal.writes
        for symbol in self.symbols:
            halt = self.inputs.halted()
            if halt:  # the kill switch came on mid-round: nothing more is written
                await self._hold_all(f"kill switch on: {halt}")
                return
            await self._decide(symbol, view, now, wishes.get(symbol, []))
        if self.journal.writes != written:
            # What status and the gauges compare with the journal must include this round's
            # writes: the view read before them would show the policy's own fields as pinned.
            with contextlib.suppress(QuoterUnreachableError):
                view = self.view = await self.quoter.read()
        self._gauges(view)

    async def _decide(
        self, symbol: str, view: QuoterView, now: int, wishes: list[Proposal]
    ) -> None:
        params = self.config.values.for_symbol(symbol)
        if params.mode == "off":
            await self._hold(symbol, "")
            return
        kpi = self.inputs.kpi
        fresh = kpi.newest_end_ns(symbol) > now - int(params.stale_after_s * 1e9)
        signals = (
            kpi.signals(symbol, now, params.window_s, params.vola_baseline_s) if fresh else None
        )
        await self._hold(symbol, "" if fresh else f"no KPI within {params.stale_after_s:.0f} s")
        feed = self.inputs.feed
        feed_view = FeedView(
            feed.events_within(symbol, now, params.window_s),
            feed.quiet_for_s(symbol, now),
            symbol in self.journal.pulled,
        )
        proposals = autopolicy(params, signals, view.values(symbol), feed_view)
        if fresh:
            proposals.extend(wishes)
        changed = {name: ts for (s, name), ts in self.journal.changed_ns.items() if s == symbol}
        pinned = view.pinned(symbol, self.journal.written)
        values, gross = view.values(symbol), self.gross_lots.get(symbol)
        gross_on = self.config.values.default.allocator and self.config.values.default.gross
        ceilings = gross_ceilings(values, gross, bool(gross_on))
        changes, self.skipped[symbol] = plan_changes(
            params, proposals, values, pinned, changed, now, ceilings
        )
        changes = within_gross(changes, values, gross if gross_on else None)
        if changes:
            inputs = signals.inputs() if signals is not None else {}
            inputs["feed_events"] = str(feed_view.events)
            await self._record(symbol, params, changes, view, inputs, now)

    async def _record(
        self,
        symbol: str,
        params: PolicyParams,
        changes: list[Change],
        view: QuoterView,
        inputs: dict[str, str],
        now: int,
    ) -> None:
        decision = PolicyDecision(
            venue=self.venue,
            category=self.category,
            symbol=symbol,
            decision_id=self.journal.next_id(symbol),
            stage="dry_run" if params.mode == "dry_run" else "decided",
            rule="+".join(sorted({change.rule for change in changes})),
            key=entry_key(symbol),
            old_values={c.field: encode_value(c.old) for c in changes},
            new_values={c.field: encode_value(c.new) for c in changes},
            inputs=inputs,
            detail="; ".join(change.detail for change in changes),
            ts_event_ns=now,
        )
        await self._store(decision)
        if decision.stage == "decided":
            await self._write(decision, view.entry(symbol))

    async def _write(self, decision: PolicyDecision, entry: dict[str, Any]) -> None:
        new = {name: _decode(value) for name, value in decision.new_values.items()}
        try:
            reply = await self.quoter.write(decision.symbol, {**entry, **new})
        except QuoterUnreachableError as error:
            # Left `decided`: the next round (or a restart) finishes it.
            _log.warning("decision not written yet", extra={"error": str(error)})
            return
        if not reply.ok and reply.message.startswith(RATE_LIMITED):
            return  # the quoter's ctl budget (config-set: 0.5/s): left `decided`, finished later
        stage, detail = ("applied", decision.detail) if reply.ok else ("refused", reply.message)
        await self._store(_with(decision, stage, detail, self.clock()))

    async def _finish(self, decision: PolicyDecision, view: QuoterView) -> None:
        entry = view.entry(decision.symbol)
        held = {
            name: encode_value(entry.get(name, view.values(decision.symbol).get(name)))
            for name in decision.new_values
        }
        if held == decision.new_values:
            await self._store(_with(decision, "applied", decision.detail, self.clock()))
        elif held == decision.old_values:
            await self._write(decision, entry)
        else:
            detail = f"changed by hand before it was written: now {held}"
            await self._store(_with(decision, "refused", detail, self.clock()))

    async def _store(self, decision: PolicyDecision) -> None:
        await self.publish(decision)
        self.journal.apply(decision)
        self.metrics.decisions.labels(decision.symbol, decision.rule, decision.stage).inc()
        _log.info(
            "policy decision",
            extra={
                "symbol": decision.symbol,
                "decision_id": decision.decision_id,
                "stage": decision.stage,
                "rule": decision.rule,
                "new_values": decision.new_values,
            },
        )

    def _allocator(self, view: QuoterView, now: int) -> Allocation:
        portfolio = self.config.values.default
        if not portfolio.allocator:
            return Allocation()
        if now - self.journal.rebalanced_ns < portfolio.rebalance_interval_s * 1e9:
            return Allocation()
        holdings: dict[str, Holding] = {}
        for symbol in self.symbols:
            params = self.config.values.for_symbol(symbol)
            grid = self.inputs.grids.get(symbol)
            lots = view.values(symbol).get("max_inventory_lots")
            fresh = self.inputs.kpi.newest_end_ns(symbol) > now - int(params.stale_after_s * 1e9)
            if params.mode != "off" and grid is not None and isinstance(lots, int) and fresh:
                signals = self.inputs.kpi.signals(symbol, now, params.window_s)
                holdings[symbol] = Holding(signals, grid, view.values(symbol))
        per_symbol = {s: self.config.values.for_symbol(s) for s in holdings}
        done = allocation(portfolio, per_symbol, holdings)
        self.weights = done.weights
        self.gross_lots.update(done.gross_lots)
        return done

    async def _hold(self, symbol: str, reason: str) -> None:
        """Note a change in why `symbol` is held ("" when it is not), as a `held` fact."""
        self.metrics.held.labels(symbol).set(1 if reason else 0)
        if self.held.get(symbol, "") == reason:
            return
        self.held[symbol] = reason
        now = self.clock()
        await self._store(
            PolicyDecision(
                venue=self.venue,
                category=self.category,
                symbol=symbol,
                decision_id=f"{symbol}-held@{now}",  # not a numbered decision
                stage="held",
                rule="hold" if reason else "resume",
                detail=reason or "inputs fresh again: deciding",
                ts_event_ns=now,
            )
        )

    async def _hold_all(self, reason: str) -> None:
        for symbol in self.symbols:
            await self._hold(symbol, reason)

    def _gauges(self, view: QuoterView) -> None:
        for symbol in self.symbols:
            values = view.values(symbol)
            for name in (
                "min_spread_bps",
                "level_size_lots",
                "refresh_price_ticks",
                "max_inventory_lots",
                "enabled",
            ):
                value = values.get(name)
                if isinstance(value, int | float):
                    self.metrics.parameter.labels(symbol, name).set(float(value))
            self.metrics.pinned.labels(symbol).set(len(view.pinned(symbol, self.journal.written)))
        for symbol, weight in self.weights.items():
            self.metrics.weight.labels(symbol).set(weight)


def _with(decision: PolicyDecision, stage: str, detail: str, now: int) -> PolicyDecision:
    return msgspec.structs.replace(decision, stage=stage, detail=detail, ts_event_ns=now)


def _decode(text: str) -> object:
    return json.loads(text)
