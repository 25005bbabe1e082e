"""The event loop's counters and histograms print what prometheus_client's own types print."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from mm_runtime.loop_metrics import LoopCounter, LoopHistogram

BUCKETS = (1e-5, 1e-4, 1e-3, 0.5)
# On the bounds, between them, below the first and past the last.
VALUES = (0.0, 1e-5, 2e-5, 1e-4, 7e-4, 1e-3, 0.25, 0.5, 3.0, 1e-6)


def exposition(registry: CollectorRegistry) -> list[str]:
    """The scrape's lines, without prometheus_client's `_created` samples."""
    return [
        line for line in generate_latest(registry).decode().splitlines() if "_created" not in line
    ]


def test_a_labelled_counter_prints_what_prometheus_clients_counter_prints() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    loop = LoopCounter("mm_things_total", "Things, by kind", ["kind"], registry=ours)
    reference = Counter("mm_things_total", "Things, by kind", ["kind"], registry=theirs)
    for kind, amount in (("a", 1.0), ("b", 2.5), ("a", 3.0), ("c", 0.0)):
        loop.labels(kind).inc(amount)
        reference.labels(kind).inc(amount)
    assert exposition(ours) == exposition(theirs)
    assert ours.get_sample_value("mm_things_total", {"kind": "a"}) == 4.0


def test_an_unlabelled_counter_prints_zero_before_its_first_inc_and_counts_after() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    loop = LoopCounter("mm_gaps_total", "Gaps", registry=ours)
    reference = Counter("mm_gaps_total", "Gaps", registry=theirs)
    assert exposition(ours) == exposition(theirs)
    loop.inc()
    loop.inc(2)
    reference.inc()
    reference.inc(2)
    assert exposition(ours) == exposition(theirs)


@pytest.mark.parametrize("labelnames", [(), ("path",)])
def test_a_histogram_prints_the_buckets_sum_and_count_prometheus_clients_prints(
    labelnames: tuple[str, ...],
) -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    loop = LoopHistogram("mm_lag_seconds", "Lag", BUCKETS, labelnames, registry=ours)
    reference = Histogram("mm_lag_seconds", "Lag", labelnames, buckets=BUCKETS, registry=theirs)
    for value in VALUES:
        if labelnames:
            loop.labels("x").observe(value)
            reference.labels("x").observe(value)
        else:
            loop.observe(value)
            reference.observe(value)
    assert exposition(ours) == exposition(theirs)


def test_bad_uses_are_refused_with_the_reason() -> None:
    registry = CollectorRegistry()
    counter = LoopCounter("mm_a_total", "A", ["kind"], registry=registry)
    with pytest.raises(ValueError, match="use labels"):
        counter.inc()
    with pytest.raises(ValueError, match="takes labels"):
        counter.labels("x", "y")
    with pytest.raises(ValueError, match="only goes up"):
        counter.labels("x").inc(-1)
    with pytest.raises(ValueError, match="rise strictly"):
        LoopHistogram("mm_b_seconds", "B", (1.0, 0.5))
    with pytest.raises(ValueError, match="rise strictly"):
        LoopHistogram("mm_c_seconds", "C", ())
    with pytest.raises(ValueError, match="Duplicated"):  # the registry's own name check
        LoopCounter("mm_a_total", "A again", registry=registry)
