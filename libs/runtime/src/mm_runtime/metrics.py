"""Prometheus metrics every process exports about its own life on the bus.

Each process (and each service run in-process by a test) gets its own `CollectorRegistry`, so two
services in one test process never collide. Labels name subscription patterns, never concrete
subjects, to keep cardinality bounded by the code rather than by the symbol list.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class RuntimeMetrics:
    """Counters for received, dropped and failed messages, and the process's readiness."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.received = Counter(
            "mm_bus_messages_received_total",
            "Messages delivered to a handler, by subscription",
            ["subscription"],
            registry=registry,
        )
        self.dropped = Counter(
            "mm_bus_messages_dropped_total",
            "Messages dropped before the handler, by subscription and reason",
            ["subscription", "reason"],
            registry=registry,
        )
        self.handler_errors = Counter(
            "mm_bus_handler_errors_total",
            "Handler calls that raised, by subscription",
            ["subscription"],
            registry=registry,
        )
        self.published = Counter(
            "mm_bus_messages_published_total",
            "Messages published, by subject family",
            ["family"],
            registry=registry,
        )
        self.ready = Gauge("mm_ready", "1 when the service reports ready", registry=registry)
        self.nats_connected = Gauge(
            "mm_nats_connected", "1 while the NATS connection is up", registry=registry
        )
