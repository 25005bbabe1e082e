"""The weekly file on a real nats-server: last week's snapshots read back from stream KPI and
written once, by `weekly_file.write_due` and by the running service with `weekly_dir` set."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nats
from nats.js import JetStreamContext

from ledger.weekly import DAY_NS, WEEK_NS, file_name, week_start
from ledger.weekly_file import write_due
from mm_proto import KpiSnapshot, subjects
from mm_runtime.jetstream import ensure_layout, publish_fact
from mm_runtime.testing import NatsServer, eventually

from .conftest import Stack

NOW = time.time_ns()
LAST_WEEK = week_start(NOW) - WEEK_NS


def snapshot(ts: int, net: str, venue: str = "bybit") -> KpiSnapshot:
    return KpiSnapshot(
        venue=venue,
        category="linear",
        symbol="BTCUSDT",
        side="buy",
        ts_start_ns=ts,
        ts_end_ns=ts + 60 * 10**9,
        net_pnl=net,
        spread_pnl=net,
        fills=1,
        maker_fills=1,
        notional="650",
    )


async def store(js: JetStreamContext, snapshots: list[KpiSnapshot]) -> None:
    await ensure_layout(js)
    for index, item in enumerate(snapshots):
        await publish_fact(js, subjects.kpi(item.venue, "linear", "BTCUSDT"), item, f"w{index}")


async def test_last_weeks_file_holds_each_day_and_is_written_once(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    client = await nats.connect(nats_server.url)
    js = client.jetstream()
    try:
        assert await write_due(js, tmp_path, NOW) is None  # no stream yet: no file
        monday, wednesday = LAST_WEEK + 3600 * 10**9, LAST_WEEK + 2 * DAY_NS + 3600 * 10**9
        this_week = week_start(NOW) + 60 * 10**9
        await store(
            js, [snapshot(monday, "1.5"), snapshot(wednesday, "-0.5"), snapshot(this_week, "9")]
        )
        path = await write_due(js, tmp_path, NOW)
        assert path == tmp_path / file_name(LAST_WEEK)
        document = json.loads(path.read_text())
        days = list(document["days"].values())
        assert len(days) == 7
        assert [day is not None for day in days] == [True, False, True, False, False, False, False]
        assert days[0]["total"]["net"] == "1.5"
        assert document["whole_week"]["total"]["net"] == "1"  # this week's snapshot is not in it
        assert document["whole_week"]["notional"] == "1300"
        written = path.stat().st_mtime_ns
        assert await write_due(js, tmp_path, NOW) is None  # once
        assert path.stat().st_mtime_ns == written
        empty = tmp_path / "next"
        assert await write_due(js, empty, NOW + 3 * WEEK_NS) is None  # a week with no snapshots
        assert not empty.exists()
    finally:
        await client.drain()


async def test_the_running_ledger_writes_the_weekly_file_into_its_weekly_dir(
    stack: Stack, tmp_path: Path
) -> None:
    await store(stack.js, [snapshot(LAST_WEEK + DAY_NS, "2", venue="elsewhere")])
    await stack.start(weekly_dir=str(tmp_path))
    target = tmp_path / file_name(LAST_WEEK)
    await eventually(target.exists, timeout=20, message="the weekly file written")
    assert json.loads(target.read_text())["whole_week"]["total"]["net"] == "2"
