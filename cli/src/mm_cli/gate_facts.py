"""The gate's figures that are not in the KPI stream: automatic halts from stream RISK.

Risk publishes a `RiskEvent` with outcome `halt` each time its kill switch trips, on
`risk.event.*` (stream RISK, kept `mm_runtime.jetstream.STREAM_MAX_AGE_S`); an operator's halt
has check `manual`. The automatic ones in the window are what `no_halt` judges. A window
reaching back past the stream's retention has an unknown count (None), never zero.

What the gate still cannot read from a stream, and why: obligation coverage (the quoter measures
it in memory, `ctl.quoter.status` and `quoter_obligation_coverage_ratio`, and publishes no fact),
tick→order p99 (a histogram in the executor's `/metrics`, not a stored fact) and the executor's
reconciliation report (a log line and a counter). `mm prelive` reads those from the running
stack it starts (`mm_soak.rehearsal`); over a past window of a live system they are NO DATA.
"""

from __future__ import annotations

import time
from typing import Any

from mm_cli.report_command import ReportError, read_stored
from mm_cli.report_window import Window
from mm_proto import RiskEvent, subjects
from mm_runtime.jetstream import STREAM_MAX_AGE_S

MANUAL = "manual"  # the check of an operator's halt (`risk.control`)


def automatic(events: list[RiskEvent], window: Window) -> int:
    """The automatic halts among `events` inside the window."""
    return sum(
        1
        for event in events
        if event.outcome == "halt"
        and event.check != MANUAL
        and window.from_ns <= event.ts_event_ns < window.to_ns
    )


async def automatic_halts(
    nats_url: str, options: dict[str, Any], window: Window, now_ns: int | None = None
) -> int | None:
    """The automatic halts in the window, or None when the window outreaches stream RISK."""
    now = time.time_ns() if now_ns is None else now_ns
    if window.from_ns < now - int(STREAM_MAX_AGE_S * 1e9):
        return None
    stream = (subjects.RISK_STREAM, subjects.risk_event_pattern())
    try:
        events = await read_stored(nats_url, options, stream, window.from_ns, RiskEvent)
    except ReportError:  # risk never ran on this bus: nothing says whether it would have halted
        return None
    return automatic(events, window)
