"""Where tick-to-order time goes, from every service's exported spans joined by trace id.

Used by `bench_latency.py` when `MM_BENCH_TRACE_ALL=1`: each service writes its spans to a
JSON-lines file (which itself costs a file append per span, so the totals run a little higher than
the plain benchmark's). For each `order.send` span carrying `order.tick_to_order_ns`, the trace's
`md.tick` (gateway: frame received -> book published), `quote.compute` (quoter) and `risk.check`
(risk) spans split the time into service dwell and the gaps between services (bus hop plus the
receiver's decode and dispatch).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mm_proto.services import REGISTRY

SERVICES = tuple(service.name for service in REGISTRY.fast_path())  # a tick's path to an order
SPAN_NAMES = ("md.tick", "quote.compute", "risk.check", "order.send")
PARTS = (
    "gateway: frame received -> md.tick end (apply, encode, outbox, publish)",
    "gap gateway -> quoter (bus, decode, dispatch)",
    "quoter: quote.compute (strategy, publish)",
    "gap quoter -> risk (bus, decode, dispatch)",
    "risk: risk.check (checks, publish)",
    "gap risk -> executor order.send (bus, decode, worker wake, plan, request)",
)


def trace_env(span_dir: Path) -> dict[str, dict[str, str]]:
    """Per-service settings that export spans to `<span_dir>/<service>.jsonl`."""
    return {
        service.name: {
            f"{service.env_prefix}TELEMETRY__EXPORTER": "file",
            f"{service.env_prefix}TELEMETRY__FILE_PATH": str(span_dir / f"{service.name}.jsonl"),
        }
        for service in REGISTRY.fast_path()
    }


def _spans_by_trace(span_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    traces: dict[str, dict[str, dict[str, Any]]] = {}
    for service in SERVICES:
        path = span_dir / f"{service}.jsonl"
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            span = json.loads(line)
            if span["name"] in SPAN_NAMES:
                # The first of each kind in a trace: the one the tick caused.
                traces.setdefault(span["trace_id"], {}).setdefault(span["name"], span)
    return traces


def split(span_dir: Path, window: tuple[int, int]) -> list[tuple[int, ...]]:
    """One tuple of PARTS durations (ns) per order sent in `window` whose trace is complete."""
    rows = []
    for spans in _spans_by_trace(span_dir).values():
        send = spans.get("order.send")
        if send is None or "order.tick_to_order_ns" not in send["attributes"]:
            continue
        if not window[0] <= send["start_ns"] <= window[1] or len(spans) < len(SPAN_NAMES):
            continue
        tick, quote, check = spans["md.tick"], spans["quote.compute"], spans["risk.check"]
        rows.append(
            (
                tick["end_ns"] - tick["start_ns"],
                quote["start_ns"] - tick["end_ns"],
                quote["end_ns"] - quote["start_ns"],
                check["start_ns"] - quote["end_ns"],
                check["end_ns"] - check["start_ns"],
                send["start_ns"] - check["end_ns"],
            )
        )
    return rows
