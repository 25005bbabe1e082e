"""Counters and histograms for an event loop's hot path: plain numbers, read at scrape.

prometheus_client's `Counter.inc` and `Histogram.observe` take a lock on every update, and a
histogram walks its buckets one by one: 1-4 us each on these machines, several times per message
in every fast-path service (a message received and one published, a book frame's apply time and
publish lag, risk's twelve check outcomes per intent). A service's messages are handled on one
thread, its event loop, which also serves `/metrics` (`mm_runtime.health`). So these keep plain
Python numbers, updated without a lock (a histogram finds its bucket by bisection), and register
a collector that turns them into the same exposition at scrape: names, help, labels, buckets,
`_sum` and `_count` are what the prometheus_client types would print (without their `_created`
samples).

Use them only for updates made on the event loop's thread; anything updated from another thread
keeps the prometheus_client types. `labels()` binds a child once per label values (cached), so
hot paths may call it per message.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

_INF = float("inf")
# prometheus_client's own rendering of a bound as an `le` label, so both print the same text.
_go_float: Callable[[float], str] = floatToGoString


class CounterChild:
    """One label set's count."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError(f"a counter only goes up, was asked to add {amount}")
        self.value += amount


class HistogramChild:
    """One label set's bucket counts and sum."""

    __slots__ = ("_bounds", "counts", "sum")

    def __init__(self, bounds: list[float]) -> None:
        self._bounds = bounds
        self.counts = [0] * len(bounds)
        self.sum = 0.0

    def observe(self, amount: float) -> None:
        self.counts[bisect.bisect_left(self._bounds, amount)] += 1
        self.sum += amount


ChildT = TypeVar("ChildT", CounterChild, HistogramChild)


class _Family(Generic[ChildT]):
    """What a counter and a histogram share: name, help, labels, children, registration."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        registry: CollectorRegistry | None,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._children: dict[tuple[str, ...], ChildT] = {}
        self._unlabelled: ChildT | None = None if self.labelnames else self.labels()
        if registry is not None:
            registry.register(self)

    def labels(self, *values: str) -> ChildT:
        """The child for these label values, made on first use."""
        child = self._children.get(values)
        if child is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name} takes labels {self.labelnames}, got {values}")
            child = self._children[values] = self._new_child()
        return child

    def _only_child(self) -> ChildT:
        if self._unlabelled is None:
            raise ValueError(f"{self.name} is labelled {self.labelnames}: use labels(...)")
        return self._unlabelled

    def describe(self) -> list[Metric]:
        return [self._family()]

    def collect(self) -> list[Metric]:
        family = self._family()
        for values, child in self._children.items():
            self._add(family, list(values), child)
        return [family]

    def _new_child(self) -> ChildT:
        raise NotImplementedError

    def _family(self) -> Metric:
        raise NotImplementedError

    def _add(self, family: Metric, values: list[str], child: ChildT) -> None:
        raise NotImplementedError


class LoopCounter(_Family[CounterChild]):
    """A counter, optionally labelled: `inc()` on an unlabelled one, `labels(...).inc()`."""

    type = "counter"  # the exposition's TYPE; `name` is without `_total`, as prometheus_client's

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        registry: CollectorRegistry | None = None,
    ) -> None:
        super().__init__(name.removesuffix("_total"), documentation, labelnames, registry)

    def inc(self, amount: float = 1.0) -> None:
        self._only_child().inc(amount)

    def _new_child(self) -> CounterChild:
        return CounterChild()

    def _family(self) -> CounterMetricFamily:
        return CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def _add(self, family: Metric, values: list[str], child: CounterChild) -> None:
        labels = dict(zip(self.labelnames, values, strict=True))
        family.add_sample(f"{self.name}_total", labels, child.value)


class LoopHistogram(_Family[HistogramChild]):
    """A histogram with fixed upper bounds (+Inf added), optionally labelled."""

    type = "histogram"

    def __init__(
        self,
        name: str,
        documentation: str,
        buckets: Sequence[float],
        labelnames: Sequence[str] = (),
        registry: CollectorRegistry | None = None,
    ) -> None:
        bounds = [float(bound) for bound in buckets]
        if not bounds or bounds != sorted(set(bounds)):
            raise ValueError(f"{name}: buckets must rise strictly, were {list(buckets)}")
        if bounds[-1] != _INF:
            bounds.append(_INF)
        self._bounds = bounds
        self._bound_texts = [_go_float(bound) for bound in bounds]
        super().__init__(name, documentation, labelnames, registry)

    def observe(self, amount: float) -> None:
        self._only_child().observe(amount)

    def _new_child(self) -> HistogramChild:
        return HistogramChild(self._bounds)

    def _family(self) -> HistogramMetricFamily:
        return HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def _add(self, family: Metric, values: list[str], child: HistogramChild) -> None:
        labels = dict(zip(self.labelnames, values, strict=True))
        cumulative = 0
        for text, count in zip(self._bound_texts, child.counts, strict=True):
            cumulative += count
            family.add_sample(f"{self.name}_bucket", {**labels, "le": text}, cumulative)
        family.add_sample(f"{self.name}_count", labels, cumulative)
        family.add_sample(f"{self.name}_sum", labels, child.sum)
