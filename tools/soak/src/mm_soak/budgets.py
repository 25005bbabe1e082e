"""Slope budgets: how fast a resource may grow over the second half of a run before it fails.

The first half is warm-up (imports, caches, connection pools, JetStream streams filling their
first blocks); a leak shows as a steady slope after it. Each series' slope is the least-squares
line through its second-half samples, in units per minute.
"""

from __future__ import annotations

from dataclasses import dataclass

from mm_soak.sampler import Sample

# Per-minute growth allowed over the second half, by the series' prefix.
SLOPE_BUDGETS_PER_MIN: dict[str, float] = {
    "rss_mib": 0.5,  # 30 MiB an hour per child: a leak of one small object per tick shows
    "fds": 0.1,  # descriptors must not climb: sockets and files are closed
    "processes": 0.05,  # no process accumulates children
    "asyncio_tasks": 0.5,  # tasks end: no per-message or per-reconnect task is left behind
    "nats_pending": 20.0,  # durable consumers keep up
    "nats_ack_pending": 5.0,
    "disk_mib": 2.0,  # logs rotate and the NATS store stays bounded
    "harness": 0.05,  # zombies and stray children of the harness itself
}


@dataclass(frozen=True)
class SlopeVerdict:
    series: str
    slope_per_min: float
    budget_per_min: float
    samples: int

    @property
    def ok(self) -> bool:
        return self.slope_per_min <= self.budget_per_min

    def describe(self) -> str:
        verdict = "ok" if self.ok else "OVER BUDGET"
        return (
            f"{self.series}: {self.slope_per_min:+.4f}/min over the second half "
            f"({self.samples} samples), budget {self.budget_per_min}/min: {verdict}"
        )


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute; 0 for fewer than 3 points."""
    if len(points) < 3:
        return 0.0
    count = len(points)
    mean_x = sum(x for x, _ in points) / count
    mean_y = sum(y for _, y in points) / count
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return covariance / spread * 60.0


def series(samples: list[Sample]) -> dict[str, list[tuple[float, float]]]:
    found: dict[str, list[tuple[float, float]]] = {}
    for sample in samples:
        for key, value in sample.values.items():
            found.setdefault(key, []).append((sample.elapsed_s, value))
    return found


def judge(samples: list[Sample]) -> list[SlopeVerdict]:
    """One verdict per series that has a budget, over samples in the second half of the run."""
    if not samples:
        return []
    half = samples[-1].elapsed_s / 2
    verdicts = []
    for key, points in sorted(series(samples).items()):
        budget = SLOPE_BUDGETS_PER_MIN.get(key.split(".", 1)[0])
        if budget is None:
            continue
        second_half = [point for point in points if point[0] >= half]
        verdicts.append(SlopeVerdict(key, slope_per_minute(second_half), budget, len(second_half)))
    return verdicts
