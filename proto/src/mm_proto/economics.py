"""The ledger's facts: per-minute KPI snapshots of trading economics (stream KPI)."""

from typing import Annotated

import msgspec

from mm_proto.message import DEFAULT_COLOR, Color, Message, TimestampNs

KpiSide = Annotated[str, msgspec.Meta(pattern="^(buy|sell|all)$")]
"""A snapshot row's side: `buy`/`sell` for per-side figures, `all` for the symbol as a whole."""


class KpiSnapshot(Message, frozen=True, kw_only=True, tag="kpi_snapshot"):
    """The ledger's figures for one (symbol, side, color) over one window, usually a minute.

    Money is decimal strings in the quote currency, signed so that positive is good for us
    (`fee_pnl` is minus the venue's fees: a rebate is positive). Per-side rows carry the fill
    figures; the `all` row also carries inventory, funding and the quoting figures, which have
    no side. Sums and counts (never averages) so that windows add up exactly.
    """

    venue: str
    category: str
    symbol: str
    side: KpiSide
    color: Color = DEFAULT_COLOR
    # Durations and time integrals are in nanoseconds (`_nanos`); times are `ts_*_ns`.
    ts_start_ns: TimestampNs
    ts_end_ns: TimestampNs
    spread_pnl: str = "0"
    fee_pnl: str = "0"
    inventory_pnl: str = "0"
    funding_pnl: str = "0"
    net_pnl: str = "0"
    fills: int = 0
    maker_fills: int = 0
    volume_lots: int = 0
    notional: str = "0"
    # Per horizon ("1s", "10s", "60s"): sum of markouts in quote, fills measured, toxic fills.
    markout_quote: dict[str, str] = {}
    markout_notional: dict[str, str] = {}
    markout_fills: dict[str, int] = {}
    toxic_fills: dict[str, int] = {}
    orders_created: int = 0
    amends: int = 0
    cancels: int = 0
    rejects: dict[str, int] = {}  # by reason (the venue's retCode or rejectReason)
    observed_nanos: int = 0  # time with a known book and orders in view
    two_sided_nanos: int = 0  # of which with live orders on both sides
    depth_5bps_lot_nanos: int = 0  # time integral of our resting lots within 5 bps of mid
    depth_10bps_lot_nanos: int = 0
    quote_age_nanos_sum: int = 0  # age of orders when they left the book, summed
    quote_age_count: int = 0
    position_lots_end: int = 0
    position_lot_nanos: int = 0  # time integral of the signed position
    position_min_lots: int = 0
    position_max_lots: int = 0
    cumulative_net_pnl: str = "0"  # since the ledger's start of books, at ts_end_ns
    cumulative_spread_pnl: str = "0"  # the components of cumulative_net_pnl (`all` rows)
    cumulative_fee_pnl: str = "0"
    cumulative_inventory_pnl: str = "0"
    cumulative_funding_pnl: str = "0"
    max_drawdown: str = "0"  # of cumulative net PnL within the window, a non-negative amount
    # The ledger's restart point (on `all` rows): the mid (bid + ask ticks) it last marked the
    # position at, and the last EXEC stream sequence these figures include.
    mid_end_half_ticks: int = 0
    exec_sequence: int = 0
    # What else a restarted ledger resumes from (`all` rows): its open orders, pending markouts,
    # clocks and where it stood in streams EXEC and MARKS, as JSON owned by `ledger.resume`.
    resume_state: str = ""
