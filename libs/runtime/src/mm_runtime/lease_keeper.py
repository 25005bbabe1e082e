"""Keeps one replica's symbol leases in KV `leases`: acquires, renews, releases, reports.

The state machine and the design are in `mm_runtime.symbol_lease`. Every `ttl / 6` the keeper
reads each symbol's key (all symbols at once, each call bounded by that interval so a dead store
cannot stall it), decides, and writes with compare-and-set. The owner asks `valid(symbol)`
immediately before each write it makes; `on_acquired` runs (awaited) before a new epoch is
reported valid to the owner's writers (if it raises, the symbol stays unwritten and is taken
again, with the next epoch, on the next pass), and `on_lost` (synchronous: it schedules the
owner's clean-up) when a held symbol is lost, with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from prometheus_client import CollectorRegistry, Counter, Gauge

from mm_proto import subjects
from mm_runtime.jetstream import key_value
from mm_runtime.lifecycle import Runtime
from mm_runtime.settings import LeaseSettings
from mm_runtime.symbol_lease import (
    FREE,
    LeaseRecord,
    LeaseTiming,
    Step,
    SymbolLease,
    decide,
    decode_record,
    encode_record,
    next_record,
    preferred_replica,
)

_log = logging.getLogger("mm_runtime.lease")

OnAcquired = Callable[[str, int], Awaitable[None]]
OnLost = Callable[[str, str], None]  # must return at once (schedule slow work)
_Won = tuple[int, int, float]  # epoch, revision, when the winning write was sent


class LeaseMetrics:
    """Owned symbols per replica and lease events, labelled by the leased service."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.owned = Gauge(
            "mm_lease_owned", "1 while this replica holds the lease",
            ["service", "symbol"],
            registry=registry,
        )  # fmt: skip
        self.owned_symbols = Gauge(
            "mm_lease_owned_symbols", "Symbols whose lease this replica holds", ["service"],
            registry=registry,
        )  # fmt: skip
        self.events = Counter(
            "mm_lease_events", "Lease acquisitions, renewals, losses and bad values by kind",
            ["service", "event"], registry=registry,
        )  # fmt: skip


class LeaseKeeper:
    """One replica's leases for `symbols` of `service`."""

    def __init__(
        self,
        kv: Callable[[], Awaitable[KeyValue]],
        service: str,
        holder: tuple[str, str],
        symbols: Sequence[str],
        replicas: Sequence[str],
        timing: LeaseTiming,
        metrics: LeaseMetrics,
        on_acquired: OnAcquired,
        on_lost: OnLost,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if holder[0] not in replicas:
            raise ValueError(f"instance {holder[0]!r} is not in the replica list {list(replicas)}")
        self._kv, self.service, self.mine, self.timing = kv, service, holder, timing
        self.leases = {
            symbol: SymbolLease(symbol, preferred_replica(symbol, replicas) == holder[0])
            for symbol in symbols
        }
        self.metrics, self._on_acquired, self._on_lost, self.clock = (
            metrics, on_acquired, on_lost, clock,
        )  # fmt: skip
        self.paused = False  # tests: freeze the keeper's writes as a SIGSTOP would
        self.store_error = ""  # why the last read or write failed ("" when it did not)
        for symbol in symbols:
            metrics.owned.labels(service, symbol).set(0)
        metrics.owned_symbols.labels(service).set(0)

    def key(self, symbol: str) -> str:
        return f"{self.service}.{symbol}"

    def valid(self, symbol: str) -> bool:
        """May this replica write `symbol` now (lease held and not run out locally)."""
        lease = self.leases.get(symbol)
        return lease is not None and lease.valid(self.clock())

    def epoch(self, symbol: str) -> int:
        lease = self.leases.get(symbol)
        return lease.epoch if lease is not None and lease.valid(self.clock()) else 0

    def owned(self) -> list[str]:
        return [symbol for symbol in self.leases if self.valid(symbol)]

    async def run(self) -> None:
        """Forever: one pass over every symbol per poll interval."""
        while True:
            await self.tick()
            await asyncio.sleep(self.timing.poll_every_s)

    async def tick(self) -> None:
        if self.paused:
            return
        await asyncio.gather(*(self._step_bounded(lease) for lease in self.leases.values()))
        owned = self.owned()
        self.metrics.owned_symbols.labels(self.service).set(len(owned))

    async def _step_bounded(self, lease: SymbolLease) -> None:
        won: _Won | None = None
        try:
            won = await asyncio.wait_for(self._step(lease), self.timing.poll_every_s)
        except Exception as error:  # the store's failures vary: timeouts, no responders, ...
            self._store_failed(lease, f"{type(error).__name__}: {error}"[:200])
        if won is not None:  # outside the bound: the owner's takeover may take a while
            await self._acquire(lease, *won)
        await self._expire(lease)

    async def _step(self, lease: SymbolLease) -> _Won | None:
        kv = await self._kv()
        record = await self._read(kv, lease)
        step = decide(lease, record, self.mine, self.clock(), self.timing)
        self.store_error = ""
        if step is Step.LOST:
            holder = "garbage" if record is None else f"{record.holder} epoch {record.epoch}"
            await self._lose(lease, f"lease taken over by {holder}")
        elif step in (Step.CREATE, Step.TAKE, Step.RENEW):
            return await self._write(kv, lease, step)
        return None

    async def _read(self, kv: KeyValue, lease: SymbolLease) -> LeaseRecord | None:
        try:
            entry = await kv.get(self.key(lease.symbol))
        except KeyNotFoundError:
            lease.observe(0, None, self.clock())
            return None
        record = decode_record(entry.value)
        if record is None:
            self.metrics.events.labels(self.service, "bad_value").inc()
            _log.warning("lease value not understood", extra={"key": self.key(lease.symbol)})
        lease.observe(entry.revision or 0, record, self.clock())
        return record

    async def _write(self, kv: KeyValue, lease: SymbolLease, step: Step) -> _Won | None:
        record = next_record(lease, self.mine, self.timing)
        sent_at = self.clock()
        key, value = self.key(lease.symbol), encode_record(record)
        try:
            if step is Step.CREATE:
                revision = await kv.create(key, value)
            else:
                revision = await kv.update(key, value, last=lease.revision)
        except KeyWrongLastSequenceError:
            self.metrics.events.labels(self.service, "contended").inc()
            if lease.epoch > 0:
                await self._lose(lease, "lease changed under our renew")
            return None
        if step is Step.RENEW:
            lease.renewed(revision, sent_at, self.timing)
            self.metrics.events.labels(self.service, "renewed").inc()
            return None
        return record.epoch, revision, sent_at

    async def _acquire(self, lease: SymbolLease, epoch: int, revision: int, sent: float) -> None:
        self.metrics.events.labels(self.service, "acquired").inc()
        _log.warning(
            "lease acquired",
            extra={"service": self.service, "symbol": lease.symbol, "epoch": epoch,
                   "from_holder": lease.seen_holder or "none"},
        )  # fmt: skip
        # Valid for our writers only after the owner has made the symbol safe to write. If it
        # could not (the venue did not answer), the symbol stays unwritten and the record, ours,
        # is taken again (epoch + 1) on the next pass, which tries the takeover again.
        try:
            await self._on_acquired(lease.symbol, epoch)
        except Exception as error:
            lease.lost_reason = f"takeover failed: {error}"[:200]
            self.metrics.events.labels(self.service, "takeover_failed").inc()
            _log.warning("takeover failed; trying again", extra={"reason": lease.lost_reason})
            return
        lease.lost_reason = ""
        lease.acquired(epoch, revision, sent, self.timing)
        self._show_owned(lease, held=True)

    def _show_owned(self, lease: SymbolLease, held: bool) -> None:
        """The gauges move with the lease itself, not at the end of the pass: a pass waits for
        every symbol's step, so a symbol taken early would read as not held until the last."""
        self.metrics.owned.labels(self.service, lease.symbol).set(1 if held else 0)
        self.metrics.owned_symbols.labels(self.service).set(len(self.owned()))

    def _store_failed(self, lease: SymbolLease, reason: str) -> None:
        self.metrics.events.labels(self.service, "store_error").inc()
        if reason != self.store_error:
            _log.warning("lease store unreachable", extra={"reason": reason})
        self.store_error = reason
        if lease.epoch > 0 and not lease.lost_reason:
            lease.lost_reason = f"cannot renew: {reason}"

    async def _expire(self, lease: SymbolLease) -> None:
        if lease.epoch > 0 and not lease.valid(self.clock()):
            await self._lose(lease, lease.lost_reason or "lease ran out before it was renewed")

    async def _lose(self, lease: SymbolLease, reason: str) -> None:
        lease.drop(reason)
        self._show_owned(lease, held=False)
        self.metrics.events.labels(self.service, "lost").inc()
        _log.warning(
            "lease lost; not writing the symbol",
            extra={"service": self.service, "symbol": lease.symbol, "reason": reason},
        )
        self._on_lost(lease.symbol, reason)

    async def release_all(self) -> None:
        """Hand every held symbol back (graceful stop): the partner takes them without waiting."""
        kv = await self._kv()
        for lease in self.leases.values():
            if lease.epoch <= 0:
                continue
            free = LeaseRecord(holder=FREE, session="", epoch=lease.epoch, ttl_ms=1)
            lease.drop("released")
            self._show_owned(lease, held=False)
            try:
                await asyncio.wait_for(
                    kv.update(self.key(lease.symbol), encode_record(free), last=lease.revision),
                    self.timing.poll_every_s,
                )
            except Exception as error:  # the partner then waits for the ttl instead
                _log.warning("lease release failed", extra={"error": str(error)[:200]})

    def status(self) -> dict[str, dict[str, object]]:
        """Per symbol: holder as last read, epoch, whether we hold it, why not if we lost it."""
        now = self.clock()
        return {
            symbol: {
                "holder": self.mine[0] if lease.valid(now) else (lease.seen_holder or None),
                "epoch": lease.epoch if lease.valid(now) else lease.last_epoch,
                "ours": lease.valid(now),
                "preferred": lease.preferred,
                "valid_for_s": round(max(0.0, lease.valid_until - now), 3),
                "lost_reason": lease.lost_reason,
                "store_error": self.store_error,
            }
            for symbol, lease in self.leases.items()
        }


def start_leases(
    runtime: Runtime,
    service: str,
    holder: tuple[str, str],
    lease: LeaseSettings,
    symbols: Sequence[str],
    on_acquired: OnAcquired,
    on_lost: OnLost,
    replicas: int = 1,
) -> LeaseKeeper:
    """A keeper for `service`'s symbols on KV `leases` (kept by `replicas` servers), running as the
    supervised task `<service>-leases`."""
    jetstream = runtime.bus.client.jetstream()

    async def bucket() -> KeyValue:
        return await key_value(jetstream, subjects.LEASE_BUCKET, replicas)

    keeper = LeaseKeeper(
        bucket, service, holder, list(symbols), lease.replicas,
        LeaseTiming(lease.ttl_s, lease.margin_s), LeaseMetrics(runtime.registry),
        on_acquired, on_lost,
    )  # fmt: skip
    runtime.tasks.spawn(f"{service}-leases", keeper.run)
    return keeper
