"""The real recorder against a real nats-server and a real simulator, and what it wrote.

`book_runs` splits one symbol's recorded lines into runs between gap lines and checks that book
`u` follows by one inside each run: the proof that nothing but what a gap line names was lost.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mm_runtime.nats_server import NatsServer
from mm_sim.testing import SimulatorHandle, running_simulator, simulator_settings
from recorder import Frame, Kind, read
from recorder.generate import recorder_settings, running_recorder
from recorder.service import RecorderService
from recorder.settings import RecorderSettings


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorHandle]:
    async with running_simulator(simulator_settings(id_seed=3)) as sim:
        yield sim


@dataclass
class Rig:
    nats_server: NatsServer
    sim: SimulatorHandle
    out: Path

    def settings(
        self, symbols: tuple[str, ...] = ("BTCUSDT",), **overrides: Any
    ) -> RecorderSettings:
        return recorder_settings(self.sim, self.nats_server.url, self.out, symbols, **overrides)

    def running(
        self, settings: RecorderSettings
    ) -> contextlib.AbstractAsyncContextManager[RecorderService]:
        return running_recorder(settings)

    def frames(self, **selection: Any) -> list[Frame]:
        return list(read(self.out, **selection))


@pytest.fixture
def rig(nats_server: NatsServer, simulator: SimulatorHandle, tmp_path: Path) -> Rig:
    return Rig(nats_server, simulator, tmp_path / "recordings")


async def metric(
    settings: RecorderSettings, name: str, labels: dict[str, str] | None = None
) -> float:
    """One sample of the recorder's /metrics, 0 if absent."""
    url = f"http://127.0.0.1:{settings.http.port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await response.text()
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(
                sample.labels.get(k) == v for k, v in (labels or {}).items()
            ):
                total += sample.value
    return total


def topic_of(frame: Frame) -> str:
    return str(frame.message().get("topic", "")) if frame.kind is Kind.VENUE else ""


def book_runs(frames: list[Frame]) -> list[dict[str, list[int]]]:
    """One symbol's frames split at gap lines: per run, each book topic's update ids.

    Asserts that inside a run every book topic starts with a snapshot and its `u` then rises
    by exactly one per frame."""
    runs: list[dict[str, list[int]]] = [{}]
    for frame in frames:
        if frame.kind is Kind.GAP:
            runs.append({})
            continue
        if frame.kind is not Kind.VENUE or not topic_of(frame).startswith("orderbook."):
            continue
        message = frame.message()
        ids = runs[-1].setdefault(str(message["topic"]), [])
        if not ids:
            assert message["type"] == "snapshot", (
                f"a run of {message['topic']} must open with a snapshot"
            )
        else:
            assert message["data"]["u"] == ids[-1] + 1, (
                f"{message['topic']}: u {ids[-1]} then {message['data']['u']}"
            )
        ids.append(int(message["data"]["u"]))
    return [run for run in runs if run]


def replayed_book(frames: Iterator[Frame] | list[Frame], topic: str) -> dict[str, list[list[str]]]:
    """Levels after applying `topic`'s recorded frames (snapshot clears, size 0 deletes)."""
    sides: dict[str, dict[Decimal, Decimal]] = {"b": {}, "a": {}}
    for frame in frames:
        if frame.kind is not Kind.VENUE or topic_of(frame) != topic:
            continue
        message = frame.message()
        if message["type"] == "snapshot":
            sides = {"b": {}, "a": {}}
        for key in ("b", "a"):
            for price, size in message["data"][key]:  # type: ignore[index]
                if Decimal(size) == 0:
                    sides[key].pop(Decimal(price), None)
                else:
                    sides[key][Decimal(price)] = Decimal(size)
    return {
        key: [[str(p), str(s)] for p, s in sorted(levels.items(), reverse=key == "b")]
        for key, levels in sides.items()
    }
