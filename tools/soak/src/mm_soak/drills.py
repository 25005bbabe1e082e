"""The fault drills: what each one breaks, how long, and how it is cleared.

A drill is injected into a running `LocalStack`, held, cleared, and then judged by `run_drill`:
the stack must be whole again, quoting must resume within the stated bound, the venue audit must
agree with the bus, and no order may have stayed live on a stale or crossed book for longer than
`MAX_EXPOSURE_S`. With a `StackProbe` attached it also judges: no order resting at the venue on a
book older than `BOOK_AGE_BOUND_S` (beyond the watch's clock resolution), timed by the venue's
order history (`mm_soak.venue_orders`; bus events arrive late while the bus cannot store), no
venue position beyond risk's limit at any sample, no background task ended without a log line
and a readiness change, and risk's EXEC consumer caught up afterwards. A drill with
`pulled_within_s` must see the venue hold no order of ours from that long after the fault until
it is cleared (the fail-closed bound).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from mm_bybit.raw import Order
from mm_proto.services import REGISTRY
from mm_soak import drill_faults, venue_orders
from mm_soak.quote_watch import BOOK_AGE_BOUND_S, BOOK_AGE_TICK_S, QuoteWatch
from mm_soak.stack import LocalStack
from mm_soak.stack_probe import StackProbe
from mm_soak.venue_audit import CATEGORY, AuditFindings, VenueAudit

_log = logging.getLogger(__name__)

MAX_EXPOSURE_S = 0.5
# Orders live on a book older than the bound are a failure once they outlast one clock tick of
# the watch plus a bus hop (the measurement's resolution), not a tolerance for slow reactions.
OLD_BOOK_SLACK_S = 2 * BOOK_AGE_TICK_S
RESUME_BOUND_S = 20.0  # restart backoff (1 s) + process start + venue reconciliation + a quote
# Orders created this long before a drill may still rest in it (the quoter amends in place).
HISTORY_BACK_MS = 600_000
IN_FLIGHT_S = 0.25  # orders accepted this soon after a fault were on their way before it

Action = Callable[[LocalStack], Awaitable[None]]


@dataclass(frozen=True)
class Drill:
    name: str
    inject: Action
    clear: Action | None = None
    hold_s: float = 0.0
    killed: str = ""  # the child a SIGKILL drill kills (it must come back)
    # From this long after injection until the fault is cleared the venue must list no order
    # of ours (None: not judged); sampled every `PULL_SAMPLE_S`.
    pulled_within_s: float | None = None
    # Quoting must go on within this long of the fault, while it lasts (None: not judged; the
    # cluster drills, whose bus keeps working on two nodes of three).
    resume_bound_s: float | None = None


@dataclass
class DrillResult:
    """How one drill went; `failures` empty means it passed."""

    name: str
    started_s: float
    resumed_after_s: float | None = None
    longest_exposure_s: float = 0.0
    exposure_reason: str = ""
    audit: str = ""
    longest_old_book_s: float = 0.0  # by the venue's order history (what is judged)
    bus_old_book_s: float = 0.0  # by the executor's order events on the bus (for comparison)
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "resumed_after_s": self.resumed_after_s,
            "longest_exposure_s": round(self.longest_exposure_s, 3),
            "exposure_reason": self.exposure_reason,
            "longest_old_book_s": round(self.longest_old_book_s, 3),
            "bus_old_book_s": round(self.bus_old_book_s, 3),
            "audit": self.audit,
            "failures": self.failures,
            "passed": not self.failures,
        }


async def set_faults(stack: LocalStack, changes: dict[str, Any]) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{stack.layout.sim_url}/sim/admin/faults",
            json=changes,
            headers=stack.layout.sim_admin_headers(),
        ) as reply,
    ):
        if reply.status != 200:
            raise RuntimeError(f"sim faults: expected 200, received {reply.status}")


async def drop_venue_sockets(stack: LocalStack) -> None:
    url = f"{stack.layout.sim_url}/sim/admin/drop-connections"
    headers = stack.layout.sim_admin_headers()
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"surface": "all"}, headers=headers),
    ):
        pass


def sigkill(name: str) -> Action:
    async def inject(stack: LocalStack) -> None:
        stack.kill(name, signal.SIGKILL)

    return inject


def faults(changes: dict[str, Any]) -> Action:
    async def apply(stack: LocalStack) -> None:
        await set_faults(stack, changes)

    return apply


NO_FAULTS = {"rest_delay_ms": 0, "rest_error": "none", "rate_limit_storm": False}
PULL_SAMPLE_S = 0.5


def _frozen(name: str, hold_s: float, pulled_within_s: float | None) -> Drill:
    freeze, thaw = drill_faults.sigstop(name)
    return Drill(f"stop-{name}", freeze, thaw, hold_s, pulled_within_s=pulled_within_s)


# Holds and pull bounds: md_gateway frozen is judged by the book age (1 s; risk's book freshness,
# 0.5 s); a frozen quoter's last intent must be cancelled by risk's intent freshness (10 s); a
# frozen risk by the executor's watchdog (0.6 s without a risk heartbeat, sent every 0.2 s) and a
# venue round trip; frozen NATS likewise (no heartbeat reaches the executor); a frozen executor
# only by the venue's disconnect-cancel, which a 30 s hold cannot judge with a 20 s client ping
# interval and a 10 s DCP window, so it is judged on recovery only.
FROZEN = (
    _frozen("md_gateway", 6.0, None),
    _frozen("quoter", 15.0, 12.0),
    _frozen("risk", 10.0, 1.5),
    _frozen("executor", 30.0, None),
    _frozen("nats", 10.0, 1.5),
)

DRILLS: dict[str, Drill] = {
    **{
        f"kill-{name}": Drill(f"kill-{name}", sigkill(name), killed=name) for name in REGISTRY.names
    },
    "restart-nats": Drill("restart-nats", sigkill("nats"), killed="nats"),
    "drop-venue-ws": Drill("drop-venue-ws", drop_venue_sockets),
    "rest-latency": Drill("rest-latency", faults({"rest_delay_ms": 400}), faults(NO_FAULTS), 8.0),
    "rest-5xx": Drill(
        "rest-5xx",
        faults({"rest_error": "http_5xx", "rest_error_count": -1}),
        faults(NO_FAULTS),
        5.0,
    ),
    "rate-limit-storm": Drill(
        "rate-limit-storm", faults({"rate_limit_storm": True}), faults(NO_FAULTS), 5.0
    ),
    **{drill.name: drill for drill in FROZEN},
    "store-unwritable": Drill(
        "store-unwritable",
        drill_faults.store_unwritable,
        drill_faults.store_writable,
        12.0,
        pulled_within_s=8.0,
    ),
    "forged-inbox": Drill("forged-inbox", drill_faults.forge_inbox("risk", sender="quoter")),
    "quoter-raises": Drill(
        "quoter-raises",
        drill_faults.quoter_raises(True),
        drill_faults.quoter_raises(False),
        15.0,
        pulled_within_s=12.0,
    ),
    "restart-stack": Drill("restart-stack", drill_faults.restart_stack),
}
SHORT_DRILLS = ("kill-executor", "kill-risk", "restart-stack")


async def wait_whole(stack: LocalStack, timeout_s: float = 30.0) -> None:
    """Every child running and answering its readiness probe."""
    deadline = time.monotonic() + timeout_s
    assert stack.supervisor is not None
    for child in stack.supervisor.children:
        while True:
            alive = child.process is not None and child.process.returncode is None
            if alive and (child.spec.ready is None or await child.spec.ready()):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{child.spec.name} not back within {timeout_s}s")
            await asyncio.sleep(0.2)


async def run_drill(
    drill: Drill,
    stack: LocalStack,
    watch: QuoteWatch,
    audit: VenueAudit,
    probe: StackProbe | None = None,
) -> DrillResult:
    """Inject, hold, clear, then judge recovery; never raises for a failed judgement, and a
    fault that cannot be injected is a failed drill (logged), not the end of a soak."""
    assert stack.supervisor is not None, "expected a started stack"
    result = DrillResult(drill.name, time.monotonic())
    restarts = {child.spec.name: child.restarts for child in stack.supervisor.children}
    if probe is not None:
        probe.mark_logs()
    try:
        await drill.inject(stack)
        await _hold(drill, audit, result)
    except Exception as error:
        _log.exception("drill not injected or held", extra={"drill": drill.name})
        result.failures.append(f"the drill could not be injected or held: {error!r}")
    finally:  # a frozen child or an immutable store must never outlive the drill
        if drill.clear is not None:
            await drill.clear(stack)
    await asyncio.sleep(1.5)  # the supervisor's restart backoff starts at 1 s
    try:
        await wait_whole(stack)
    except AssertionError as error:
        result.failures.append(str(error))
    if drill.killed and stack.child(drill.killed).restarts <= restarts[drill.killed]:
        result.failures.append(f"expected {drill.killed} to be restarted after SIGKILL, it was not")
    # Quoting resumed = the first order accepted or amended once every process is back, timed
    # from the moment the fault was injected (events already in flight do not count).
    whole = time.monotonic()
    resumed = await _resume(watch, whole)
    if resumed is None:
        halt = await audit.halt_state()
        result.failures.append(
            f"quoting did not resume within {RESUME_BOUND_S}s" + (f" ({halt})" if halt else "")
        )
    else:
        result.resumed_after_s = round(whole - result.started_s + resumed, 3)
    if drill.resume_bound_s is not None:
        _judge_resume_from_fault(result, watch, drill.resume_bound_s)
    findings = await audit.audit(settle_s=15.0)
    _judge(result, findings, watch)
    if probe is not None:
        await _judge_old_book(result, watch, audit)  # judged with the probe, as its bound is
        await _judge_probe(result, probe, stack, restarts)
    return result


async def _hold(drill: Drill, audit: VenueAudit, result: DrillResult) -> None:
    """Wait out the whole hold; with `pulled_within_s`, sample the venue's open orders from then
    on and record the first sample that still shows orders of ours."""
    end = result.started_s + drill.hold_s
    bound = drill.pulled_within_s
    judged = bound is None
    while time.monotonic() < end:
        await asyncio.sleep(min(PULL_SAMPLE_S, max(0.0, end - time.monotonic())))
        elapsed = time.monotonic() - result.started_s
        if judged or bound is None or elapsed < bound or time.monotonic() >= end:
            continue
        try:
            resting = await audit.open_order_count()
        except Exception as error:  # the venue should answer through every drill's fault
            result.failures.append(f"open orders unreadable at {elapsed:.1f}s: {error!r}"[:300])
            judged = True
            continue
        if resting:
            result.failures.append(
                f"{resting} orders still resting at the venue {elapsed:.1f}s into the fault, "
                f"expected none after {bound}s"
            )
            judged = True


async def _resume(watch: QuoteWatch, since: float) -> float | None:
    deadline = since + RESUME_BOUND_S
    while time.monotonic() < deadline:
        resumed = watch.first_activity_after(since)
        if resumed is not None:
            return round(resumed, 3)
        await asyncio.sleep(0.1)
    return None


def _judge_resume_from_fault(result: DrillResult, watch: QuoteWatch, bound_s: float) -> None:
    """The first order accepted or amended after the fault (past what was in flight) must come
    within `bound_s` of it; `resumed_after_s` then reports that gap."""
    gap = watch.first_activity_after(result.started_s + IN_FLIGHT_S)
    if gap is not None:
        result.resumed_after_s = round(gap + IN_FLIGHT_S, 3)
    if gap is None or gap + IN_FLIGHT_S > bound_s:
        result.failures.append(
            f"quoting went on {result.resumed_after_s}s after the fault, expected within {bound_s}s"
        )


def _judge(result: DrillResult, findings: AuditFindings, watch: QuoteWatch) -> None:
    result.audit = findings.describe()
    if not findings.ok:
        result.failures.append(f"venue audit: {findings.describe()}")
    exposure = watch.longest_exposure(since_s=result.started_s)
    if exposure is not None:
        result.longest_exposure_s = exposure.seconds
        result.exposure_reason = f"{exposure.symbol}: {exposure.reason}"
        if exposure.seconds > MAX_EXPOSURE_S:
            result.failures.append(
                f"orders live on a bad book ({result.exposure_reason}) for "
                f"{exposure.seconds:.3f}s, expected at most {MAX_EXPOSURE_S}s"
            )


async def _judge_old_book(result: DrillResult, watch: QuoteWatch, audit: VenueAudit) -> None:
    """Orders on a book older than the bound, timed by the venue's order history (when each
    order reached and left the book); the bus-event measure is kept for comparison."""
    bus = watch.longest_old_book(since_s=result.started_s)
    result.bus_old_book_s = bus.seconds if bus is not None else 0.0
    now_wall = time.time()
    since_wall = now_wall - (time.monotonic() - result.started_s)
    try:
        orders = await _venue_orders(audit, int(since_wall * 1000) - HISTORY_BACK_MS)
    except Exception as error:  # the venue should answer once the drill is cleared
        result.failures.append(f"venue order history unreadable: {error!r}"[:300])
        return
    old_books = {symbol: watch.old_book_spans(symbol, now_wall) for symbol in audit.symbols}
    worst = venue_orders.longest_old_book(
        venue_orders.lifetimes(orders, now_wall), old_books, since_wall
    )
    if worst is None:
        return
    result.longest_old_book_s = worst.seconds
    if worst.seconds > OLD_BOOK_SLACK_S:
        result.failures.append(
            f"orders resting at the venue on a book older than {BOOK_AGE_BOUND_S}s "
            f"({worst.symbol}, {worst.orders} orders) for {worst.seconds:.3f}s "
            f"by the venue's order history"
        )


async def _venue_orders(audit: VenueAudit, start_ms: int) -> list[Order]:
    """Orders created since `start_ms`, with those open now and the last closed ones (an order
    created earlier may have rested through the drill), each once."""
    found: dict[str, Order] = {}
    for order in (
        *await audit.api.order_history(CATEGORY, start_ms),
        *await audit.api.closed_orders(CATEGORY),
        *await audit.api.open_orders(CATEGORY),
    ):
        found[order.order_id] = order
    return list(found.values())


async def _judge_probe(
    result: DrillResult,
    probe: StackProbe,
    stack: LocalStack,
    restarts: dict[str, int],
) -> None:
    """Positions against risk's limit, task ends and risk's EXEC consumer."""
    over = probe.over_limit_since(result.started_s)
    if over:
        result.failures.append(
            f"position beyond risk's limit ({probe.limit_source}) at {len(over)} samples: {over[0]}"
        )
    for service, ends in probe.task_ends().items():
        if ends.unobserved:
            result.failures.append(
                f"{service}: a background task ended unobserved: {ends.unobserved[0]}"
            )
        restarted = stack.child(service).restarts != restarts.get(service, 0)
        if ends.supervised and not (probe.went_unready(service, result.started_s) or restarted):
            result.failures.append(
                f"{service}: task {ends.supervised[0]} ended with no readiness change"
            )
    lag = await probe.risk_lag(settle_s=15.0)
    if lag:
        result.failures.append(lag)
