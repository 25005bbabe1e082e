"""Replay of recorded public frames as the market: the real XRPUSDT archive and a crafted file."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import zstandard

from mm_sim.replay import ReplayError, replay_topic
from mm_sim.settings import InstrumentConfig
from mm_sim.testing import running_simulator, simulator_settings

ARCHIVE = Path(__file__).parent / "data" / "replay" / "2024-12-01_XRPUSDT_ob500.jsonl"
XRP = InstrumentConfig(
    symbol="XRPUSDT",
    base_coin="XRP",
    tick_size=Decimal("0.0001"),
    qty_step=Decimal("1"),
    min_order_qty=Decimal("1"),
    max_order_qty=Decimal("1000000"),
    start_price=Decimal("1.95"),
)


def reference_book(path: Path) -> tuple[list[list[str]], list[list[str]]]:
    """Apply every recorded frame independently of the simulator (sizes normalised to the lot)."""
    sides: dict[str, dict[Decimal, Decimal]] = {"b": {}, "a": {}}
    for line in path.read_text().splitlines():
        message = json.loads(line)
        if message["type"] == "snapshot":
            sides = {"b": {}, "a": {}}
        for key in ("b", "a"):
            for price, size in message["data"][key]:
                if Decimal(size) == 0:
                    sides[key].pop(Decimal(price), None)
                else:
                    sides[key][Decimal(price)] = Decimal(size)

    def render(key: str, reverse: bool) -> list[list[str]]:
        return [
            [str(p.quantize(Decimal("0.0001"))), str(s.quantize(Decimal("1")))]
            for p, s in sorted(sides[key].items(), reverse=reverse)
        ]

    return render("b", True), render("a", False)


async def test_real_archive_replays_to_the_recorded_book() -> None:
    settings = simulator_settings(instruments=[XRP], replay_file=str(ARCHIVE))
    async with running_simulator(settings) as sim:
        state = sim.venue.exchange.symbols[("linear", "XRPUSDT")]
        first = await sim.admin.book("XRPUSDT", depth=1000)
        await sim.admin.step(60)
        book = await sim.admin.book("XRPUSDT", depth=1000)
        assert state.model.exhausted
        assert state.model.frames_applied == 50
        assert state.model.last_update_id == 20254918
        assert (book["b"], book["a"]) == reference_book(ARCHIVE)
        assert len(book["b"]) == 500
        assert book["u"] - first["u"] <= 49


def frame(
    kind: str, bids: list[list[str]], asks: list[list[str]], update_id: int
) -> dict[str, Any]:
    return {
        "topic": "orderbook.50.XRPUSDT",
        "type": kind,
        "ts": 1,
        "cts": 1,
        "data": {"s": "XRPUSDT", "b": bids, "a": asks, "u": update_id, "seq": update_id},
    }


def trade(side: str, price: str, size: str) -> dict[str, Any]:
    return {
        "topic": "publicTrade.XRPUSDT",
        "type": "snapshot",
        "ts": 1,
        "data": [{"T": 1, "s": "XRPUSDT", "S": side, "v": size, "p": price, "i": "t", "BT": False}],
    }


async def test_replayed_trades_consume_queue_then_fill_us(tmp_path: Path, rest_class: Any) -> None:
    lines = [
        frame("snapshot", [["2.0000", "5"], ["1.9999", "10"]], [["2.0001", "7"]], 1),
        trade("Sell", "2.0000", "3"),
        frame("delta", [["2.0000", "2"]], [], 2),
        trade("Sell", "2.0000", "3"),
        frame("delta", [["2.0000", "0"]], [], 3),
        trade("Sell", "1.9999", "4"),
        frame("delta", [["1.9999", "6"]], [], 4),
    ]
    path = tmp_path / "crafted.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    async with running_simulator(
        simulator_settings(instruments=[XRP], replay_file=str(path))
    ) as sim:
        rest = rest_class(sim.rest_url)
        created = await rest.post(
            "/v5/order/create",
            {
                "category": "linear",
                "symbol": "XRPUSDT",
                "side": "Buy",
                "orderType": "Limit",
                "qty": "5",
                "price": "2.0000",
            },
        )
        assert created["retCode"] == 0
        query = {"category": "linear", "symbol": "XRPUSDT", "orderId": created["result"]["orderId"]}
        await sim.admin.step(1)
        assert (await rest.get("/v5/order/realtime", query))["result"]["list"][0][
            "cumExecQty"
        ] == "0"
        await sim.admin.step(1)
        assert (await rest.get("/v5/order/realtime", query))["result"]["list"][0][
            "cumExecQty"
        ] == "1"
        await sim.admin.step(1)
        row = (await rest.get("/v5/order/realtime", query))["result"]["list"][0]
        assert (row["orderStatus"], row["cumExecQty"]) == ("Filled", "5")
        fills = [(e["execPrice"], e["execQty"]) for e in (await sim.admin.executions())["list"]]
        assert fills == [("2.0000", "1"), ("2.0000", "4")]


def top_frame(bid: str, ask: str, update_id: int) -> dict[str, Any]:
    return {
        **frame("snapshot", [[bid, "1"]], [[ask, "1"]], update_id),
        "topic": "orderbook.1.XRPUSDT",
    }


async def test_a_compressed_recording_with_other_topics_and_a_cut_tail_replays(
    tmp_path: Path,
) -> None:
    """The recorder's files: zstd frames, lines without a topic, orderbook.1 beside .50, and
    an unfinished last line from a killed writer."""
    lines = [
        json.dumps({"ts_recv_ns": 1, "_recorder": "gap", "reason": "recorder started"}),
        json.dumps(top_frame("1.9000", "2.1000", 1)),
        json.dumps({"ts_recv_ns": 2, **frame("snapshot", [["2.0000", "5"]], [["2.0002", "7"]], 1)}),
        json.dumps(top_frame("1.8000", "2.2000", 2)),
        json.dumps(frame("delta", [["1.9999", "3"]], [], 2)),
    ]
    compressor = zstandard.ZstdCompressor()
    data = compressor.compress(("\n".join(lines[:3]) + "\n").encode())
    data += compressor.compress(("\n".join(lines[3:]) + "\n").encode())
    data += compressor.compress(b'{"ts_recv_ns":3,"topic":"orderbook.50.XRP')  # cut mid-line
    path = tmp_path / "00.jsonl.zst"
    path.write_bytes(data)
    async with running_simulator(
        simulator_settings(instruments=[XRP], replay_file=str(path))
    ) as sim:
        state = sim.venue.exchange.symbols[("linear", "XRPUSDT")]
        assert state.model.topic == "orderbook.50.XRPUSDT"
        await sim.admin.step(5)
        assert state.model.exhausted
        assert state.model.frames_applied == 2
        book = await sim.admin.book("XRPUSDT", depth=50)
    assert book["b"] == [["2.0000", "5"], ["1.9999", "3"]]
    assert book["a"] == [["2.0002", "7"]]


def test_a_bad_line_before_the_end_of_a_replay_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = json.dumps(frame("snapshot", [["2.0000", "5"]], [["2.0002", "7"]], 1))
    path.write_text(f"{good}\n{{not json\n{good}\n")
    with pytest.raises(ReplayError, match="line 2"):
        replay_topic(path)
