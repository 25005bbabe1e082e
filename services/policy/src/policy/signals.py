"""What the rules read: the ledger's KPI rows and the feed's health, kept per symbol, as figures.

`KpiWindow` keeps each symbol's recent `KpiSnapshot` rows (all sides and colors: each row carries
its own figures, so sums never double count) and turns those ending within a window into
`Signals`, with the realized volatility of their mids (`policy.volatility`). A row with a money
figure that is not a finite decimal is refused whole (counted by the caller), so a NaN or garbage
figure never reaches a rule. `FeedHealth` counts each symbol's stale and resync events.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from mm_proto import FeedState, FeedStatus, KpiSnapshot
from policy.volatility import mid_points, realized_bps

_KEEP = 10_000  # rows kept per symbol; a minute's rows are a handful


def decimal(text: str) -> Decimal | None:
    """A finite decimal, or None."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return value if value.is_finite() else None


@dataclass(frozen=True)
class Signals:
    """One symbol's figures over a window, as the rules read them (None: no data)."""

    rows: int
    newest_end_ns: int
    fills: int
    markout_fills: int
    markout_bps: float | None  # per traded notional at the policy's horizon; positive is good
    toxic_share: float | None
    reject_share: float | None  # rejects per order action
    amend_failures: int  # retCode 110001
    presence: float | None  # two-sided share of observed time
    position_lots: int
    fee_bps: float | None  # fees per traded notional, a rebate being positive
    # A markout is measured from the fill price, so it already holds the spread captured: the
    # net edge of a fill is the markout plus the fees, per traded notional. Adding the ledger's
    # `spread_pnl` as well would count the spread twice.
    edge_bps: float | None
    mid_half_ticks: int
    # Realized volatility of the rows' mids, bps per minute (`policy.volatility`): over the
    # window, and over the longer baseline the regime is judged against.
    volatility_bps: float | None = None
    volatility_baseline_bps: float | None = None

    def inputs(self) -> dict[str, str]:
        """The figures as text, for a decision's record."""
        return {
            name: ""
            if value is None
            else (f"{value:.4f}" if isinstance(value, float) else str(value))
            for name, value in self.__dict__.items()
        }


class KpiWindow:
    """Each symbol's recent KPI rows."""

    def __init__(self, horizon: str) -> None:
        self.horizon = horizon
        self._rows: dict[str, deque[KpiSnapshot]] = {}

    def add(self, row: KpiSnapshot) -> bool:
        """Keep `row`; False (refused) when a figure is not a finite decimal."""
        texts = [row.spread_pnl, row.fee_pnl, row.net_pnl, row.notional]
        texts += list(row.markout_quote.values()) + list(row.markout_notional.values())
        if any(decimal(text) is None for text in texts):
            return False
        self._rows.setdefault(row.symbol, deque(maxlen=_KEEP)).append(row)
        return True

    def newest_end_ns(self, symbol: str) -> int:
        rows = self._rows.get(symbol)
        return max((row.ts_end_ns for row in rows), default=0) if rows else 0

    def signals(
        self, symbol: str, now_ns: int, window_s: float, baseline_s: float | None = None
    ) -> Signals:
        """The figures of the rows ending within `window_s`; volatility also over `baseline_s`."""
        since = now_ns - int(window_s * 1e9)
        rows = [row for row in self._rows.get(symbol, ()) if row.ts_end_ns > since]
        signals = summarise(rows, self.horizon)
        if baseline_s is None:
            return signals
        since_base = now_ns - int(baseline_s * 1e9)
        base = [row for row in self._rows.get(symbol, ()) if row.ts_end_ns > since_base]
        return dataclasses.replace(
            signals,
            volatility_bps=realized_bps(_mids(rows)),
            volatility_baseline_bps=realized_bps(_mids(base)),
        )


def summarise(rows: list[KpiSnapshot], horizon: str) -> Signals:
    """The figures of `rows` (one symbol's), summed."""
    notional = sum((decimal(row.notional) or Decimal(0) for row in rows), Decimal(0))
    markout = sum(
        (decimal(row.markout_quote.get(horizon, "0")) or Decimal(0) for row in rows), Decimal(0)
    )
    markout_notional = sum(
        (decimal(row.markout_notional.get(horizon, "0")) or Decimal(0) for row in rows), Decimal(0)
    )
    markout_fills = sum(row.markout_fills.get(horizon, 0) for row in rows)
    toxic = sum(row.toxic_fills.get(horizon, 0) for row in rows)
    actions = sum(row.orders_created + row.amends + row.cancels for row in rows)
    rejects = sum(sum(row.rejects.values()) for row in rows)
    observed = sum(row.observed_nanos for row in rows)
    fees = sum((decimal(row.fee_pnl) or Decimal(0) for row in rows), Decimal(0))
    markout_bps, fee_bps = _bps(markout, markout_notional), _bps(fees, notional)
    whole = sorted((row for row in rows if row.side == "all"), key=lambda row: row.ts_end_ns)
    latest = {row.color: row for row in whole}  # the newest `all` row per color
    return Signals(
        rows=len(rows),
        newest_end_ns=max((row.ts_end_ns for row in rows), default=0),
        fills=sum(row.fills for row in rows),
        markout_fills=markout_fills,
        markout_bps=markout_bps,
        toxic_share=toxic / markout_fills if markout_fills else None,
        reject_share=rejects / actions if actions else None,
        amend_failures=sum(row.rejects.get("110001", 0) for row in rows),
        presence=sum(row.two_sided_nanos for row in rows) / observed if observed else None,
        position_lots=sum(row.position_lots_end for row in latest.values()),
        fee_bps=fee_bps,
        edge_bps=None if markout_bps is None else markout_bps + (fee_bps or 0.0),
        mid_half_ticks=whole[-1].mid_end_half_ticks if whole else 0,
    )


def _mids(rows: list[KpiSnapshot]) -> list[tuple[int, int]]:
    return mid_points((row.ts_end_ns, row.mid_end_half_ticks) for row in rows if row.side == "all")


def _bps(amount: Decimal, notional: Decimal) -> float | None:
    return float(amount * 10_000 / notional) if notional > 0 else None


class FeedHealth:
    """Each symbol's stale and resync events, by the policy's clock."""

    def __init__(self) -> None:
        self._events: dict[str, deque[int]] = {}

    def on_status(self, status: FeedStatus, now_ns: int) -> None:
        if status.state is not FeedState.LIVE:
            self._events.setdefault(status.symbol, deque(maxlen=_KEEP)).append(now_ns)

    def events_within(self, symbol: str, now_ns: int, window_s: float) -> int:
        since = now_ns - int(window_s * 1e9)
        return sum(1 for ts in self._events.get(symbol, ()) if ts > since)

    def quiet_for_s(self, symbol: str, now_ns: int) -> float | None:
        """Seconds since the symbol's last event, or None when it never had one."""
        events = self._events.get(symbol)
        return (now_ns - events[-1]) / 1e9 if events else None
