"""SIGKILL of the policy process mid-decision, again and again: the quoter's config stays valid,
and the decisions on the stream form one unbroken chain, none repeated and none lost."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from mm_proto import PolicyDecision, decode, subjects
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Rig

SYMBOL = "BTCUSDT"
KILLS = 6
PARAMS = {
    "mode": "on",
    "spread": {"floor": 1, "home": 2, "ceiling": 500, "max_step": 1, "min_interval_s": 0},
    "size": {"floor": 1, "home": 4, "ceiling": 10, "max_step": 2, "min_interval_s": 0},
    "min_fills": 1,
    "stale_after_s": 60,
}


class PolicyProcess:
    """`python -m policy` as its own process, started again after each kill."""

    def __init__(self, url: str, logs: Path) -> None:
        self.env = {
            **os.environ,
            "POLICY_NATS__URL": url,
            "POLICY_SYMBOLS": SYMBOL,
            "POLICY_EVALUATE_INTERVAL_S": "0.1",
            "POLICY_BIND_RETRY_S": "0.1",
            "POLICY_PARAMS": json.dumps(PARAMS),
        }
        self.logs = logs
        self.process: subprocess.Popen[bytes] | None = None
        self.lives = 0

    def start(self) -> None:
        self.lives += 1
        with (self.logs / f"policy-{self.lives}.log").open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "policy"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(15) == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(20)


async def answering(rig: Rig) -> bool:
    try:
        await rig.client.request(subjects.ctl("policy", "status"), b"", timeout=0.5)
    except (NoRespondersError, NatsTimeoutError):
        return False
    return True


async def test_repeated_sigkill_mid_decision_neither_repeats_nor_loses_a_decision(
    rig: Rig, tmp_path: Path
) -> None:
    decided = asyncio.Event()

    async def on_event(msg: Msg) -> None:
        if decode(msg.data, PolicyDecision).stage == "decided":
            decided.set()

    await rig.client.subscribe(subjects.policy_event_pattern(), cb=on_event)
    policy = PolicyProcess(rig.url, tmp_path)
    try:
        for _ in range(KILLS):
            policy.start()
            await eventually(lambda: answering(rig), timeout=20, interval=0.1)
            decided.clear()
            await rig.kpi(rig.toxic_row())
            await asyncio.wait_for(decided.wait(), timeout=20)
            policy.kill()  # at once: between `decided` and its write, or just after the write
        policy.start()
        await eventually(lambda: answering(rig), timeout=20, interval=0.1)
        await rig.halt(True)  # no new decisions; the pending one is finished before the hold
        await eventually(lambda: _settled(rig), timeout=20, interval=0.25)
    finally:
        policy.stop()
    await _check_chain(rig)


async def _settled(rig: Rig) -> bool:
    decisions = [d for d in await rig.decisions() if d.stage != "held"]
    outcomes = {d.decision_id for d in decisions if d.stage in ("applied", "refused")}
    started = {d.decision_id for d in decisions if d.stage == "decided"}
    return bool(started) and started == outcomes


async def _check_chain(rig: Rig) -> None:
    decisions = [d for d in await rig.decisions() if d.stage != "held"]
    started = [d.decision_id for d in decisions if d.stage == "decided"]
    assert len(started) >= KILLS
    assert started == [f"{SYMBOL}-{n}" for n in range(1, len(started) + 1)]  # none repeated
    outcomes = [d for d in decisions if d.stage in ("applied", "refused")]
    assert sorted(d.decision_id for d in outcomes) == sorted(started)  # each finished once
    applied = [d for d in outcomes if d.stage == "applied"]
    values = {"min_spread_bps": "2.0", "level_size_lots": "4"}
    for decision in sorted(applied, key=lambda d: int(d.decision_id.rsplit("-", 1)[1])):
        for name, old in decision.old_values.items():
            assert values[name] == old, decision  # none lost: each starts where the last ended
        values.update(decision.new_values)
    entry = await rig.quoter_entry()
    assert {name: json.dumps(value) for name, value in entry.items()} == values
