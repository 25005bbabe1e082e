"""The latency model: how long the feed (venue -> us) and an order (us -> venue -> ack) take.

Each path is a constant or an empirical distribution read from a file (one latency in
milliseconds per line, `#` comments allowed; e.g. the executor's measured ack latencies). Draws
come from a `random.Random` seeded per path, so a backtest with the same seed draws the same
latencies. An order's latency is its round trip: the request reaches the venue after half of the
draw and the venue's answers reach us after the other half.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

_NS_PER_MS = 1_000_000
MAX_MS = 60_000.0


class LatencyError(ValueError):
    """A latency specification that cannot be used, with the reason."""


@dataclass(frozen=True)
class Latency:
    """A constant (one sample) or an empirical distribution of latencies in nanoseconds."""

    samples_ns: tuple[int, ...]
    source: str

    def sampler(self, seed: int) -> LatencySampler:
        return LatencySampler(self, seed)

    def describe(self) -> str:
        values = sorted(self.samples_ns)
        if len(values) == 1:
            return f"{values[0] / _NS_PER_MS:g} ms"
        median = values[len(values) // 2] / _NS_PER_MS
        return f"{len(values)} samples from {self.source}, median {median:g} ms"


class LatencySampler:
    """Draws from one latency, deterministically for a seed."""

    def __init__(self, latency: Latency, seed: int) -> None:
        self._samples = sorted(latency.samples_ns)
        self._random = random.Random(seed)  # noqa: S311 - a model, not a secret

    def draw_ns(self) -> int:
        if len(self._samples) == 1:
            return self._samples[0]
        return self._samples[int(self._random.random() * len(self._samples))]


def constant_ms(value: float) -> Latency:
    return Latency((_check_ms(value, "latency"),), "constant")


def parse_latency(text: str) -> Latency:
    """`5` or `5ms` (a constant in ms) or `@path` (a distribution file)."""
    text = text.strip()
    if text.startswith("@"):
        return read_distribution(Path(text[1:]))
    number = text.removesuffix("ms")
    try:
        value = float(number)
    except ValueError:
        raise LatencyError(
            f"latency must be milliseconds (e.g. 5 or 5ms) or @FILE, was {text!r}"
        ) from None
    return constant_ms(value)


def read_distribution(path: Path) -> Latency:
    """The latencies in a file, one per line in ms; LatencyError naming a bad line."""
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise LatencyError(f"cannot read latency file {path}: {error}") from None
    samples: list[int] = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            raise LatencyError(f"{path}:{number}: expected milliseconds, found {text!r}") from None
        samples.append(_check_ms(value, f"{path}:{number}"))
    if not samples:
        raise LatencyError(f"latency file {path} holds no latencies")
    return Latency(tuple(samples), str(path))


def _check_ms(value: float, where: str) -> int:
    if not 0 <= value <= MAX_MS:  # also refuses NaN
        raise LatencyError(f"{where}: latency must be 0..{MAX_MS:g} ms, was {value}")
    return round(value * _NS_PER_MS)
