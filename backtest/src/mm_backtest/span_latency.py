"""Latency files for `mm backtest --latency feed=@F --latency order=@O`, from the stack's spans.

The fast-path services export their spans to JSON-lines files when
`<PREFIX>TELEMETRY__EXPORTER=file` (`bench/latency_spans.py` `trace_env` sets it for each). This
module turns those files into the backtest's two latency distributions, one sample per order:

- feed (venue -> our order leaving): the gateway's `md.tick` delay from the venue's stamp to
  the frame's receipt (`md.ts_received_ns - md.ts_exchange_ns`; the venue stamps whole
  milliseconds, so this part reads up to 1 ms long) plus the executor's
  `order.tick_to_order_ns` on the `order.send` span of the same trace. The backtest runs our
  cores in zero virtual time, so the stack's processing belongs to the feed path there.
- order (request -> the venue's answer): each `order.send` span's duration, the request handed
  to the transport (after any wait for a rate-limit slot) until the ack or refusal.

Lines that are not spans, samples without a venue stamp or without their trace's `md.tick`,
and samples outside the backtest's latency range are counted in `SpanStats` and skipped.

    python -m mm_backtest.span_latency SPAN_FILE... --out DIR [--from NS] [--to NS]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mm_backtest.latency import MAX_MS

_NS_PER_MS = 1_000_000
TICK_SPAN = "md.tick"
SEND_SPAN = "order.send"
TICK_TO_ORDER = "order.tick_to_order_ns"


class SpanFileError(ValueError):
    """Span files that cannot give latencies (unreadable, or no sample at all), with the reason."""


@dataclass
class SpanStats:
    """What was read and what was skipped, and why."""

    spans: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


@dataclass(frozen=True)
class Samples:
    """The two distributions in milliseconds, in the order the orders were sent."""

    feed_ms: tuple[float, ...]
    order_ms: tuple[float, ...]
    stats: SpanStats


def read_spans(paths: Iterable[Path], stats: SpanStats) -> list[dict[str, Any]]:
    """The `md.tick` and `order.send` spans of the files; other spans are ignored."""
    spans = []
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise SpanFileError(f"cannot read span file {path}: {error}") from None
        for line in lines:
            span = _parse(line)
            if span is None:
                stats.skip("malformed_line")
            elif span["name"] in (TICK_SPAN, SEND_SPAN):
                stats.spans += 1
                spans.append(span)
    return spans


def _parse(line: str) -> dict[str, Any] | None:
    try:
        span = json.loads(line)
    except ValueError:
        return None
    if not isinstance(span, dict) or not isinstance(span.get("attributes"), dict):
        return None
    start, end = span.get("start_ns"), span.get("end_ns")
    if not isinstance(start, int) or not isinstance(end, int) or end < start:
        return None
    if not isinstance(span.get("name"), str) or not isinstance(span.get("trace_id"), str):
        return None
    return span


def extract(
    spans: Sequence[dict[str, Any]], stats: SpanStats, window: tuple[int, int] | None = None
) -> Samples:
    """Feed and order samples of the `order.send` spans that start in `window` (wall ns)."""
    ticks: dict[str, dict[str, Any]] = {}
    for span in spans:
        if span["name"] == TICK_SPAN:
            ticks.setdefault(span["trace_id"], span)  # the first: the frame that caused it
    sends = sorted((s for s in spans if s["name"] == SEND_SPAN), key=lambda s: s["start_ns"])
    feed: list[float] = []
    order: list[float] = []
    for send in sends:
        if window is not None and not window[0] <= send["start_ns"] < window[1]:
            stats.skip("outside_window")
            continue
        _keep(order, (send["end_ns"] - send["start_ns"]) / _NS_PER_MS, "order", stats)
        if TICK_TO_ORDER in send["attributes"]:
            venue_ms = _venue_to_gateway_ms(ticks.get(send["trace_id"]), stats)
            if venue_ms is not None:
                tick_ms = send["attributes"][TICK_TO_ORDER] / _NS_PER_MS
                _keep(feed, venue_ms + tick_ms, "feed", stats)
    return Samples(tuple(feed), tuple(order), stats)


def _venue_to_gateway_ms(tick: dict[str, Any] | None, stats: SpanStats) -> float | None:
    if tick is None:
        stats.skip("feed_without_md_tick")
        return None
    stamped = tick["attributes"].get("md.ts_exchange_ns", 0)
    received = tick["attributes"].get("md.ts_received_ns", tick["start_ns"])
    if not isinstance(stamped, int) or stamped <= 0 or not isinstance(received, int):
        stats.skip("feed_without_venue_stamp")
        return None
    if received < stamped:  # another host's clock: the delay is not measurable
        stats.skip("feed_received_before_stamp")
        return None
    return (received - stamped) / _NS_PER_MS


def _keep(samples: list[float], value_ms: float, path: str, stats: SpanStats) -> None:
    if 0 <= value_ms <= MAX_MS:
        samples.append(value_ms)
    else:
        stats.skip(f"{path}_out_of_range")


def write(samples: Samples, out: Path) -> tuple[Path, Path]:
    """`feed.txt` and `order.txt` in `out`, one latency in ms a line after a `#` header."""
    if not samples.feed_ms or not samples.order_ms:
        raise SpanFileError(
            f"no samples: {len(samples.feed_ms)} feed, {len(samples.order_ms)} order; "
            f"skipped {samples.stats.skipped} (were the fast-path services exporting spans?)"
        )
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "feed.txt", out / "order.txt"
    described = (
        (samples.feed_ms, "venue stamp -> gateway receipt + order.tick_to_order_ns"),
        (samples.order_ms, "order.send span: request -> venue answer"),
    )
    for path, (values, what) in zip(paths, described, strict=True):
        lines = [f"# {what}; {len(values)} samples, ms", *(f"{value:.3f}" for value in values)]
        path.write_text("\n".join(lines) + "\n")
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mm_backtest.span_latency")
    parser.add_argument("files", nargs="+", type=Path, help="span JSON-lines files")
    parser.add_argument("--out", type=Path, required=True, help="directory for the two files")
    parser.add_argument("--from", dest="start", type=int, default=0, help="wall ns, inclusive")
    parser.add_argument("--to", dest="end", type=int, default=2**63, help="wall ns, exclusive")
    arguments = parser.parse_args(argv)
    stats = SpanStats()
    try:
        spans = read_spans(arguments.files, stats)
        samples = extract(spans, stats, (arguments.start, arguments.end))
        feed, order = write(samples, arguments.out)
    except SpanFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{feed}: {len(samples.feed_ms)} samples; {order}: {len(samples.order_ms)} samples")
    print(f"spans read {stats.spans}; skipped {stats.skipped or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
