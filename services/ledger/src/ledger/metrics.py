"""The ledger's Prometheus metrics: the headline economics per symbol, side and color."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class LedgerMetrics:
    """Gauges are set from the running report after each flush; counters as inputs arrive."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.pnl = Gauge(
            "ledger_pnl_quote",
            "PnL in quote currency since the books were opened, by component "
            "(spread, fees, inventory, funding, net; positive is good for us)",
            ["symbol", "component", "color"],
            registry=registry,
        )
        self.markout = Gauge(
            "ledger_markout_bps",
            "Volume-weighted markout in bps at each horizon, positive is good for us",
            ["symbol", "side", "horizon", "color"],
            registry=registry,
        )
        self.toxic_share = Gauge(
            "ledger_toxic_share",
            "Share of fills whose markout at the horizon was worse than their rebate",
            ["symbol", "side", "horizon", "color"],
            registry=registry,
        )
        self.presence = Gauge(
            "ledger_presence_ratio",
            "Share of the last window with live orders on both sides",
            ["symbol"],
            registry=registry,
        )
        self.drawdown = Gauge(
            "ledger_drawdown_quote",
            "Net PnL below its running peak, in quote currency",
            ["symbol", "color"],
            registry=registry,
        )
        self.position = Gauge(
            "ledger_position_lots",
            "The position the ledger books, from fills",
            ["symbol", "color"],
            registry=registry,
        )
        self.exec_messages = Counter(
            "ledger_exec_messages_total",
            "EXEC facts and marks by family and what became of them (marks applied: "
            "ledger_marks_applied_total)",
            ["family", "outcome"],
            registry=registry,
        )
        self.risk_events = Counter(
            "ledger_risk_events_total",
            "Risk events seen, by check and outcome",
            ["symbol", "check", "outcome"],
            registry=registry,
        )
        self.snapshots = Counter(
            "ledger_kpi_snapshots_total",
            "KPI snapshots stored, and flushes that failed",
            ["outcome"],
            registry=registry,
        )
        self.weekly_files = Counter(
            "ledger_weekly_files_total",
            "Weekly rollup files written, and attempts that failed",
            ["outcome"],
            registry=registry,
        )
        self.marks_applied = Counter(
            "ledger_marks_applied", "Marks (md.mark) applied to the books", registry=registry
        )
        self.consumer_pending = Gauge(
            "ledger_consumer_pending",
            "Messages not yet delivered to the ledger's consumers, by stream (EXEC, MARKS)",
            ["stream"],
            registry=registry,
        )
        self.held_inputs = Gauge(
            "ledger_held_inputs",
            "Inputs held by the reorder hold, not yet applied",
            registry=registry,
        )
