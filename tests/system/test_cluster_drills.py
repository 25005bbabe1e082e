"""Chaos drills on a stack whose bus is a three-node JetStream cluster (`mm run --nats-cluster 3`).

The short form (in `make test`) SIGKILLs the node that leads the EXEC stream while trading: no
fill lost or doubled (the venue audit: the bus's executions and positions equal the venue's),
quoting goes on within 12 s of the kill (the Raft election that follows takes 4-9 s; see
`mm_soak.cluster_drills`), no order on a stale or old book past the bound, and the killed node
comes back and catches up. The long form (`MM_CHAOS_LONG=1`) runs every cluster drill
on one stack: the EXEC leader killed, the `risk` bucket's leader killed, the EXEC leader frozen
for 20 s, and a rolling restart of all three nodes, then checks the halt state and config
survived them.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mm_proto import subjects
from mm_runtime.testing import eventually
from mm_soak import run_drill
from mm_soak.cluster_drills import CLUSTER_DRILLS, SHORT_CLUSTER_DRILLS, cluster_healthy
from mm_soak.running import RunningStack, start_stack, stop_stack
from mm_soak.stack import TRADING_ENV

pytestmark = pytest.mark.system
MM = str(Path(sys.executable).with_name("mm"))  # the installed `mm` command


@pytest.fixture
async def cluster_stack(tmp_path: Path) -> AsyncIterator[RunningStack]:
    """A trading stack on a three-node NATS cluster that has placed orders at the venue."""
    running = await start_stack(tmp_path / "run", env=TRADING_ENV, nats_nodes=3)
    try:
        await eventually(
            lambda: running.watch.activity_at, timeout=30, message="the stack places orders"
        )
        yield running
    finally:
        await stop_stack(running)


def _node_restarts(running: RunningStack) -> int:
    return sum(
        running.stack.child(running.stack.layout.nats_child(node)).restarts
        for node in running.stack.layout.nats_cluster
    )


async def _run(running: RunningStack, names: tuple[str, ...]) -> None:
    restarts = _node_restarts(running)
    results = [
        await run_drill(
            CLUSTER_DRILLS[name], running.stack, running.watch, running.audit, running.probe
        )
        for name in names
    ]
    for result in results:
        print(result.as_dict())
    failures = {result.name: result.failures for result in results if result.failures}
    assert not failures, (
        f"expected every cluster drill to recover cleanly, these did not: {failures}"
    )
    await cluster_healthy(running.stack)
    assert _node_restarts(running) > restarts, "expected the drills to have stopped a node"
    final = await running.audit.audit(settle_s=15)
    assert final.ok, f"expected the venue and the bus to agree at the end: {final.describe()}"


async def _mm_config_set(running: RunningStack, key: str, value: str) -> None:
    """`mm config set` as an operator runs it, against every node of the cluster."""
    layout = running.stack.layout
    bus = ("--nats", layout.nats_url, "--bus-dir", str(layout.bus_dir))
    process = await asyncio.create_subprocess_exec(
        MM, "config", "set", key, value, *bus, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, out.decode()


async def _replicas(running: RunningStack, stream: str) -> int:
    info = await running.client.jetstream().stream_info(stream)
    return int(info.config.num_replicas or 1)


async def test_killing_the_exec_leader_while_trading_loses_no_fill_and_quoting_goes_on(
    cluster_stack: RunningStack,
) -> None:
    for stream in (subjects.EXEC_STREAM, f"KV_{subjects.RISK_BUCKET}"):
        assert await _replicas(cluster_stack, stream) == 3, stream
    await _run(cluster_stack, SHORT_CLUSTER_DRILLS)


@pytest.mark.timeout(1200)
@pytest.mark.skipif(
    os.environ.get("MM_CHAOS_LONG", "") != "1",
    reason="long form: set MM_CHAOS_LONG=1 (every cluster drill on one stack, several minutes)",
)
async def test_every_cluster_drill_in_turn_loses_nothing_and_keeps_halt_and_config(
    cluster_stack: RunningStack,
) -> None:
    await _mm_config_set(cluster_stack, "executor.default", '{"watchdog_timeout_s": 0.7}')
    js = cluster_stack.client.jetstream()
    config = await js.key_value(subjects.CONFIG_BUCKET)
    before = {key: (await config.get(key)).value for key in await config.keys()}
    assert before, "expected a stored config to check after the drills"
    await _run(cluster_stack, tuple(CLUSTER_DRILLS))
    after = {key: (await config.get(key)).value for key in await config.keys()}
    assert after == before, "expected the config bucket to survive the cluster drills unchanged"
    assert await cluster_stack.audit.halt_state() == ""
