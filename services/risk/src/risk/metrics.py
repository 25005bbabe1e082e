"""Risk's Prometheus metrics: outcomes per check, the halt gauge, check latency, what was sent."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from mm_runtime.loop_metrics import CounterChild, LoopCounter, LoopHistogram

CHECK_LATENCY_BUCKETS_S = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05)


class CheckPasses(dict[str, CounterChild]):
    """Each check's `risk_check_outcomes_total{outcome="pass"}` child, bound on first use.

    Nearly every intent passes every check, so eleven of these are bumped per intent: a plain
    dict lookup each, not a `labels` call.
    """

    def __init__(self, outcomes: LoopCounter) -> None:
        super().__init__()
        self._outcomes = outcomes

    def __missing__(self, check: str) -> CounterChild:
        child = self[check] = self._outcomes.labels(check, "pass")
        return child


class RiskMetrics:
    """Every metric risk exports, registered on the service's own registry.

    What is updated per intent, per target or per EXEC fact (check outcomes and latency, targets,
    EXEC facts) is updated on the event loop only, so it takes `mm_runtime.loop_metrics`' types
    rather than prometheus_client's locked ones; the exposition is the same.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.check_outcomes = LoopCounter(
            "risk_check_outcomes_total",
            "Check verdicts on intents, by check and outcome (pass, reduce, block)",
            ["check", "outcome"],
            registry=registry,
        )
        self.check_passes = CheckPasses(self.check_outcomes)
        self.halted = Gauge("risk_halted", "1 while the kill switch is on", registry=registry)
        self.check_latency = LoopHistogram(
            "risk_check_latency_seconds",
            "Time from receiving an intent to having its target ready",
            CHECK_LATENCY_BUCKETS_S,
            registry=registry,
        )
        # The unlabelled histogram's one child, held: observed once per intent.
        self.check_latency_child = self.check_latency.labels()
        self.targets = LoopCounter(
            "risk_targets_published_total",
            "Order targets published, by kind (quote, pull, cancel_all, flatten)",
            ["kind"],
            registry=registry,
        )
        self.halts = Counter(
            "risk_halts_total", "Halts, by trigger", ["trigger"], registry=registry
        )
        self.inputs_refused = Counter(
            "risk_inputs_refused_total",
            "Inputs decoded but refused, by input and reason",
            ["input", "reason"],
            registry=registry,
        )
        self.exec_messages = LoopCounter(
            "risk_exec_messages_total",
            "Executor facts from stream EXEC, by kind and result (applied, skipped, redelivered, "
            "terminated)",
            ["kind", "result"],
            registry=registry,
        )
        self.exec_pending = Gauge(
            "risk_exec_pending",
            "Messages stream EXEC holds for risk's consumer not yet acked, at the last look",
            registry=registry,
        )
        self.exec_lag = Gauge(
            "risk_exec_lag_seconds",
            "Time since risk's EXEC consumer was last caught up or making progress",
            registry=registry,
        )
        self.exec_fetch_failures = Counter(
            "risk_exec_fetch_failures_total",
            "Failed reads of stream EXEC (retried), by reason",
            ["reason"],
            registry=registry,
        )
        self.freshness_pulls = Counter(
            "risk_freshness_pulls_total",
            "Symbols whose orders the clock cancelled because an input went stale, by input",
            ["input"],
            registry=registry,
        )
        self.halt_heals = Counter(
            "risk_halt_heals_total",
            "Transient halts lifted automatically once their condition cleared, by trigger",
            ["trigger"],
            registry=registry,
        )
        self.config_updates = Counter(
            "risk_config_updates_total",
            "Configuration changes seen, by result (applied, refused)",
            ["result"],
            registry=registry,
        )
        self.events_suppressed = Counter(
            "risk_events_suppressed_total",
            "Risk events not sent because the same check repeated within event_repeat_s",
            ["check"],
            registry=registry,
        )
        self.kv_failures = Counter(
            "risk_kv_write_failures_total",
            "Failed writes to the KV risk bucket, by key",
            ["key"],
            registry=registry,
        )
        self.halt_rewrites = Counter(
            "risk_halt_rewrites_total",
            "Times the stored halt state differed from risk's own and was written again",
            registry=registry,
        )
        self.baseline_fills = Counter(
            "risk_baseline_fills_total",
            "Fills a reconciliation baseline raced, by effect: reapplied (matched after its read,"
            " applied before it landed) or included (already in it, landed after it)",
            ["effect"],
            registry=registry,
        )
