"""The gate's stored facts made by the services' own code: the executor's tick-to-order window
and reconciliation result, the quoter's obligation summaries over real `SymbolQuoter`s; each
published to a real nats-server as the services publish them (`publish_fact`)."""

from __future__ import annotations

import functools

import nats

from executor.latency_window import TickToOrderWindow
from executor.own_orders import ReconcileReport
from executor.reconciliation_fact import result_of
from mm_proto import subjects
from mm_proto.examples import example_instrument
from mm_runtime.jetstream import ensure_layout, publish_fact
from quoter.obligation_facts import ObligationFacts
from quoter.params import QuoterParams
from quoter.strategy import SymbolQuoter

VENUE, CATEGORY, SYMBOL = "bybit", "linear", "BTCUSDT"


async def _jetstream(url: str) -> tuple[nats.NATS, object]:
    client = await nats.connect(url)
    js = client.jetstream()
    await ensure_layout(js)
    return client, js


async def latency(url: str, samples_ms: list[float], start_ns: int, end_ns: int) -> None:
    """One minute of tick-to-order samples of BTCUSDT, summarised by the executor's window."""
    client, js = await _jetstream(url)
    window = TickToOrderWindow(VENUE, CATEGORY, "test", now_ns=start_ns)
    for sample in samples_ms:
        window.observe(SYMBOL, int(sample * 1e6))
    await window.flush(functools.partial(publish_fact, js), now_ns=end_ns)  # type: ignore[arg-type]
    await client.close()


async def obligation(url: str, met: list[bool], start_ns: int, end_ns: int) -> None:
    """Obligation snapshots of BTCUSDT counted by a real quoter, published as it does."""
    client, js = await _jetstream(url)
    params = QuoterParams(obligation_enabled=True, obligation_notional_5bps=100.0)
    quoter = SymbolQuoter(example_instrument(), params)
    for index, ok in enumerate(met):
        quoter.coverage.record(start_ns + index, ok)
    facts = ObligationFacts({SYMBOL: quoter}, VENUE, CATEGORY, "test", now_ns=start_ns)
    await facts.flush(functools.partial(publish_fact, js), now_ns=end_ns)  # type: ignore[arg-type]
    await client.close()


async def reconciliation(url: str, report: ReconcileReport, ts_ns: int, first: bool) -> None:
    """One reconciliation's outcome as the executor publishes it."""
    client, js = await _jetstream(url)
    result = result_of(report, VENUE, CATEGORY, "private stream subscribed", first, ts_ns)
    subject = subjects.reconciliation(VENUE, CATEGORY, report.symbol)
    await publish_fact(js, subject, result, f"reconciliation:{report.symbol}:test:{ts_ns}")
    await client.close()


async def raw(url: str, subject: str, data: bytes) -> None:
    """Bytes on a fact subject (stored by the stream that keeps it), as a faulty writer would."""
    client, js = await _jetstream(url)
    await js.publish(subject, data)  # type: ignore[attr-defined]
    await client.close()


async def drop_stream(url: str, stream: str) -> None:
    """Delete one stream, as on a bus whose layout predates it."""
    client = await nats.connect(url)
    await client.jetstream().delete_stream(stream)
    await client.close()
