"""The executor's Prometheus metrics, created on the runtime's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from mm_runtime.loop_metrics import LoopCounter, LoopHistogram


class ExecutorMetrics:
    """Counters for venue actions and their outcomes, gauges for live state, send latency."""

    def __init__(self, registry: CollectorRegistry) -> None:
        # Per request, action, push and target, on the event loop: `mm_runtime.loop_metrics`.
        self.actions = LoopCounter(
            "mm_executor_venue_actions",
            "Order operations sent to the venue, by kind (create/amend/cancel) and outcome",
            ["kind", "outcome"],
            registry=registry,
        )
        self.requests = LoopCounter(
            "mm_executor_venue_requests",
            "Order-entry requests sent (a batch is one request), by kind and single/batch",
            ["kind", "shape"],
            registry=registry,
        )
        self.changed_levels = LoopCounter(
            "mm_executor_changed_orders",
            "Target levels that needed a venue change (for actions per changed order)",
            registry=registry,
        )
        self.refused_levels = Counter(
            "mm_executor_refused_levels",
            "Target levels refused before sending (size outside the instrument's limits)",
            registry=registry,
        )
        self.pushes = LoopCounter(
            "mm_executor_order_pushes",
            "Venue order pushes by what they meant",
            ["meaning"],
            registry=registry,
        )
        self.fills = Counter(
            "mm_executor_fills", "Fills published (new to the stream)", registry=registry
        )
        self.dropped = Counter(
            "mm_executor_dropped",
            "Inputs dropped, by source and reason",
            ["source", "reason"],
            registry=registry,
        )
        self.open_orders = Gauge(
            "mm_executor_open_orders", "Orders the executor holds", ["symbol"], registry=registry
        )
        self.reconciliations = Counter(
            "mm_executor_reconciliations",
            "Reconciliations with the venue, and what they changed",
            ["change"],
            registry=registry,
        )
        self.watchdog_trips = Counter(
            "mm_executor_watchdog_trips",
            "Times the target-heartbeat watchdog cancelled every order",
            registry=registry,
        )
        self.stale_feed_cancels = Counter(
            "mm_executor_stale_feed_cancels",
            "Times a symbol's feed left `live` and the executor cancelled its orders at once",
            registry=registry,
        )
        self.fact_store_down = Gauge(
            "mm_executor_fact_store_down",
            "1 while JetStream cannot store facts (orders cancelled, targets ignored)",
            registry=registry,
        )
        self.fact_store_outages = Counter(
            "mm_executor_fact_store_outages",
            "Times the executor failed closed because JetStream could not store a fact",
            registry=registry,
        )
        self.fact_backlog = Gauge(
            "mm_executor_fact_backlog",
            "Facts held back, in order, until JetStream can store them",
            registry=registry,
        )
        self.config_refused = Counter(
            "mm_executor_config_refused",
            "KV config fields refused (restart-only, unknown or invalid), by field",
            ["field"],
            registry=registry,
        )
        self.send_latency = LoopHistogram(
            "mm_executor_order_send_seconds",
            "Order sent to venue acknowledgement",
            (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            ["kind"],
            registry=registry,
        )
        # From the gateway receiving the venue frame (OrderTarget.ts_tick_ns, wall clock) to the
        # plan's first request leaving for the venue (after any wait for a rate-budget slot:
        # `mm_bybit.send_gate`); targets without a tick time are skipped.
        self.tick_to_order = LoopHistogram(
            "mm_executor_tick_to_order_seconds",
            "Venue frame received by md_gateway to the order request sent to the venue",
            (0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
            registry=registry,
        )
        self.reconciliation_hold = Histogram(
            "mm_executor_reconciliation_hold_seconds",
            "Time a periodic reconciliation held one symbol's worker (no plan sent meanwhile)",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=registry,
        )
        self.rate_headroom = Gauge(
            "mm_executor_rate_limit_headroom_ratio",
            "Share of the venue's per-endpoint request limit still free in the current window",
            ["endpoint"],
            registry=registry,
        )
