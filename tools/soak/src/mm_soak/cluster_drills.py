"""The drills of a stack whose bus is a three-node JetStream cluster (`StackOptions(nats_nodes=3)`).

Each hurts the node that matters most at that moment, found through the nodes' monitor port
(`/jsz`, which names every stream's leader): SIGKILL the node leading EXEC, then the one leading
the `risk` bucket (`KV_risk`), freeze (SIGSTOP) the EXEC leader for 20 s, and restart every node
in turn, each once the cluster is healthy again. The supervisor restarts a killed node on its
store, where it catches up from the others. Every drill is judged like the others
(`mm_soak.drills.run_drill`: nothing lost or doubled at the venue audit, no order on a stale or
old book past the bound, timed by the venue's order history) and by the cluster's resume bound:
an order accepted or amended within `CLUSTER_RESUME_BOUND_S` of the fault, since two nodes of
three keep the bus working. The freeze first moves the quote watch off the node it freezes
(`keep_watch_off`): the judge must see the stack, not a frozen node.

That bound is 12 s, not 5: when the node leading EXEC dies, the other two elect a new leader only
after nats-server's Raft election timeout (a random 4-9 s, not configurable), and until then no
fact can be stored; the executor fails closed after two failed publishes (it cancels its orders:
it will not trade what it cannot record), retries with a backoff capped at 2 s, and reconciles
with the venue before quoting again. Measured: 0.4-7.4 s (docs/chaos.md).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any

import aiohttp

from mm_soak.drills import Action, Drill
from mm_soak.stack import LocalStack

_log = logging.getLogger(__name__)
CLUSTER_RESUME_BOUND_S = 12.0  # 9 s election + 2 s backoff + reconciliation
FREEZE_HOLD_S = 20.0
HEALTHY_WITHIN_S = 30.0
EXEC_STREAM = "EXEC"
RISK_BUCKET_STREAM = "KV_risk"


async def _jsz(session: aiohttp.ClientSession, port: int) -> dict[str, Any] | None:
    url = f"http://127.0.0.1:{port}/jsz?accounts=true&streams=true"
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=1.0)) as reply:
            return dict(await reply.json()) if reply.status == 200 else None
    except (aiohttp.ClientError, TimeoutError):
        return None


async def stream_leader(stack: LocalStack, stream: str) -> str:
    """The supervisor's child name of the node that leads `stream` now (asks each node)."""
    names = {node.server_name: stack.layout.nats_child(node) for node in stack.layout.nats_cluster}
    async with aiohttp.ClientSession() as session:
        for node in stack.layout.nats_cluster:
            report = await _jsz(session, node.monitor_port)
            for account in (report or {}).get("account_details") or []:
                for detail in account.get("stream_detail") or []:
                    leader = (detail.get("cluster") or {}).get("leader")
                    if detail.get("name") == stream and leader in names:
                        return names[leader]
    raise RuntimeError(f"expected a node to name the leader of {stream}, none did")


async def cluster_healthy(stack: LocalStack, within_s: float = HEALTHY_WITHIN_S) -> None:
    """Wait until every node answers `/healthz` (JetStream current with its leaders)."""
    deadline = time.monotonic() + within_s
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1.0)) as session:
        for node in stack.layout.nats_cluster:
            url = f"http://127.0.0.1:{node.monitor_port}/healthz"
            while not await _ok(session, url):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"expected node {node.index} healthy within {within_s}s")
                await asyncio.sleep(0.25)


async def _ok(session: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with session.get(url) as reply:
            return reply.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


def kill_leader(stream: str) -> Action:
    async def inject(stack: LocalStack) -> None:
        stack.kill(await stream_leader(stack, stream), signal.SIGKILL)

    return inject


async def keep_watch_off(stack: LocalStack, victim: str) -> None:
    """Move the quote watch to another node when it listens through `victim`: frozen, that node
    would blind the judge (no book, no order event reaches it) rather than the stack, and the
    watch's client, with nats-py's two-minute ping, would not leave it for the whole freeze."""
    watch = stack.watch
    url = watch.client.connected_url if watch is not None and watch.client else None
    if watch is None or url is None:
        return
    for node in stack.layout.nats_cluster:
        if node.port == url.port and stack.layout.nats_child(node) == victim:
            await watch.move(await stack.connect_avoiding(node.port))
            _log.warning("quote watch moved off the node to be frozen", extra={"node": victim})


def freeze_leader(stream: str) -> tuple[Action, Action]:
    """SIGSTOP the node leading `stream` (the quote watch moved off it first), and SIGCONT it."""
    frozen: list[str] = []

    async def freeze(stack: LocalStack) -> None:
        frozen[:] = [await stream_leader(stack, stream)]
        await keep_watch_off(stack, frozen[0])
        stack.kill(frozen[0], signal.SIGSTOP)

    async def thaw(stack: LocalStack) -> None:
        for name in frozen:
            stack.kill(name, signal.SIGCONT)
        frozen.clear()

    return freeze, thaw


async def rolling_restart(stack: LocalStack) -> None:
    """Stop each node in turn (SIGTERM; the supervisor starts it again on its store), waiting for
    a healthy cluster before the next, as an operator's rolling upgrade does."""
    for node in stack.layout.nats_cluster:
        await cluster_healthy(stack)
        stack.kill(stack.layout.nats_child(node), signal.SIGTERM)
        await asyncio.sleep(1.5)  # the supervisor's restart backoff starts at 1 s
    await cluster_healthy(stack)


_freeze, _thaw = freeze_leader(EXEC_STREAM)
CLUSTER_DRILLS: dict[str, Drill] = {
    "kill-exec-leader": Drill(
        "kill-exec-leader", kill_leader(EXEC_STREAM), resume_bound_s=CLUSTER_RESUME_BOUND_S
    ),
    "kill-risk-leader": Drill(
        "kill-risk-leader", kill_leader(RISK_BUCKET_STREAM), resume_bound_s=CLUSTER_RESUME_BOUND_S
    ),
    "freeze-exec-leader": Drill(
        "freeze-exec-leader", _freeze, _thaw, FREEZE_HOLD_S, resume_bound_s=CLUSTER_RESUME_BOUND_S
    ),
    "rolling-restart": Drill(
        "rolling-restart", rolling_restart, resume_bound_s=CLUSTER_RESUME_BOUND_S
    ),
}
SHORT_CLUSTER_DRILLS = ("kill-exec-leader",)
