"""The fault drills: what each one breaks, how long, and how it is cleared.

A drill is injected into a running `LocalStack`, held, cleared, and then judged by `run_drill`:
the stack must be whole again, quoting must resume within the stated bound, the venue audit must
agree with the bus, and no order may have stayed live on a stale or crossed book for longer than
`MAX_EXPOSURE_S`.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from mm_cli.local_stack import SERVICES
from mm_soak.quote_watch import QuoteWatch
from mm_soak.stack import LocalStack
from mm_soak.venue_audit import AuditFindings, VenueAudit

MAX_EXPOSURE_S = 0.5
RESUME_BOUND_S = 20.0  # restart backoff (1 s) + process start + venue reconciliation + a quote

Action = Callable[[LocalStack], Awaitable[None]]


@dataclass(frozen=True)
class Drill:
    name: str
    inject: Action
    clear: Action | None = None
    hold_s: float = 0.0
    killed: str = ""  # the child a SIGKILL drill kills (it must come back)


@dataclass
class DrillResult:
    """How one drill went; `failures` empty means it passed."""

    name: str
    started_s: float
    resumed_after_s: float | None = None
    longest_exposure_s: float = 0.0
    exposure_reason: str = ""
    audit: str = ""
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "resumed_after_s": self.resumed_after_s,
            "longest_exposure_s": round(self.longest_exposure_s, 3),
            "exposure_reason": self.exposure_reason,
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

DRILLS: dict[str, Drill] = {
    **{f"kill-{name}": Drill(f"kill-{name}", sigkill(name), killed=name) for name in SERVICES},
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
}
SHORT_DRILLS = ("kill-executor", "kill-risk")


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
    drill: Drill, stack: LocalStack, watch: QuoteWatch, audit: VenueAudit
) -> DrillResult:
    """Inject, hold, clear, then judge recovery; never raises for a failed judgement."""
    assert stack.supervisor is not None, "expected a started stack"
    result = DrillResult(drill.name, time.monotonic())
    restarts = {child.spec.name: child.restarts for child in stack.supervisor.children}
    await drill.inject(stack)
    if drill.hold_s:
        await asyncio.sleep(drill.hold_s)
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
    findings = await audit.audit(settle_s=15.0)
    _judge(result, findings, watch)
    return result


async def _resume(watch: QuoteWatch, since: float) -> float | None:
    deadline = since + RESUME_BOUND_S
    while time.monotonic() < deadline:
        resumed = watch.first_activity_after(since)
        if resumed is not None:
            return round(resumed, 3)
        await asyncio.sleep(0.1)
    return None


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
