"""Reconciliation with the venue: open orders and positions adopted as truth, the report logged,
and where the last published fill left off (so the execution catch-up starts there).

Each reconciliation publishes the venue's position per symbol as a baseline (`reconciled=True`,
flat when the venue lists none): after a restart of the venue or of the stack, risk takes it as
the truth instead of what the kept EXEC history adds up to. It also publishes its outcome per
symbol (`exec.reconciliation.*`, `reconciliation_fact`), which `mm gate` judges."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from executor.client_ids import ClientIdFactory
from executor.metrics import ExecutorMetrics
from executor.own_orders import OwnOrders, ReconcileReport
from executor.reconciliation_fact import result_of
from executor.symbol_worker import SymbolWorker
from executor.venue_feed import VenueFeed
from mm_bybit.api import BybitRestApi
from mm_bybit.errors import BybitError, OrderNotFound
from mm_bybit.order_requests import cancel_request
from mm_bybit.pushes import VenueOrder, venue_order_from_raw
from mm_proto import DecodeError, Fill, InstrumentDefinition, decode, subjects

_log = logging.getLogger("executor.reconciliation")

# With no fill of ours on the stream, executions this far back are asked for: inside the stream's
# 24 h duplicate window, so a replay never stores a fill twice.
NO_HISTORY_LOOKBACK_MS = 23 * 3600 * 1000


async def reconcile_symbol(
    api: BybitRestApi,
    own_orders: OwnOrders,
    instrument: InstrumentDefinition,
    ids: ClientIdFactory,
    feed: VenueFeed,
    cancel_foreign: bool,
) -> ReconcileReport:
    """Adopt the venue's open orders and position for one symbol; cancel orders not ours."""
    category, symbol = instrument.category, instrument.symbol
    venue_orders = await read_open_orders(api, instrument, feed.metrics)
    report = own_orders.reconcile(venue_orders, time.monotonic(), ids.is_own)
    if cancel_foreign:
        await cancel_orders(api, instrument, report.foreign)
    if category != "spot":  # spot holds balances, not positions (the wallet push carries them)
        read_ns = time.time_ns()
        positions = await api.positions(category, symbol)
        await feed.publish_reconciled_position(instrument, positions, read_ns)
    return report


async def read_open_orders(
    api: BybitRestApi, instrument: InstrumentDefinition, metrics: ExecutorMetrics
) -> list[VenueOrder]:
    """The venue's open orders of one symbol; one it lists that cannot be read is counted and
    logged, not adopted."""
    orders = []
    for order in await api.open_orders(instrument.category, instrument.symbol):
        try:
            orders.append(venue_order_from_raw(order, instrument))
        except ValueError as error:
            metrics.dropped.labels("reconcile", "unconvertible").inc()
            _log.warning("open order not understood", extra={"error": str(error)})
    return orders


async def cancel_orders(
    api: BybitRestApi, instrument: InstrumentDefinition, orders: list[VenueOrder]
) -> None:
    """Cancel these orders by venue id (foreign ones); one already gone is not an error."""
    for order in orders:
        with contextlib.suppress(OrderNotFound):
            await api.send_order(cancel_request(instrument, venue_order_id=order.venue_order_id))


async def reconcile_all(
    api: BybitRestApi,
    instruments: Mapping[str, InstrumentDefinition],
    workers: Mapping[str, SymbolWorker],
    ids: ClientIdFactory,
    feed: VenueFeed,
    cancel_foreign: Callable[[str], bool],
) -> bool:
    """Reconcile every symbol, each under its worker's lock (no plan is sent meanwhile); False
    as soon as the venue fails to answer for one."""
    for symbol, instrument in instruments.items():
        worker = workers[symbol]
        async with worker.lock:
            try:
                report = await reconcile_symbol(
                    api, worker.own_orders, instrument, ids, feed, cancel_foreign(symbol)
                )
            except BybitError as error:
                _log.warning("reconciliation failed", extra={"error": str(error)})
                return False
        reason = "private stream subscribed"
        log_report(report, reason, cancel_foreign(symbol), feed.metrics)
        await publish_result(report, instrument, reason, feed)
    return True


async def publish_result(
    report: ReconcileReport, instrument: InstrumentDefinition, reason: str, feed: VenueFeed
) -> None:
    """The reconciliation's outcome for `mm gate`, through the fact store (EXEC)."""
    symbol = instrument.symbol
    first = symbol not in feed.reconciled_symbols
    feed.reconciled_symbols.add(symbol)
    result = result_of(report, feed.venue, instrument.category, reason, first)
    subject = subjects.reconciliation(feed.venue, instrument.category, symbol)
    message_id = f"reconciliation:{symbol}:{feed.ids.boot}:{result.ts_event_ns}"
    await feed.facts.publish(subject, result, message_id)


def log_report(
    report: ReconcileReport, reason: str, cancelled_foreign: bool, metrics: ExecutorMetrics
) -> None:
    """The reconciliation report as one structured event and its counters (the fact for `mm gate`
    is `publish_result`'s)."""
    counts = {
        "adopted": len(report.adopted),
        "corrected": len(report.corrected),
        "removed": len(report.removed),
        "foreign_cancelled" if cancelled_foreign else "foreign_left": len(report.foreign),
    }
    for change, count in counts.items():
        metrics.reconciliations.labels(change).inc(count)
    metrics.reconciliations.labels("runs").inc()
    _log.info(
        "reconciliation",
        extra={"reason": reason, "report": json.dumps(report.as_dict()), **counts},
    )


async def last_fill_time_ms(
    jetstream: JetStreamContext, venue: str, instruments: dict[str, InstrumentDefinition]
) -> int:
    """The exchange time of the oldest of each symbol's newest published fill (catch-up start)."""
    now_ms = time.time_ns() // 1_000_000
    newest: list[int] = []
    for instrument in instruments.values():
        subject = subjects.exec_fill(venue, instrument.category, instrument.symbol)
        try:
            message = await jetstream.get_last_msg(subjects.EXEC_STREAM, subject)
            fill = decode(message.data or b"", Fill)
        except NotFoundError:
            newest.append(now_ms - NO_HISTORY_LOOKBACK_MS)
            continue
        except DecodeError:
            _log.warning("last fill on the stream is undecodable", extra={"subject": subject})
            newest.append(now_ms - NO_HISTORY_LOOKBACK_MS)
            continue
        newest.append(fill.ts_exchange_ns // 1_000_000)
    return min(newest) if newest else now_ms
