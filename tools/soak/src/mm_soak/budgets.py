"""Slope budgets: how fast a resource may grow over the second half of a run before it fails.

The first half is warm-up (imports, caches, connection pools, JetStream streams filling their
first blocks); a leak shows as a steady slope after it. Each series' slope is the least-squares
line through its second-half samples, in units per minute.

Each child's memory is fitted within each of its lifetimes: the sampler records each child's pid
(`pid.<child>`), and a restart (a new pid) starts a new segment with its own intercept, so the
slope is the one line that best fits every lifetime at once (the pooled within-segment slope),
after each lifetime's own warm-up (`LIFETIME_WARM_UP_S`). A restart's step is then not read as a
leak, and growth inside a lifetime is not hidden by the drop a restart makes.

nats-server's memory is the one per-process series judged by a ceiling instead of a slope: it is
its store's cache, bounded but climbing for as long as a soak lasts (`mm_soak.nats_memory`).

On a clustered bus the nodes' descriptors are judged together (`fds.nats-cluster`, their sum at
each sample): every client holds one connection to some node and moves to another when its node
is killed, frozen or restarted, so one node's count climbs as another's falls without a descriptor
being leaked.
"""

from __future__ import annotations

from dataclasses import dataclass

from mm_soak.nats_memory import CeilingVerdict, is_nats, judge_nats
from mm_soak.sampler import Sample

# Series fitted per lifetime of the child named after the prefix: memory, whose level after a
# restart differs from before (caches, replays). Counts (descriptors, processes, tasks) come back to
# the same level after a restart, so one line over the second half judges them better: fitted per
# lifetime, a short lifetime turns a +-1 descriptor (a pooled connection opened at the last sample)
# into a slope.
PER_PROCESS = frozenset({"rss_mib"})
PID_PREFIX = "pid"
# A lifetime with fewer samples than this says nothing about a slope and is left out of the fit.
MIN_SEGMENT_SAMPLES = 3
# A process's own warm-up: its first samples are taken while it is still importing and opening its
# sockets (an executor goes 3 -> 12 -> 13 descriptors in its first ten seconds), which would read
# as growth inside a short lifetime. Samples this soon after a lifetime's first are left out.
LIFETIME_WARM_UP_S = 30.0

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
    lifetimes: int = 1

    @property
    def ok(self) -> bool:
        return self.slope_per_min <= self.budget_per_min

    def describe(self) -> str:
        verdict = "ok" if self.ok else "OVER BUDGET"
        return (
            f"{self.series}: {self.slope_per_min:+.4f}/min over the second half "
            f"({self.samples} samples{self._lifetimes()}), "
            f"budget {self.budget_per_min}/min: {verdict}"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "series": self.series,
            "slope_per_min": round(self.slope_per_min, 6),
            "budget_per_min": self.budget_per_min,
            "lifetimes": self.lifetimes,
            "ok": self.ok,
        }

    def _lifetimes(self) -> str:
        return f" in {self.lifetimes} process lifetimes" if self.lifetimes > 1 else ""


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


def pooled_slope_per_minute(segments: list[list[tuple[float, float]]]) -> float:
    """One slope for several segments, each with its own intercept (per minute); segments shorter
    than `MIN_SEGMENT_SAMPLES` are left out, and 0 when nothing is left."""
    covariance = spread = 0.0
    for points in segments:
        if len(points) < MIN_SEGMENT_SAMPLES:
            continue
        mean_x = sum(x for x, _ in points) / len(points)
        mean_y = sum(y for _, y in points) / len(points)
        spread += sum((x - mean_x) ** 2 for x, _ in points)
        covariance += sum((x - mean_x) * (y - mean_y) for x, y in points)
    return covariance / spread * 60.0 if spread else 0.0


def lifetimes(
    key: str, points: list[tuple[float, float]], samples: list[Sample]
) -> list[list[tuple[float, float]]]:
    """`points` of a per-process series split where the child's pid changes, each lifetime without
    its first `LIFETIME_WARM_UP_S` (counted from the pid's first sample in `samples`); one segment
    when the samples carry no pid for the child."""
    child = key.split(".", 1)[1]
    pid_at: dict[float, float | None] = {}
    first_seen: dict[float, float] = {}
    for sample in samples:
        pid = sample.values.get(f"{PID_PREFIX}.{child}")
        pid_at[sample.elapsed_s] = pid
        if pid is not None:
            first_seen.setdefault(pid, sample.elapsed_s)
    segments: list[list[tuple[float, float]]] = []
    current_pid: float | None = None
    for at, value in points:
        pid = pid_at.get(at)
        if not segments or pid != current_pid:
            segments.append([])
            current_pid = pid
        if pid is None or at - first_seen[pid] >= LIFETIME_WARM_UP_S:
            segments[-1].append((at, value))
    return segments


def judge(samples: list[Sample]) -> list[SlopeVerdict | CeilingVerdict]:
    """One verdict per series that has a budget, over samples in the second half of the run;
    per-process series are fitted within each process lifetime; nats-server's memory is held to
    its ceiling over the whole run."""
    if not samples:
        return []
    half = samples[-1].elapsed_s / 2
    second = [sample for sample in samples if sample.elapsed_s >= half]
    verdicts: list[SlopeVerdict | CeilingVerdict] = [
        judge_nats(key, points) for key, points in sorted(series(samples).items()) if is_nats(key)
    ]
    for key, points in sorted(_bus_descriptors(series(second)).items()):
        if is_nats(key):
            continue
        prefix = key.split(".", 1)[0]
        budget = SLOPE_BUDGETS_PER_MIN.get(prefix)
        if budget is None:
            continue
        if prefix in PER_PROCESS:
            segments = lifetimes(key, points, samples)
            slope = pooled_slope_per_minute(segments)
            verdicts.append(SlopeVerdict(key, slope, budget, len(points), len(segments)))
        else:
            verdicts.append(SlopeVerdict(key, slope_per_minute(points), budget, len(points)))
    return verdicts


CLUSTER_FDS = "fds.nats-cluster"


def _bus_descriptors(
    by_key: dict[str, list[tuple[float, float]]],
) -> dict[str, list[tuple[float, float]]]:
    """The nodes' `fds.nats-<n>` series replaced by their sum at the samples all of them have
    (`CLUSTER_FDS`); unchanged for a single server."""
    nodes = [key for key in by_key if key.startswith("fds.nats-")]
    if len(nodes) < 2:
        return by_key
    totals: dict[float, float] = {}
    counts: dict[float, int] = {}
    for key in nodes:
        for at, value in by_key[key]:
            totals[at] = totals.get(at, 0.0) + value
            counts[at] = counts.get(at, 0) + 1
    merged = {key: points for key, points in by_key.items() if key not in nodes}
    merged[CLUSTER_FDS] = [(at, totals[at]) for at in sorted(totals) if counts[at] == len(nodes)]
    return merged
