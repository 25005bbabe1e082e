"""The quoter's Prometheus metrics, created on the service's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from mm_runtime.loop_metrics import LoopCounter, LoopHistogram
from quoter.obligation import ObligationCoverage

LATENCY_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)


class QuoterMetrics:
    """Intents, suppressions, pulls, refusals, coverage, inventory and tick-to-quote latency."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._create_flow(registry)
        self._create_state(registry)

    def _create_flow(self, registry: CollectorRegistry) -> None:
        # Per intent and per suppressed ladder, on the event loop: `mm_runtime.loop_metrics`.
        self.intents = LoopCounter(
            "quoter_intents_published_total",
            "Quote intents published, by why they were published",
            ["symbol", "reason"],
            registry=registry,
        )
        self.suppressed = LoopCounter(
            "quoter_updates_suppressed_total",
            "Changed ladders not published because the change was under the refresh thresholds",
            ["symbol"],
            registry=registry,
        )
        self.pulls = Counter(
            "quoter_pulls_total",
            "Empty intents published (quotes pulled), by reason",
            ["symbol", "reason"],
            registry=registry,
        )
        self.config_refusals = Counter(
            "quoter_config_refusals_total",
            "Config updates (or fields of them) refused, by reason",
            ["symbol", "reason"],
            registry=registry,
        )
        self.dropped = Counter(
            "quoter_inputs_dropped_total",
            "Inputs dropped after decoding, by input and reason",
            ["input", "reason"],
            registry=registry,
        )
        self.rollout_suspensions = Counter(
            "quoter_rollout_suspensions_total",
            "Times the stored rollout stopped applying and every symbol went to blue, by why "
            "(unjudged: no controller look within the bound; forged; unreadable)",
            ["kind"],
            registry=registry,
        )
        self.tick_to_quote = LoopHistogram(
            "quoter_tick_to_quote_seconds",
            "From the gateway receiving a book update to the intent being published",
            LATENCY_BUCKETS_S,
            registry=registry,
        )

    def _create_state(self, registry: CollectorRegistry) -> None:
        self.coverage = Gauge(
            "quoter_obligation_coverage_ratio",
            "Share of 10 s snapshots meeting the two-sided 5/10 bps depth requirement",
            ["symbol"],
            registry=registry,
        )
        self.snapshots = Counter(
            "quoter_obligation_snapshots_total",
            "Obligation snapshots taken, by whether the requirement was met",
            ["symbol", "met"],
            registry=registry,
        )
        self.obligation_unstored = Counter(
            "quoter_obligation_summaries_unstored_total",
            "Per-minute obligation summaries the bus did not store (kept for the next minute)",
            registry=registry,
        )
        self.inventory = Gauge(
            "quoter_inventory_lots",
            "Position the quoter skews against",
            ["symbol"],
            registry=registry,
        )
        self.rollout_suspended = Gauge(
            "quoter_rollout_suspended",
            "1 while a stored ramping rollout is not trusted and its green symbols quote blue",
            registry=registry,
        )
        self.halted = Gauge("quoter_halted", "1 while the kill switch is set", registry=registry)
        self.color = Gauge(
            "quoter_symbol_color",
            "1 for the color (parameter set) a symbol quotes with now, 0 for its others",
            ["symbol", "color"],
            registry=registry,
        )

    def note_coverage(self, symbol: str, coverage: ObligationCoverage, before: int) -> None:
        """The coverage so far and whether the newest snapshot met it, if one was taken since
        the count was `before`."""
        if coverage.snapshots != before:
            self.coverage.labels(symbol).set(coverage.coverage())
            self.snapshots.labels(symbol, "true" if coverage.last_met else "false").inc()
