"""Lease-gated ownership of symbols for an executor running as one of several replicas.

With `lease.enabled` every replica is given the whole symbol list and the replica list; it writes
only the symbols whose lease it holds (`mm_runtime.symbol_lease` has the design). This module
owns what the executor does around the lease:

- the gate: `may_write(symbol)`, asked by each symbol's `OrderSender` immediately before every
  create or amend it hands to the venue (cancels are never gated: they only take risk off);
- the takeover: before a newly won symbol is reported valid, its open orders are read from the
  venue under the worker's lock; ours are adopted, every other one (the previous owner's, whose
  client ids carry its instance, or anyone else's) is cancelled, then the worker quotes. The old
  owner's orders are cancelled rather than adopted so that each venue order keeps exactly one
  writer for its whole life, which is what the venue-side check reads. Their fills still reach
  EXEC exactly once: every replica publishes every execution under its venue id (de-duplicated);
- the loss: a symbol whose lease ran out or was taken is not written any more, and this replica's
  own orders of it are cancelled by id (never cancel-all, which would hit the new owner's);
- shutdown: cancel-all only on the symbols we hold, then release their leases so the partner
  takes them at once instead of after the ttl.

A returning replica does not take its share back while the survivor holds it: every move costs a
cancel and a fresh ladder (lost queue place and obligation time), and a replica that keeps
crashing would move its symbols back and forth. The shares even out again when the holder stops
gracefully (its release hands the symbols to whoever asks first) or restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Mapping

from executor.client_ids import ClientIdFactory
from executor.settings import ExecutorSettings
from executor.symbol_worker import SymbolWorker
from executor.venue_feed import VenueFeed
from executor.venue_sync import log_report, reconcile_symbol
from mm_bybit.api import BybitRestApi
from mm_bybit.errors import BybitError, OrderNotFound
from mm_bybit.order_requests import cancel_request
from mm_proto import InstrumentDefinition
from mm_runtime.lease_keeper import LeaseKeeper, start_leases
from mm_runtime.lifecycle import Runtime

_log = logging.getLogger("executor.shards")


class TakeoverError(Exception):
    """The venue could not be reconciled for a newly won symbol; it is not written yet."""


class ExecutorShards:
    """Which symbols this replica may write, and the takeover and hand-off around the lease."""

    def __init__(
        self,
        settings: ExecutorSettings,
        workers: Mapping[str, SymbolWorker],
        ids: ClientIdFactory,
    ) -> None:
        self.settings, self.workers, self.ids = settings, workers, ids
        self.instruments: Mapping[str, InstrumentDefinition] = {}
        self._api: Callable[[], BybitRestApi] | None = None
        self.feed: VenueFeed | None = None
        self.keeper: LeaseKeeper | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return self.settings.lease.enabled

    def may_write(self, symbol: str) -> bool:
        """May a create or amend (or a symbol-wide cancel) for `symbol` leave now: always outside
        lease mode; in lease mode only with a valid lease (none before the keeper runs)."""
        if not self.enabled:
            return True
        return self.keeper is not None and self.keeper.valid(symbol)

    def gate(self, symbol: str) -> Callable[[], bool]:
        return functools.partial(self.may_write, symbol)

    def start(self, runtime: Runtime, boot: str) -> None:
        """Start keeping leases (lease mode only); acquisitions follow within a poll."""
        if self.enabled:
            settings = self.settings
            self.keeper = start_leases(
                runtime, "executor", (settings.instance_id, boot), settings.lease,
                settings.symbols, self._on_acquired, self._on_lost, settings.nats.replicas,
            )  # fmt: skip

    async def _on_acquired(self, symbol: str, epoch: int) -> None:
        """Make the symbol ours at the venue before quoting it: cancel every order not ours."""
        worker, feed = self.workers.get(symbol), self.feed
        if worker is None or feed is None:
            return
        async with worker.lock:
            try:
                report = await reconcile_symbol(
                    self.api(), worker.own_orders, self.instruments[symbol], self.ids, feed, True
                )
            except BybitError as error:
                # Not safe to quote: the keeper keeps the symbol unwritten and tries again.
                raise TakeoverError(f"venue did not answer the reconciliation: {error}") from None
        log_report(report, f"lease acquired, epoch {epoch}", True, feed.metrics)
        asyncio.get_running_loop().call_soon(worker.wake)  # after the keeper marks it valid

    def _on_lost(self, symbol: str, reason: str) -> None:
        task = asyncio.create_task(self._cancel_ours(symbol, reason), name=f"lease-lost-{symbol}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _cancel_ours(self, symbol: str, reason: str) -> None:
        """Cancel our own orders of a lost symbol, by id, so the new owner's stay."""
        worker = self.workers.get(symbol)
        if worker is None:
            return
        instrument = self.instruments[symbol]
        async with worker.lock:
            for order in list(worker.own_orders.orders.values()):
                request = cancel_request(instrument, client_order_id=order.client_order_id)
                try:
                    await self.api().send_order(request)
                except OrderNotFound:
                    worker.own_orders.gone(order.client_order_id)
                except BybitError as error:
                    _log.warning("cancel after lease loss failed", extra={"error": str(error)})
        _log.warning(
            "symbol handed off; own orders cancelled", extra={"symbol": symbol, "reason": reason}
        )

    def attach(
        self,
        feed: VenueFeed,
        instruments: Mapping[str, InstrumentDefinition],
        api: Callable[[], BybitRestApi],
    ) -> None:
        """What takeovers and hand-offs use: the feed (which also publishes the other replicas'
        order ends), the instruments and the venue's REST API."""
        self.feed, self.instruments, self._api = feed, instruments, api
        feed.is_sibling = self.is_sibling

    def api(self) -> BybitRestApi:
        if self._api is None:
            raise RuntimeError("the executor's shards are not attached to the venue yet")
        return self._api()

    def is_sibling(self, client_order_id: str) -> bool:
        """An order id made by another replica of this executor (same prefix, listed instance)."""
        prefix = self.settings.order_prefix
        return any(
            client_order_id.startswith(f"{prefix}-{replica}-")
            for replica in self.settings.lease.replicas
            if replica != self.settings.instance_id
        )

    def owned_symbols(self) -> list[str]:
        """The symbols a cancel-all (shutdown, watchdog, fact store down) may touch: every symbol
        outside lease mode; in lease mode only those we hold, since a cancel-all at the venue
        also takes the other replicas' orders of the symbol."""
        if not self.enabled:
            return list(self.workers)
        return self.keeper.owned() if self.keeper is not None else []

    async def stop(self) -> None:
        """Release our leases (after the shutdown's cancel-all) and end the loss clean-ups."""
        if self.keeper is not None:
            with contextlib.suppress(Exception):
                await self.keeper.release_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def status(self) -> dict[str, object]:
        """Per symbol who holds it and the epoch, as this replica last read it."""
        if self.keeper is None:
            return {}
        return dict(self.keeper.status())
