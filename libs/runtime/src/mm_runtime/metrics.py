"""Prometheus metrics every process exports about its own life on the bus.

Each process (and each service run in-process by a test) gets its own `CollectorRegistry`, so two
services in one test process never collide. Labels name subscription patterns, never concrete
subjects, to keep cardinality bounded by the code rather than by the symbol list.

`LabelCache` binds a labelled metric's children once per label values: a `labels()` lookup costs
about 1 us, which hot paths pay several times per message otherwise.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from mm_runtime.loop_metrics import LoopCounter

MetricT = TypeVar("MetricT", Counter, Gauge, Histogram)


class LabelCache(Generic[MetricT]):
    """`cache(*values)` is `metric.labels(*values)`, looked up once per distinct values."""

    __slots__ = ("_children", "_metric")

    def __init__(self, metric: MetricT) -> None:
        self._metric: MetricT = metric
        self._children: dict[tuple[str, ...], MetricT] = {}

    def __call__(self, *values: str) -> MetricT:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child


class RuntimeMetrics:
    """Counters for received, conflated, dropped and failed messages, and readiness."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        # Per message on the event loop: `mm_runtime.loop_metrics`, not a locked Counter.
        self.received = LoopCounter(
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
        self.conflated = LoopCounter(
            "mm_bus_messages_conflated_total",
            "Messages of a conflating subscription replaced by a newer one for the same subject "
            "before their handler ran (never decoded nor handled), by subscription",
            ["subscription"],
            registry=registry,
        )
        self.handler_errors = Counter(
            "mm_bus_handler_errors_total",
            "Handler calls that raised, by subscription",
            ["subscription"],
            registry=registry,
        )
        self.follow_pending = Gauge(
            "mm_bus_follow_pending",
            "What a KV or stream follower has still to receive, as of its last delivery",
            ["follower"],
            registry=registry,
        )
        self.follow_failures = Counter(
            "mm_bus_follow_failures_total",
            "Fetches and lag looks of a stream consumer that failed, by consumer and reason",
            ["follower", "reason"],
            registry=registry,
        )
        self.published = LoopCounter(
            "mm_bus_messages_published_total",
            "Messages published, by subject family",
            ["family"],
            registry=registry,
        )
        self.ready = Gauge(
            "mm_ready", "1 when the service reports ready (what /readyz says)", registry=registry
        )
        self.nats_connected = Gauge(
            "mm_nats_connected", "1 while the NATS connection is up", registry=registry
        )
        # Read at scrape time, on the event loop that serves /metrics: a count that only grows
        # is a task leak (the soak harness watches its slope).
        self.asyncio_tasks = Gauge(
            "mm_asyncio_tasks", "asyncio tasks alive in the service's event loop", registry=registry
        )
        self.asyncio_tasks.set_function(_live_tasks)


def _live_tasks() -> float:
    try:
        return float(len(asyncio.all_tasks()))
    except RuntimeError:  # scraped outside the loop (a test reading the registry directly)
        return 0.0
