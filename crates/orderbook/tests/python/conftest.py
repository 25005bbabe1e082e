"""Independent pure-Python reference book (Decimal arithmetic, plain dicts) for mm_orderbook tests.

It shares no code with the Rust crate: prices and sizes go through decimal.Decimal, levels live
in dicts and are sorted only when compared. It follows the sequencing rules of bybit-v5.md §1.4.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import pytest

DATA = Path(__file__).resolve().parent.parent / "data"


class RefusedByReferenceError(ValueError):
    """The reference refuses the update (the Rust book must refuse it too)."""


def units(text: str, step: str) -> int:
    value = Decimal(text)
    if not value.is_finite() or value < 0:
        raise RefusedByReferenceError(f"bad value {text!r}")
    count = value / Decimal(step)
    if count != count.to_integral_value():
        raise RefusedByReferenceError(f"{text!r} off the {step} grid")
    return int(count)


class ReferenceBook:
    """Bybit v5 orderbook semantics, written for clarity rather than speed."""

    def __init__(self, symbol: str, tick_size: str, lot_size: str, depth: int) -> None:
        self.symbol, self.tick_size, self.lot_size = symbol, tick_size, lot_size
        self.topic = f"orderbook.{depth}.{symbol}"
        self.depth = depth
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.last_update_id: int | None = None

    def _levels(self, raw: list[list[str]]) -> list[tuple[int, int]]:
        levels = [(units(p, self.tick_size), units(s, self.lot_size)) for p, s in raw]
        if any(price <= 0 for price, _ in levels):
            raise RefusedByReferenceError("non-positive price")
        return levels

    def apply(self, message: dict[str, Any]) -> str:
        data = message["data"]
        if data["s"] != self.symbol or message["topic"] != self.topic:
            raise RefusedByReferenceError("wrong symbol or depth")
        if "b" not in data or "a" not in data:
            raise RefusedByReferenceError("a side is missing")
        bids, asks, update_id = self._levels(data["b"]), self._levels(data["a"]), data["u"]
        if message["type"] == "snapshot" or update_id == 1:
            new_bids: dict[int, int] = {}
            new_asks: dict[int, int] = {}
            outcome = "reset"
        elif self.last_update_id is None or update_id > self.last_update_id + 1:
            return "gap"
        elif update_id <= self.last_update_id:
            return "stale"
        else:
            new_bids, new_asks, outcome = dict(self.bids), dict(self.asks), "applied"
        for side, levels in ((new_bids, bids), (new_asks, asks)):
            for price, size in levels:
                if size == 0:
                    side.pop(price, None)
                else:
                    side[price] = size
        if new_bids and new_asks and max(new_bids) >= min(new_asks):
            raise RefusedByReferenceError("crossed")
        # A depth-N book keeps the best N levels a side (bybit-v5.md: trim after each update).
        new_bids = dict(sorted(new_bids.items(), reverse=True)[: self.depth])
        new_asks = dict(sorted(new_asks.items())[: self.depth])
        self.bids, self.asks, self.last_update_id = new_bids, new_asks, update_id
        return outcome

    def sorted_bids(self) -> list[tuple[int, int]]:
        return sorted(self.bids.items(), reverse=True)

    def sorted_asks(self) -> list[tuple[int, int]]:
        return sorted(self.asks.items())


def book_messages(path: Path) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """(raw bytes, decoded) for each orderbook message in a .json or .jsonl file."""
    if path.suffix == ".json":
        raw_messages = [path.read_bytes()]
    else:
        raw_messages = [line for line in path.read_bytes().splitlines() if line.strip()]
    for raw in raw_messages:
        message = json.loads(raw)
        if str(message.get("topic", "")).startswith("orderbook."):
            yield raw, message


def finest_step(texts: list[str]) -> str:
    """The coarsest decimal step that fits every value: 10^-(most fraction digits)."""
    digits = max((len(t.partition(".")[2]) for t in texts), default=0)
    return "1" if digits == 0 else "0." + "0" * (digits - 1) + "1"


class RecordedStream(NamedTuple):
    """The orderbook messages of one topic in one recorded file, with increments that fit them."""

    source: str
    topic: str
    depth: int
    symbol: str
    tick_size: str
    lot_size: str
    frames: list[tuple[bytes, dict[str, Any]]]


RECORDED_FILES = [
    "yasstake_public_ws_messages.jsonl",
    "tardis_bybit_v5_linear_inverse_messages.jsonl",
    "tardis_bybit_spot_v5_messages.jsonl",
    "tardis_bybit_options_v5_messages.jsonl",
    "bybit_docs_websocket_public_orderbook_1.json",
    "nautilus_python_ws_orderbook_snapshot.json",
    "nautilus_python_ws_orderbook_delta.json",
    "nautilus_python_ws_orderbook_snapshot_no_asks.json",
    "nautilus_python_ws_orderbook_delta_no_asks.json",
    "nautilus_crates_ws_orderbook_snapshot.json",
    "nautilus_crates_ws_orderbook_delta.json",
]


def recorded_streams() -> list[RecordedStream]:
    streams: list[RecordedStream] = []
    for name in RECORDED_FILES:
        by_topic: dict[str, list[tuple[bytes, dict[str, Any]]]] = {}
        for raw, message in book_messages(DATA / name):
            by_topic.setdefault(message["topic"], []).append((raw, message))
        for topic, frames in by_topic.items():
            levels = [lv for _, m in frames for lv in m["data"]["b"] + m["data"]["a"]]
            streams.append(
                RecordedStream(
                    source=name,
                    topic=topic,
                    depth=int(topic.split(".")[1]),
                    symbol=frames[0][1]["data"]["s"],
                    tick_size=finest_step([price for price, _ in levels]),
                    lot_size=finest_step([size for _, size in levels]),
                    frames=frames,
                )
            )
    return streams


@pytest.fixture
def xrp_frames() -> list[bytes]:
    return (DATA / "2024-12-01_XRPUSDT_ob500.jsonl").read_bytes().splitlines()


@pytest.fixture
def make_reference() -> Callable[[str, str, str, int], ReferenceBook]:
    return ReferenceBook


@pytest.fixture
def data_dir() -> Path:
    return DATA


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize `recorded_stream` over every topic of every recorded file."""
    if "recorded_stream" in metafunc.fixturenames:
        streams = recorded_streams()
        metafunc.parametrize(
            "recorded_stream", streams, ids=[f"{s.source}:{s.topic}" for s in streams]
        )
