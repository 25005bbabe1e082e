"""What a drill's judge needs beyond the bus: readiness, positions against risk's limit, task ends.

While attached, a clock samples every service's `/readyz` (`READY_INTERVAL_S`; a frozen service
that does not answer counts as not ready) and, less often (`POSITION_INTERVAL_S`), the venue's
position per symbol against risk's `max_position_lots` as risk's KV `config` entries make it
(defaults when there are none). At judgement the services' logs written since the drill began are
read for background tasks that ended: a supervised end ("background task ended unexpectedly")
must come with a readiness change of that service, and an end asyncio reports only when the task
is collected ("Task exception was never retrieved") was observed by nobody. Risk's durable EXEC
consumer must acknowledge, within a settle time, everything EXEC held when asked: a reader that
died silently never does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import nats.errors
from nats.aio.client import Client
from nats.js.errors import Error as JetStreamError
from nats.js.errors import NoKeysError

from mm_proto import subjects
from mm_proto.services import REGISTRY
from mm_soak.stack import LocalStack
from mm_soak.venue_audit import VenueAudit
from risk.limits import CONFIG_KEY_PREFIX, LimitsError, RiskLimits, build_limits

READY_INTERVAL_S = 0.25
POSITION_INTERVAL_S = 2.0  # signed REST shares the account's query budget with the executor
RISK_CONSUMER = "risk"  # risk's durable consumer on EXEC (its default durable name)
SUPERVISED_END = "background task ended unexpectedly"
UNOBSERVED_ENDS = ("Task exception was never retrieved", "Task was destroyed but it is pending")


@dataclass
class TaskEnds:
    """Background-task ends found in one service's log since a mark."""

    supervised: list[str] = field(default_factory=list)
    unobserved: list[str] = field(default_factory=list)


class StackProbe:
    """Samples readiness and positions on a clock; reads logs and consumer state on demand."""

    def __init__(self, stack: LocalStack, audit: VenueAudit, client: Client) -> None:
        self.stack = stack
        self.audit = audit
        self.client = client
        self.not_ready: dict[str, list[float]] = {service: [] for service in REGISTRY.names}
        self.over_limit: list[tuple[float, str]] = []  # (time, description)
        self.limit_source = "not read yet"
        self._log_marks: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._readiness_clock(), name="probe-readiness"),
            asyncio.create_task(self._position_clock(), name="probe-positions"),
        ]

    async def stop(self) -> None:
        # Cancelled until done: a cancel that lands inside nats-py (a KV key listing) can come
        # out as a nats error the sampling loop survives, which once hung a test's teardown.
        while any(not task.done() for task in self._tasks):
            for task in self._tasks:
                task.cancel()
            await asyncio.wait(self._tasks, timeout=1.0)
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                task.result()
        self._tasks = []

    # ---- readiness -------------------------------------------------------------------------
    async def _readiness_clock(self) -> None:
        timeout = aiohttp.ClientTimeout(total=READY_INTERVAL_S * 2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                await asyncio.gather(*(self._probe(session, name) for name in REGISTRY.names))
                await asyncio.sleep(READY_INTERVAL_S)

    async def _probe(self, session: aiohttp.ClientSession, service: str) -> None:
        moment = time.monotonic()
        try:
            async with session.get(f"{self.stack.http_url(service)}/readyz") as reply:
                ready = reply.status == 200
        except (aiohttp.ClientError, TimeoutError):
            ready = False
        if not ready:
            self.not_ready[service].append(moment)

    def went_unready(self, service: str, since_s: float) -> bool:
        return any(moment >= since_s for moment in self.not_ready[service])

    # ---- positions against risk's limit -------------------------------------------------------
    async def _position_clock(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a venue or bus down mid-drill: next sample
                await self.sample_positions()
            await asyncio.sleep(POSITION_INTERVAL_S)

    async def sample_positions(self) -> None:
        limits = await self.risk_limits()
        for symbol, lots in (await self.audit.venue_positions()).items():
            limit = limits.for_symbol(symbol).max_position_lots
            if abs(lots) > limit:
                found = f"{symbol}: venue {lots} lots, risk's max_position_lots {limit}"
                self.over_limit.append((time.monotonic(), found))

    async def risk_limits(self) -> RiskLimits:
        """Risk's limits as its KV `config` entries build them (defaults when none)."""
        entries: dict[str, bytes] = {}
        try:
            bucket = await self.client.jetstream().key_value(subjects.CONFIG_BUCKET)
            for key in await bucket.keys():
                if key.startswith(CONFIG_KEY_PREFIX):
                    entries[key] = (await bucket.get(key)).value or b""
        except NoKeysError:
            pass  # an empty bucket: risk runs on its defaults
        except (nats.errors.Error, JetStreamError, TimeoutError) as error:
            self.limit_source = f"defaults (config unreadable: {type(error).__name__})"
            return build_limits({})
        try:
            limits = build_limits(entries)
        except LimitsError:
            self.limit_source = "defaults (config entries refused)"
            return build_limits({})
        self.limit_source = f"KV config ({len(entries)} risk entries)"
        return limits

    def over_limit_since(self, since_s: float) -> list[str]:
        return [found for moment, found in self.over_limit if moment >= since_s]

    # ---- task ends in the logs -------------------------------------------------------------
    def mark_logs(self) -> None:
        """Remember where each service's log ends, so `task_ends` reads only what comes after."""
        for service in REGISTRY.names:
            path = self._log(service)
            self._log_marks[service] = path.stat().st_size if path.exists() else 0

    def task_ends(self) -> dict[str, TaskEnds]:
        found: dict[str, TaskEnds] = {}
        for service in REGISTRY.names:
            path = self._log(service)
            if not path.exists():
                continue
            start = self._log_marks.get(service, 0)
            if path.stat().st_size < start:
                start = 0  # rotated (copy-and-truncate) since the mark
            with path.open("rb") as log:
                log.seek(start)
                text = log.read().decode("utf-8", errors="replace")
            ends = TaskEnds()
            for line in text.splitlines():
                if SUPERVISED_END in line:
                    ends.supervised.append(_task_name(line))
                elif any(marker in line for marker in UNOBSERVED_ENDS):
                    ends.unobserved.append(line[:200])
            if ends.supervised or ends.unobserved:
                found[service] = ends
        return found

    def _log(self, service: str) -> Path:
        return self.stack.layout.log_dir / f"{service}.log"

    # ---- risk's EXEC consumer ----------------------------------------------------------------
    async def risk_lag(self, settle_s: float) -> str:
        """ "" once risk's durable EXEC consumer has acknowledged every message the stream held
        when asked, else what it had acknowledged when `settle_s` ran out."""
        js = self.client.jetstream()
        deadline = time.monotonic() + settle_s
        target: int | None = None
        floor: int | None = None
        while True:
            try:
                if target is None:
                    target = (await js.stream_info(subjects.EXEC_STREAM)).state.last_seq
                info = await js.consumer_info(subjects.EXEC_STREAM, RISK_CONSUMER)
                floor = info.ack_floor.stream_seq if info.ack_floor else 0
                if floor >= target:
                    return ""
            except (nats.errors.Error, JetStreamError, TimeoutError) as error:
                floor = None if target is None else floor
                if time.monotonic() >= deadline:
                    return f"EXEC or its risk consumer unreadable: {type(error).__name__}"
            if time.monotonic() >= deadline:
                return (
                    f"risk's EXEC consumer acknowledged up to sequence {floor}, the stream "
                    f"held {target} {settle_s}s earlier: its reader is not consuming"
                )
            await asyncio.sleep(0.5)


def _task_name(line: str) -> str:
    try:
        record = json.loads(line)
    except ValueError:
        return line[:120]
    return str(record.get("task", record.get("event", "")))[:120]
