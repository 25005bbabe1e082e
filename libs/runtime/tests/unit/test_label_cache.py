"""A metric's children bound once per label values count into the same series as `labels()`."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter

from mm_runtime.metrics import LabelCache


def test_cached_children_are_the_metrics_own_and_count_into_its_series() -> None:
    registry = CollectorRegistry()
    counter = Counter("checks", "checks", ["check", "outcome"], registry=registry)
    cache = LabelCache(counter)
    cache("position", "pass").inc()
    cache("position", "pass").inc()
    counter.labels("position", "pass").inc()
    cache("position", "block").inc()
    assert cache("position", "pass") is counter.labels("position", "pass")
    assert registry.get_sample_value("checks_total", {"check": "position", "outcome": "pass"}) == 3
    assert registry.get_sample_value("checks_total", {"check": "position", "outcome": "block"}) == 1


def test_a_wrong_number_of_label_values_is_refused_as_labels_refuses_it() -> None:
    counter = Counter("checks", "checks", ["check", "outcome"], registry=CollectorRegistry())
    with pytest.raises(ValueError, match="label"):
        LabelCache(counter)("position")
