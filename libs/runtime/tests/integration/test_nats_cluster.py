"""A three-node JetStream cluster on loopback: the layout is replicated, and losing the node that
leads EXEC loses no fact and stops no publisher that connects with the full server list."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from mm_proto import Heartbeat, subjects
from mm_runtime.bus import Bus, connect, server_list
from mm_runtime.jetstream import ensure_layout, key_value, publish_fact
from mm_runtime.metrics import RuntimeMetrics
from mm_runtime.nats_cluster import (
    ClusterNode,
    render_node_config,
    server_urls,
    write_node_configs,
)
from mm_runtime.settings import NatsSettings
from mm_runtime.testing import NatsServer, eventually, free_port


def _nodes() -> list[ClusterNode]:
    return [ClusterNode(index, free_port(), free_port(), free_port()) for index in (1, 2, 3)]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, NatsServer]]:
    nodes = _nodes()
    configs = write_node_configs(tmp_path / "conf", nodes)
    servers = {
        node.server_name: NatsServer(
            tmp_path / f"n{node.index}", port=node.port, config_file=config
        )
        for node, config in zip(nodes, configs, strict=True)
    }
    try:
        for server in servers.values():
            server.start()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


async def _bus(servers: dict[str, NatsServer]) -> Bus:
    url = ",".join(server.url for server in servers.values())
    return await connect(NatsSettings(url=url), "cluster-test", RuntimeMetrics(CollectorRegistry()))


async def _layout(bus: Bus) -> None:
    async def created() -> bool:
        try:
            await ensure_layout(bus.client.jetstream(timeout=2.0), replicas=3)
        except Exception:  # no meta leader elected yet: JetStream answers "unavailable"
            return False
        return True

    await eventually(created, timeout=30, interval=0.5, message="the cluster elects a leader")


async def test_every_stream_and_bucket_is_kept_by_three_nodes(
    cluster: dict[str, NatsServer],
) -> None:
    bus = await _bus(cluster)
    try:
        await _layout(bus)
        js = bus.client.jetstream()
        names = [subjects.EXEC_STREAM, subjects.RISK_STREAM, subjects.KPI_STREAM]
        names += [
            subjects.MARKS_STREAM,
            f"KV_{subjects.RISK_BUCKET}",
            f"KV_{subjects.CONFIG_BUCKET}",
        ]
        for name in names:
            info = await js.stream_info(name)
            assert info.config.num_replicas == 3, name
            assert info.cluster is not None, name
            assert info.cluster.leader in cluster, name
    finally:
        await bus.drain()


async def test_killing_the_exec_leader_loses_no_fact_and_publishing_carries_on(
    cluster: dict[str, NatsServer],
) -> None:
    bus = await _bus(cluster)
    try:
        await _layout(bus)
        js = bus.client.jetstream(timeout=2.0)
        subject = subjects.exec_fill("bybit", "linear", "BTCUSDT")
        beat = Heartbeat(service="executor", instance_id="0", ts_sent_ns=1)
        for number in range(20):
            await publish_fact(js, subject, beat, message_id=f"f-{number}")
        leader = (await js.stream_info(subjects.EXEC_STREAM)).cluster.leader  # type: ignore[union-attr]
        cluster[leader].kill()

        async def stored(number: int) -> bool:
            try:
                return await publish_fact(js, subject, beat, message_id=f"f-{number}") is not None
            except Exception:  # the election takes a moment: the publisher retries
                return False

        for number in range(20, 40):
            await eventually(lambda n=number: stored(n), timeout=15, interval=0.2)
        # A retried publish of an old fact is still recognised after the leader moved.
        assert await publish_fact(js, subject, beat, message_id="f-3") is False
        info = await js.stream_info(subjects.EXEC_STREAM)
        assert info.state.messages == 40
        assert info.cluster is not None
        assert info.cluster.leader not in {None, leader}

        async def halt_stored() -> bool:
            try:  # the bucket's own leader may have been on the killed node too
                risk = await key_value(js, subjects.RISK_BUCKET)
                await risk.put(subjects.HALT_KEY, b"halted")
                return (await risk.get(subjects.HALT_KEY)).value == b"halted"
            except Exception:
                return False

        await eventually(halt_stored, timeout=15, interval=0.2, message="KV risk writable")
    finally:
        await bus.drain()


async def test_a_frozen_server_is_given_up_after_a_few_missed_pings(
    nats_server: NatsServer,
) -> None:
    metrics = RuntimeMetrics(CollectorRegistry())
    settings = NatsSettings(url=nats_server.url, ping_interval_s=0.2, max_outstanding_pings=2)
    bus = await connect(settings, "frozen", metrics)
    nats_server.send_signal(signal.SIGSTOP)
    try:
        await eventually(
            lambda: metrics.nats_connected._value.get() == 0,
            timeout=10,
            message="the client notices the server stopped answering",
        )
    finally:
        nats_server.send_signal(signal.SIGCONT)
    await eventually(lambda: bus.client.is_connected, timeout=15, message="it reconnects")
    await bus.drain()


def test_a_node_config_routes_to_every_other_node_with_the_route_password() -> None:
    nodes = [ClusterNode(index, 4000 + index, 5000 + index, 6000 + index) for index in (1, 2, 3)]
    text = render_node_config(nodes[0], nodes, "pw", include="nats.conf")
    assert 'server_name: "mm-n1"' in text
    assert "route:pw@127.0.0.1:6002" in text
    assert "route:pw@127.0.0.1:6003" in text
    assert "6001" in text.split("routes:")[0]  # its own route port is where it listens only
    assert "6001" not in text.split("routes:")[1]
    assert 'include "nats.conf"' in text
    assert server_list(server_urls(nodes)) == [node.url for node in nodes]


def test_a_node_outside_the_cluster_and_an_empty_server_list_are_refused() -> None:
    nodes = [ClusterNode(index, 4000 + index, 5000 + index, 6000 + index) for index in (1, 2, 3)]
    with pytest.raises(ValueError, match="among the cluster's nodes"):
        render_node_config(ClusterNode(9, 1, 2, 3), nodes, "pw")
    with pytest.raises(ValueError, match="at least one NATS server"):
        server_list(" , ")


async def test_replicas_outside_what_jetstream_allows_are_refused(nats_server: NatsServer) -> None:
    bus = await connect(
        NatsSettings(url=nats_server.url), "replicas", RuntimeMetrics(CollectorRegistry())
    )
    try:
        with pytest.raises(ValueError, match=r"replicas must be 1\.\.5"):
            await ensure_layout(bus.client.jetstream(), replicas=0)
        await ensure_layout(bus.client.jetstream(), replicas=1)
        info = await bus.client.jetstream().stream_info(subjects.EXEC_STREAM)
        assert info.config.num_replicas == 1
    finally:
        await bus.drain()


async def test_a_stream_kept_by_another_count_is_left_alone_and_the_difference_logged(
    nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    bus = await connect(
        NatsSettings(url=nats_server.url), "recount", RuntimeMetrics(CollectorRegistry())
    )
    try:
        js = bus.client.jetstream()
        await ensure_layout(js, replicas=1)
        with caplog.at_level("WARNING", logger="mm_runtime.jetstream"):
            await ensure_layout(js, replicas=3)
        info = await js.stream_info(subjects.EXEC_STREAM)
        assert info.config.num_replicas == 1
        noted = [record for record in caplog.records if "left as it is" in record.getMessage()]
        assert {record.stream for record in noted} >= {subjects.EXEC_STREAM, subjects.RISK_STREAM}  # type: ignore[attr-defined]
    finally:
        await bus.drain()
