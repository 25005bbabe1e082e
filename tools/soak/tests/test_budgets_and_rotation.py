"""Slope budgets judge only the second half of a run; log rotation keeps files bounded."""

from __future__ import annotations

import os
from pathlib import Path

import nats
import pytest
from nats.js.api import ConsumerConfig, StreamConfig

from mm_proto import subjects
from mm_proto.services import REGISTRY
from mm_runtime.jetstream import ensure_layout
from mm_runtime.testing import NatsServer
from mm_soak.budgets import SLOPE_BUDGETS_PER_MIN, judge, slope_per_minute
from mm_soak.log_rotation import rotate_logs
from mm_soak.nats_memory import (
    CeilingVerdict,
    block_cache_bound_mib,
    ceiling_mib,
    stream_block_bytes,
)
from mm_soak.sampler import DURABLE_CONSUMERS, Sample, consumer_backlog


def test_the_slope_is_per_minute_and_flat_or_short_series_have_none() -> None:
    assert slope_per_minute([(0.0, 0.0), (30.0, 1.0), (60.0, 2.0)]) == 2.0
    assert slope_per_minute([(0.0, 5.0), (60.0, 5.0), (120.0, 5.0)]) == 0.0
    assert slope_per_minute([(0.0, 1.0), (60.0, 9.0)]) == 0.0


def test_warm_up_growth_passes_and_steady_growth_in_the_second_half_fails() -> None:
    warm_up = [Sample(t, {"rss_mib.quoter": min(t, 300.0) / 10}) for t in range(0, 1200, 10)]
    leaking = [Sample(t, {"fds.executor": 10 + t / 60}) for t in range(0, 1200, 10)]
    verdicts = {verdict.series: verdict for verdict in judge(warm_up + leaking)}
    assert verdicts["rss_mib.quoter"].ok
    assert not verdicts["fds.executor"].ok
    assert "OVER BUDGET" in verdicts["fds.executor"].describe()


def test_the_ledger_is_judged_by_the_same_budgets_as_the_other_services() -> None:
    samples = [
        Sample(t, {"rss_mib.ledger": 100 + t / 30, "nats_pending.EXEC/ledger": 0.0})
        for t in range(0, 1200, 10)
    ]
    verdicts = {verdict.series: verdict for verdict in judge(samples)}
    assert verdicts["rss_mib.ledger"].budget_per_min == SLOPE_BUDGETS_PER_MIN["rss_mib"]
    assert not verdicts["rss_mib.ledger"].ok  # 2 MiB a minute is a leak
    assert verdicts["nats_pending.EXEC/ledger"].ok
    assert "ledger" in REGISTRY.names  # its process tree is sampled like every service's
    assert (subjects.EXEC_STREAM, "ledger", "nats_ack_held") in DURABLE_CONSUMERS
    assert (subjects.MARKS_STREAM, "ledger-marks", "nats_ack_held") in DURABLE_CONSUMERS


def _lifetimes_of(values: list[tuple[int, float, int]]) -> list[Sample]:
    return [Sample(t, {"rss_mib.risk": rss, "pid.risk": float(pid)}) for t, rss, pid in values]


def test_a_restart_that_comes_back_larger_is_a_step_not_a_leak() -> None:
    flat_then_step = [
        (t, 60.0 if t < 1200 else 68.0, 100 if t < 1200 else 200) for t in range(0, 1800, 5)
    ]
    verdict = judge(_lifetimes_of(flat_then_step))[0]
    assert verdict.ok, verdict.describe()
    assert verdict.lifetimes == 2
    assert "2 process lifetimes" in verdict.describe()
    without_pids = [Sample(t, {"rss_mib.risk": rss}) for t, rss, _ in flat_then_step]
    assert not judge(without_pids)[0].ok  # one line across the step reads as growth


def test_growth_inside_each_lifetime_fails_even_when_restarts_bring_it_down() -> None:
    # +2 MiB/min within each 5-minute lifetime, back to 20 MiB at each restart: no net growth.
    sawtooth = [(t, 20.0 + (t % 300) / 30, 1000 + t // 300) for t in range(0, 1800, 5)]
    samples = _lifetimes_of(sawtooth)
    verdict = judge(samples)[0]
    assert not verdict.ok
    assert abs(verdict.slope_per_min - 2.0) < 0.01
    assert verdict.lifetimes == 3  # the second half holds three lifetimes


def test_a_processs_own_start_up_is_its_warm_up_not_growth() -> None:
    # A service's memory after each restart: 20 MiB while importing, 55, then 60 for good.
    values = [(t, 60.0, 1) for t in range(0, 1300, 5)]
    for restart_at, pid in ((1300, 2), (1500, 3)):
        values = [v for v in values if v[0] < restart_at]
        values += [(restart_at, 20.0, pid), (restart_at + 5, 55.0, pid)]
        values += [(t, 60.0, pid) for t in range(restart_at + 10, 1800, 5)]
    samples = [
        Sample(t, {"rss_mib.executor": rss, "pid.executor": float(pid)}) for t, rss, pid in values
    ]
    verdict = judge(samples)[0]
    assert verdict.ok, verdict.describe()
    assert verdict.slope_per_min == 0.0


def test_descriptors_are_one_line_over_the_second_half_whatever_the_restarts() -> None:
    # +-1 descriptor (a pooled connection) late in a short lifetime is not a leak of descriptors.
    values = [(t, 13.0 + (t >= 1740), 1 if t < 1474 else 2) for t in range(0, 1800, 5)]
    samples = [
        Sample(t, {"fds.executor": fds, "pid.executor": float(pid)}) for t, fds, pid in values
    ]
    verdict = judge(samples)[0]
    assert verdict.ok, verdict.describe()
    assert verdict.lifetimes == 1


def test_connections_moving_between_cluster_nodes_are_not_a_descriptor_leak() -> None:
    # Each minute a client leaves node 2 for node 3 (a node fault): the bus holds as many.
    samples = [
        Sample(60.0 * m, {"fds.nats-1": 40.0, "fds.nats-2": 60.0 - m, "fds.nats-3": 20.0 + m})
        for m in range(31)
    ]
    verdicts = {verdict.series: verdict for verdict in judge(samples)}
    assert "fds.nats-2" not in verdicts
    assert "fds.nats-3" not in verdicts
    assert verdicts["fds.nats-cluster"].ok


def test_a_descriptor_leak_on_one_cluster_node_still_fails() -> None:
    samples = [
        Sample(60.0 * m, {"fds.nats-1": 40.0, "fds.nats-2": 60.0, "fds.nats-3": 20.0 + m})
        for m in range(31)
    ]
    verdicts = {verdict.series: verdict for verdict in judge(samples)}
    assert not verdicts["fds.nats-cluster"].ok


def test_a_lifetime_of_one_or_two_samples_is_left_out_of_the_fit() -> None:
    values = [(t, 50.0, 1) for t in range(900, 1200, 5)]
    values += [(1200, 500.0, 2), (1205, 900.0, 2)]  # a child that lived ten seconds
    values += [(t, 50.0, 3) for t in range(1210, 1800, 5)]
    verdict = judge(_lifetimes_of([(0, 50.0, 1), *values]))[0]
    assert verdict.slope_per_min == 0.0
    assert verdict.lifetimes == 3


def test_nats_server_memory_is_held_to_its_layouts_ceiling_not_to_a_slope() -> None:
    # The committed failing run's shape: 21 -> 84 MiB over 30 minutes, the block caches filling.
    filling = [Sample(t, {"rss_mib.nats": 21.0 + 63.0 * t / 1800}) for t in range(0, 1800, 5)]
    verdict = judge(filling)[0]
    assert isinstance(verdict, CeilingVerdict)
    assert verdict.ok, verdict.describe()
    assert verdict.ceiling == pytest.approx(21.0 + 2 * block_cache_bound_mib() + 16.0)
    leaking = [Sample(t, {"rss_mib.nats-2": 21.0 + t / 10}) for t in range(0, 1800, 5)]
    over = judge(leaking)[0]
    assert not over.ok
    assert "OVER CEILING" in over.describe()


def test_a_nats_sample_taken_while_the_server_was_down_is_not_its_start() -> None:
    samples = [Sample(0.0, {"rss_mib.nats": 0.0}), Sample(5.0, {"rss_mib.nats": 22.0})]
    verdict = judge(samples)[0]
    assert isinstance(verdict, CeilingVerdict)
    assert verdict.ceiling == pytest.approx(ceiling_mib(22.0))


def test_block_sizes_follow_nats_servers_rule_for_the_layout() -> None:
    def with_max(max_bytes: int) -> StreamConfig:
        return StreamConfig(name="S", max_bytes=max_bytes)

    assert stream_block_bytes(with_max(4 * 1024**3)) == 8 * 1024**2
    assert stream_block_bytes(with_max(1024**2)) == 4 * 1024**2
    assert stream_block_bytes(with_max(100_000)) == 32_000
    assert stream_block_bytes(StreamConfig(name="S")) == 8 * 1024**2
    # EXEC, RISK, KPI, POLICY, MARKS, QUOTER, ROLLOUT; KV config, risk, instruments, fees,
    # rollout, leases
    assert block_cache_bound_mib() == 7 * 8 + 6 * 4


def test_series_without_a_budget_are_not_judged() -> None:
    assert judge([Sample(0.0, {"unknown.thing": 1.0}), Sample(60.0, {"unknown.thing": 99.0})]) == []


def test_a_log_over_the_limit_is_copied_then_truncated_and_old_copies_are_dropped(
    tmp_path: Path,
) -> None:
    log = tmp_path / "quoter.log"
    writer = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)  # as the supervisor's child
    try:
        for round_number in range(4):
            os.write(writer, f"round {round_number} ".encode() * 100)
            rotated = rotate_logs(tmp_path, max_bytes=500, keep=2)
            assert rotated == [log]
        os.write(writer, b"after")
    finally:
        os.close(writer)
    assert log.read_bytes() == b"after"  # O_APPEND writes land at the truncated file's end
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "quoter.log",
        "quoter.log.1",
        "quoter.log.2",
    ]
    assert (tmp_path / "quoter.log.1").read_bytes().startswith(b"round 3")
    assert rotate_logs(tmp_path, max_bytes=500) == []


async def test_the_ledgers_consumers_backlog_is_sampled(nats_server: NatsServer) -> None:
    client = await nats.connect(nats_server.url)
    try:
        js = client.jetstream()
        await ensure_layout(js)
        for stream, durable, _ in DURABLE_CONSUMERS:
            await js.add_consumer(stream, ConsumerConfig(durable_name=durable))
        for _ in range(3):
            await js.publish(subjects.mark("bybit", "linear", "BTCUSDT"), b"x")
        values = await consumer_backlog(client)
        assert values["nats_pending.MARKS/ledger-marks"] == 3
        assert values["nats_pending.EXEC/ledger"] == 0
        assert values["nats_ack_held.MARKS/ledger-marks"] == 0
        assert "nats_ack_pending.EXEC/risk" in values
    finally:
        await client.drain()
