"""What the recorder writes plays back in the simulator's replay mode, file as written."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from mm_runtime.testing import eventually
from mm_sim.testing import running_simulator, simulator_settings
from recorder import read
from recorder.layout import recorded_files

from .conftest import Rig, replayed_book


def normalised(levels: list[list[str]]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(p), Decimal(s)) for p, s in levels]


async def test_a_recorded_hour_file_replays_in_the_simulator_to_the_recorded_book(
    rig: Rig,
) -> None:
    settings = rig.settings()
    async with rig.running(settings) as service:
        await eventually(lambda: service.readiness()[0], timeout=10)
        for _ in range(40):
            await rig.sim.admin.step(1, advance_ms=50)
        live = await rig.sim.admin.book("BTCUSDT", depth=50)
        topic = "orderbook.50.BTCUSDT"
        await eventually(lambda: service.router.last_update_id(topic) == live["u"])
    path: Path = recorded_files(rig.out)[-1]  # the last hour (a run may cross one)
    assert path.name.endswith(".jsonl.zst")
    expected = replayed_book(read(path), "orderbook.50.BTCUSDT")
    book_frames = sum(1 for f in read(path) if f.raw.startswith(b'{"topic":"orderbook.50.'))
    assert book_frames > 10
    async with running_simulator(simulator_settings(replay_file=str(path))) as replay:
        state = replay.venue.exchange.symbols[("linear", "BTCUSDT")]
        assert state.model.topic == "orderbook.50.BTCUSDT"  # not orderbook.1, also recorded
        await replay.admin.step(book_frames + 5)
        assert state.model.exhausted
        assert state.model.frames_applied == book_frames
        book = await replay.admin.book("BTCUSDT", depth=50)
    assert normalised(book["b"]) == normalised(expected["b"])
    assert normalised(book["a"]) == normalised(expected["a"])
    if len(recorded_files(rig.out)) == 1:
        assert normalised(book["b"]) == normalised(live["b"])
