"""The policy's Prometheus metrics: parameter values, allocator weights, decisions, holds."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class PolicyMetrics:
    """Registered once per process on the service's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.parameter = Gauge(
            "policy_parameter_value",
            "The value in force of each parameter the policy tends, per symbol",
            ["symbol", "field"],
            registry=registry,
        )
        self.weight = Gauge(
            "policy_allocator_weight",
            "Each symbol's share of the allocator's weight (edge plus obligation value)",
            ["symbol"],
            registry=registry,
        )
        self.decisions = Counter(
            "policy_decisions_total",
            "Decisions by symbol, rule and stage (decided, applied, refused, dry_run, held)",
            ["symbol", "rule", "stage"],
            registry=registry,
        )
        self.held = Gauge(
            "policy_held",
            "1 while the policy holds a symbol (stale inputs, halt, quoter unreachable)",
            ["symbol"],
            registry=registry,
        )
        self.pinned = Gauge(
            "policy_pinned_fields",
            "Fields set by hand that the policy leaves alone",
            ["symbol"],
            registry=registry,
        )
        self.dropped = Counter(
            "policy_inputs_dropped_total",
            "KPI rows refused (a figure that is not a finite decimal)",
            ["reason"],
            registry=registry,
        )
        self.evaluations = Counter(
            "policy_evaluations_total",
            "Evaluation rounds by outcome",
            ["outcome"],
            registry=registry,
        )
