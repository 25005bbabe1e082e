"""The `risk.check` span continues the intent's trace, and the target carries it onward."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from nats.aio.msg import Msg

from mm_proto import OrderTarget, decode, subjects
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Bus, RiskProcess

MID = 1_000_000
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"


def _export_spans(risk: RiskProcess, spans_file: Path) -> Path:
    """Have the risk process (started after this) write its spans to `spans_file`."""
    risk.settings = risk.settings.model_copy(
        update={
            "telemetry": risk.settings.telemetry.model_copy(
                update={"exporter": "file", "file_path": str(spans_file)}
            )
        }
    )
    return spans_file


async def test_risk_check_span_is_a_child_of_the_intent_and_the_target_continues_the_trace(
    bus: Bus, risk: RiskProcess, tmp_path: Path
) -> None:
    spans_file = _export_spans(risk, tmp_path / "spans.jsonl")
    headers: list[dict[str, str]] = []

    async def on_target(msg: Msg) -> None:
        headers.append(dict(msg.headers or {}))

    await bus.client.subscribe(subjects.order_target("bybit", "linear", "BTCUSDT"), cb=on_target)
    await risk.start()
    await bus.book_seen()
    traceparent = f"00-{TRACE_ID}-{PARENT_SPAN}-01"
    await bus.intent([(MID - 20, 1)], [], intent_id="traced", headers={"traceparent": traceparent})
    await bus.target_for("traced")

    def check_span() -> dict[str, object] | None:
        if not spans_file.exists():
            return None
        for line in spans_file.read_text().splitlines():
            span = json.loads(line)
            if span["name"] == "risk.check" and span["trace_id"] == TRACE_ID:
                return span
        return None

    span = await eventually(check_span, timeout=5)
    assert span["parent_span_id"] == PARENT_SPAN
    sent = await eventually(lambda: [h for h in headers if TRACE_ID in h.get("traceparent", "")])
    assert sent[0]["traceparent"].split("-")[2] == span["span_id"]


async def test_an_intent_of_an_untraced_tick_makes_no_span_and_a_tickless_one_a_root_span(
    bus: Bus, risk: RiskProcess, tmp_path: Path
) -> None:
    spans_file = _export_spans(risk, tmp_path / "spans.jsonl")
    headers: dict[str, dict[str, str]] = {}  # by intent id

    async def on_target(msg: Msg) -> None:
        headers[decode(msg.data, OrderTarget).intent_id] = dict(msg.headers or {})

    await bus.client.subscribe(subjects.order_target("bybit", "linear", "BTCUSDT"), cb=on_target)
    await risk.start()
    await bus.book_seen()
    # From a book update the gateway did not trace: a tick time and no trace context.
    await bus.intent([(MID - 20, 1)], [], intent_id="untraced", ts_tick_ns=time.time_ns())
    untraced = await bus.target_for("untraced")
    # Not from a tick (a timer's intent): risk.check is a root span, as before.
    await bus.intent([(MID - 22, 1)], [], intent_id="tickless")
    await bus.target_for("tickless")

    def check_spans() -> list[dict[str, object]]:
        lines = spans_file.read_text().splitlines() if spans_file.exists() else []
        return [s for s in map(json.loads, lines) if s["name"] == "risk.check"]

    spans = await eventually(check_spans, timeout=5)
    assert len(spans) == 1
    assert spans[0]["parent_span_id"] == ""
    assert untraced.ts_tick_ns > 0
    assert "traceparent" not in headers["untraced"]
    assert headers["tickless"]["traceparent"].split("-")[2] == spans[0]["span_id"]
