"""Turning strategy decisions into published QuoteIntents: the span, the id, the metrics.

A book update the gateway did not trace (one in its `tick_trace_interval` is) arrives without a
trace context; its computation makes no span and its intent carries no trace headers, so an
untraced tick costs no span object anywhere downstream. Other steps (timer, fills, config) keep
their own root span when they come without a context.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from opentelemetry.context import Context

from mm_proto import BookTop, subjects
from mm_runtime.lifecycle import Runtime
from mm_runtime.metrics import LabelCache
from mm_runtime.telemetry import child_span, traced
from quoter.messages import intent_from_decision
from quoter.metrics import QuoterMetrics
from quoter.strategy import Decision, SymbolQuoter

Step = Callable[[int], Decision]


class IntentPublisher:
    """Runs strategy steps inside `quote.compute` spans and publishes what they decide."""

    def __init__(
        self, runtime: Runtime, metrics: QuoterMetrics, venue: str, category: str, instance_id: str
    ) -> None:
        self._runtime = runtime
        self._metrics = metrics
        self._intents = metrics.intents.labels
        self._pulls = LabelCache(metrics.pulls)
        self._venue = venue
        self._category = category
        # Unique across restarts: the instance and its start time, then a sequence number.
        self._id_prefix = f"{instance_id}-{time.time_ns():x}"
        self._sequence = 0
        self._subjects: dict[str, str] = {}  # per symbol, built once (token checks are not free)
        self.may_publish: Callable[[str], bool] = lambda _symbol: True  # quoter.shards

    async def compute(
        self,
        symbol: str,
        quoter: SymbolQuoter,
        step: Step,
        context: Context | None,
        ts_gateway_ns: int = 0,
    ) -> None:
        """One step as a child span of `context` (the triggering message's trace, if any)."""
        tracer = self._runtime.telemetry.tracer
        with child_span(tracer, "quote.compute", context) as span:
            now = time.time_ns()
            decision = step(now)
            span.set_attribute("symbol", symbol)
            span.set_attribute("source_update_id", decision.update_id)
            span.set_attribute("decision", decision.reason or "suppressed")
            await self.emit(symbol, quoter, decision, now, ts_gateway_ns)

    async def compute_tick(
        self, book: BookTop, quoter: SymbolQuoter, step: Step, context: Context
    ) -> None:
        """A book update's step: traced (`compute`) only when the gateway traced the update."""
        if traced(context):
            await self.compute(book.symbol, quoter, step, context, book.ts_gateway_ns)
            return
        now = time.time_ns()
        await self.emit(book.symbol, quoter, step(now), now, book.ts_gateway_ns)

    async def emit(
        self,
        symbol: str,
        quoter: SymbolQuoter,
        decision: Decision,
        now: int,
        ts_gateway_ns: int = 0,
    ) -> None:
        """Publish the decision's ladder when it asks to be published; count it either way."""
        if not decision.publish:
            if decision.suppressed:
                self._metrics.suppressed.labels(symbol).inc()
            return
        if not self.may_publish(symbol):  # lease mode: another replica's symbol
            self._metrics.suppressed.labels(symbol).inc()
            return
        self._sequence += 1
        intent = intent_from_decision(
            decision,
            self._venue,
            self._category,
            symbol,
            f"{self._id_prefix}-{self._sequence}",
            quoter.touch.ts_ns if quoter.touch else 0,
            now,
            ts_gateway_ns,
            quoter.params.color,
        )
        subject = self._subjects.get(symbol)
        if subject is None:
            subject = self._subjects[symbol] = subjects.quote_intent(
                self._venue, self._category, symbol
            )
        await self._runtime.bus.publish(subject, intent)
        self._intents(symbol, decision.reason).inc()
        if decision.pull_reason:
            self._pulls(symbol, decision.pull_reason).inc()
        if ts_gateway_ns:
            self._metrics.tick_to_quote.observe(max(0, time.time_ns() - ts_gateway_ns) / 1e9)
