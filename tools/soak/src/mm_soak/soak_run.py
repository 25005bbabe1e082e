"""A soak: the stack under faults at intervals for a bounded time, sampled, audited and judged.

Every exit path (the deadline, Ctrl-C, SIGTERM, an error) stops the stack through the supervisor,
which reaps each child's process group; the run then checks that none of the children's processes
is left and records it in the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]  # no stubs in the lock (types-psutil)

from mm_soak.budgets import judge
from mm_soak.cluster_drills import CLUSTER_DRILLS
from mm_soak.drills import DRILLS, NO_FAULTS, DrillResult, run_drill, set_faults
from mm_soak.log_rotation import rotate_logs
from mm_soak.quote_watch import QuoteWatch
from mm_soak.report import write_report
from mm_soak.sampler import Sampler
from mm_soak.stack import LocalStack, StackOptions
from mm_soak.stack_probe import StackProbe
from mm_soak.venue_audit import VenueAudit

_log = logging.getLogger("mm_soak")

SOAK_DRILLS = (
    "drop-venue-ws",
    "rest-latency",
    "kill-executor",
    "rest-5xx",
    "kill-quoter",
    "rate-limit-storm",
    "kill-risk",
    "kill-md_gateway",
    "restart-nats",
    "stop-md_gateway",
    "stop-quoter",
    "stop-risk",
    "stop-executor",
    "stop-nats",
    "store-unwritable",
    "forged-inbox",
    "quoter-raises",
    "restart-stack",
)
# On a three-node bus (`--nats-cluster 3`): a node fault every other drill, the service and venue
# drills between them. The single-node bus drills (restart-nats, stop-nats, store-unwritable,
# restart-stack) have their cluster forms in `mm_soak.cluster_drills`.
CLUSTER_SOAK_DRILLS = (
    "kill-exec-leader",
    "drop-venue-ws",
    "kill-risk-leader",
    "kill-executor",
    "freeze-exec-leader",
    "rest-5xx",
    "rolling-restart",
    "kill-risk",
    "kill-exec-leader",
    "kill-quoter",
    "kill-risk-leader",
    "forged-inbox",
)


@dataclass
class SoakOptions:
    duration_s: float
    run_dir: Path
    out_dir: Path
    base_port: int = 16220
    fault_interval_s: float = 60.0
    sample_interval_s: float = 5.0
    log_max_bytes: int = 20 * 2**20
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    nats_nodes: int = 1  # 3: the bus is a JetStream cluster and the cluster drills take turns

    @property
    def drills(self) -> tuple[str, ...]:
        return CLUSTER_SOAK_DRILLS if self.nats_nodes > 1 else SOAK_DRILLS


async def soak(options: SoakOptions) -> int:
    """Run the soak; 0 when every budget, drill and the final audit pass, else 1."""
    stop = asyncio.Event()
    run = SoakRun(options)
    main = asyncio.current_task()

    def on_signal() -> None:
        stop.set()  # while observing: stop cleanly and still audit
        if not run.observing and main is not None:
            main.cancel()  # while starting: do not wait for a start that may hang

    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, on_signal)
    try:
        await run.stack.start()
        await run.observe(stop)
    except asyncio.CancelledError:
        run.meta["interrupted"] = "signal before the stack was observed"
    finally:
        pids = dict(run.stack.pids())
        await run.stack.stop()
        if run.sampler is not None:
            await run.sampler.close()
    run.meta["leftover_processes"] = _leftovers(pids)
    return run.report()


class SoakRun:
    """One soak's stack, observers and findings."""

    def __init__(self, options: SoakOptions) -> None:
        self.options = options
        self.stack = LocalStack(
            StackOptions(
                run_dir=options.run_dir,
                base_port=options.base_port,
                symbols=options.symbols,
                quoter_fault_hook=True,
                nats_nodes=options.nats_nodes,
            )
        )
        self.meta: dict[str, Any] = {"options": {k: str(v) for k, v in vars(options).items()}}
        self.drills: list[DrillResult] = []
        self.marks: list[tuple[float, str]] = []
        self.sampler: Sampler | None = None
        self.observing = False

    async def observe(self, stop: asyncio.Event) -> None:
        """Sample and inject faults until the deadline or `stop`, then audit the venue."""
        stack, options = self.stack, self.options
        client = await stack.connect()
        watch = QuoteWatch()
        await watch.attach(client)
        stack.watch = watch  # a cluster drill moves it off a node before freezing that node
        key, secret = stack.credentials()
        headers = stack.layout.sim_admin_headers()
        audit = VenueAudit(
            stack.layout.sim_url, key, secret, client, list(options.symbols), headers
        )
        self.sampler = Sampler(stack, client)
        probe = StackProbe(stack, audit, client)
        probe.start()
        self.observing = True
        worker = asyncio.create_task(
            _work(options, stack, self.sampler, (watch, audit, probe), self.drills, self.marks)
        )
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({worker, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        final = await audit.audit(settle_s=20.0)
        self.meta["final_audit"] = final.describe()
        self.meta["final_audit_ok"] = final.ok
        await probe.stop()
        await watch.detach()
        await audit.close()
        await client.drain()
        for moved in stack.watch_clients:
            await moved.drain()

    def report(self) -> int:
        """Write the report, print the verdicts; 0 when everything passed."""
        meta = self.meta
        meta["drills"] = [drill.as_dict() for drill in self.drills]
        meta["passed"] = (
            bool(meta.get("final_audit_ok"))
            and not meta["leftover_processes"]
            and all(not drill.failures for drill in self.drills)
        )
        samples = self.sampler.samples if self.sampler else []
        verdicts = judge(samples)
        path = write_report(self.options.out_dir, meta, samples, verdicts, self.marks)
        for verdict in verdicts:
            print(verdict.describe())
        for drill in self.drills:
            print(f"drill {drill.name}: {'ok' if not drill.failures else drill.failures}")
        print(f"final audit: {meta.get('final_audit')}")
        print(f"leftover processes: {meta['leftover_processes']}")
        passed = meta["passed"] and all(verdict.ok for verdict in verdicts)
        print(f"report: {path}: {'PASSED' if passed else 'FAILED'}")
        return 0 if passed else 1


async def _work(
    options: SoakOptions,
    stack: LocalStack,
    sampler: Sampler,
    judges: tuple[QuoteWatch, VenueAudit, StackProbe],
    drills: list[DrillResult],
    marks: list[tuple[float, str]],
) -> None:
    """Sample on a timer and inject the next drill every `fault_interval_s` until the deadline."""
    deadline = time.monotonic() + options.duration_s
    next_fault = time.monotonic() + options.fault_interval_s
    names = itertools.cycle(options.drills)
    sampling = asyncio.create_task(_sample_loop(options, stack, sampler))
    try:
        while time.monotonic() < deadline:
            if time.monotonic() >= next_fault and deadline - time.monotonic() > 60:
                drill = _ALL_DRILLS[next(names)]
                marks.append((time.monotonic() - sampler.started, drill.name))
                _log.warning("injecting %s", drill.name)
                result = await run_drill(drill, stack, *judges)
                drills.append(result)
                print(f"drill {result.name}: {result.as_dict()}", flush=True)
                next_fault = time.monotonic() + options.fault_interval_s
            await asyncio.sleep(1.0)
    finally:
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
        with contextlib.suppress(Exception):
            await set_faults(stack, NO_FAULTS)


_ALL_DRILLS = {**DRILLS, **CLUSTER_DRILLS}


async def _sample_loop(options: SoakOptions, stack: LocalStack, sampler: Sampler) -> None:
    while True:
        try:
            await sampler.sample()
        except Exception:
            _log.exception("sample failed")
        rotate_logs(stack.layout.log_dir, options.log_max_bytes)
        await asyncio.sleep(options.sample_interval_s)


def _leftovers(pids: dict[str, int]) -> list[str]:
    """Any process still in a child's process group after the stack stopped."""
    found = []
    for process in psutil.process_iter(["pid", "name"]):
        try:
            group = os.getpgid(process.pid)
        except (ProcessLookupError, PermissionError):
            continue
        for name, pid in pids.items():
            if group == pid:
                found.append(f"{name}: pid {process.pid} ({process.info['name']})")
    return found
