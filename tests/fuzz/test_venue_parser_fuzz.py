"""Bounded fuzzing of the venue message parsers: malformed input gets a typed error, never a crash.

Seeds are recorded Bybit frames (data/README.md); each round mutates one seed (bytes flipped,
cut, spliced, or a JSON value swapped for a hostile one) and runs it through every parsing path
the services use: frame tags, private pushes into fills/orders/positions, public trades, REST
envelopes and pages, instruments, HTTP error bodies. The only exceptions allowed out are the
library's typed ones. The run is bounded by rounds and seconds (`MM_FUZZ_SECONDS`, default 8) and
seeded (`MM_FUZZ_SEED`), so a failure names the seed and input that reproduce it.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from mm_bybit import raw
from mm_bybit.convert import (
    ConversionError,
    fill_from_execution,
    instrument_definition,
    order_event_from_order,
    position_from_raw,
    trades_from_message,
)
from mm_bybit.errors import BybitError, error_from_http_status, error_from_ret_code
from mm_proto import InstrumentDefinition

DATA = Path(__file__).parent / "data"
TYPED_ERRORS = (msgspec.DecodeError, ConversionError, BybitError)
HOSTILE_VALUES: list[Any] = [
    "",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "1e309",
    "-1",
    "0",
    "-0.0",
    "1e-30",
    "abc",
    "9" * 400,
    "0.00000000000000000001",
    " 1",
    "1,5",
    "0x10",
    None,
    True,
    1.5,
    -1,
    2**70,
    [],
    {},
    "\u0000",
    "Buy",
    "Sell",
    "Filled",
    "PartiallyFilled",
    "Cancelled",
    "Rejected",
    "New",
]
INSTRUMENT = InstrumentDefinition(
    venue="bybit", category="linear", symbol="BTCUSDT", base_coin="BTC", quote_coin="USDT",
    status="Trading", tick_size="0.10", lot_size="0.001", min_qty_lots=1, max_qty_lots=10**6,
    min_notional="5",
)  # fmt: skip

_FRAME = raw.decoder(raw.Frame)
_PRIVATE = raw.decoder(raw.PrivateMessage)
_ENVELOPE = raw.decoder(raw.RestEnvelope)
_ORDERS = raw.decoder(list[raw.Order])
_EXECUTIONS = raw.decoder(list[raw.Execution])
_POSITIONS = raw.decoder(list[raw.Position])
_WALLETS = raw.decoder(list[raw.Wallet])
_ORDER_PAGE = raw.decoder(raw.Page[raw.Order])
_INSTRUMENT_PAGE = raw.decoder(raw.Page[raw.Instrument])
_BOOK = raw.decoder(raw.OrderbookSnapshot)
_TRADE_REPLY = raw.decoder(raw.TradeReply)


def seeds() -> list[bytes]:
    found = []
    for path in sorted(DATA.iterdir()):
        if path.suffix == ".jsonl":
            found += [line.encode() for line in path.read_text().splitlines() if line.strip()]
        elif path.suffix == ".json":
            found.append(path.read_bytes())
    return found


def parse_private(payload: bytes) -> None:
    message = _PRIVATE.decode(payload)
    data = bytes(message.data)
    if message.topic.startswith("execution"):
        for execution in _EXECUTIONS.decode(data):
            fill_from_execution(execution, INSTRUMENT, 1)
    elif message.topic.startswith("order"):
        for order in _ORDERS.decode(data):
            order_event_from_order(order, INSTRUMENT)
    elif message.topic.startswith("position"):
        for position in _POSITIONS.decode(data):
            position_from_raw(position, INSTRUMENT)
    elif message.topic.startswith("wallet"):
        _WALLETS.decode(data)


def parse_rest(payload: bytes) -> None:
    envelope = _ENVELOPE.decode(payload)
    if envelope.ret_code:
        error_from_ret_code(envelope.ret_code, envelope.ret_msg)
    result = bytes(envelope.result)
    for order in _ORDER_PAGE.decode(result).items:
        order_event_from_order(order, INSTRUMENT)
    for item in _INSTRUMENT_PAGE.decode(result).items:
        instrument_definition(item, "linear")


def parse_as_rest_parts(payload: bytes) -> None:
    """The same bytes as a REST `result` on its own (book, pages) and as a trade-WS reply."""
    _BOOK.decode(payload)
    for order in _ORDER_PAGE.decode(payload).items:
        order_event_from_order(order, INSTRUMENT)


PARSERS: dict[str, Callable[[bytes], Any]] = {
    "frame": _FRAME.decode,
    "private": parse_private,
    "public_trades": lambda payload: trades_from_message(payload, {"BTCUSDT": INSTRUMENT}, 1),
    "rest": parse_rest,
    "rest_parts": parse_as_rest_parts,
    "trade_reply": _TRADE_REPLY.decode,
    "http_error": lambda payload: error_from_http_status(503, payload.decode(errors="replace")),
}


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(4)
        at = rng.randrange(len(buffer) + 1)
        if choice == 0 and buffer:
            buffer[min(at, len(buffer) - 1)] = rng.randrange(256)
        elif choice == 1:
            del buffer[at:]
        elif choice == 2:
            buffer[at:at] = rng.choice([b"{", b"}", b"[", b"]", b'"', b",", b":", b"\\", b"\xff"])
        else:
            start = rng.randrange(len(buffer) + 1)
            buffer[at:at] = buffer[start : start + rng.randint(1, 64)]
    # Text frames and JSON bodies arrive as UTF-8 text; raw invalid UTF-8 has its own test below.
    return bytes(buffer).decode("utf-8", errors="replace").encode()


def mutate_json(data: bytes, rng: random.Random) -> bytes:
    """Swap a few leaf values (or whole keys) of a valid message for hostile ones."""
    document = json.loads(data)
    for _ in range(rng.randint(1, 3)):
        _swap_one(document, rng)
    return json.dumps(document).encode()


def _swap_one(node: Any, rng: random.Random) -> None:
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return
        key = rng.choice(keys)
        child = node[key]
        if isinstance(child, dict | list) and child and rng.random() < 0.8:
            node = child
            continue
        if isinstance(node, dict) and rng.random() < 0.15:
            del node[key]
        else:
            node[key] = rng.choice(HOSTILE_VALUES)
        return


def test_malformed_venue_messages_raise_only_typed_errors() -> None:
    seed = int(os.environ.get("MM_FUZZ_SEED", "20261125"))
    budget_s = float(os.environ.get("MM_FUZZ_SECONDS", "8"))
    rng = random.Random(seed)
    corpus = seeds()
    deadline = time.monotonic() + budget_s
    rounds = typed = 0
    while rounds < 200_000 and time.monotonic() < deadline:
        rounds += 1
        original = rng.choice(corpus)
        payload = mutate_json(original, rng) if rng.random() < 0.6 else mutate_bytes(original, rng)
        for name, parse in PARSERS.items():
            try:
                parse(payload)
            except TYPED_ERRORS:
                typed += 1
            except Exception as error:
                raise AssertionError(
                    f"parser {name} raised {type(error).__name__}: {error} "
                    f"(expected one of {[kind.__name__ for kind in TYPED_ERRORS]}); "
                    f"seed {seed}, round {rounds}, input {payload[:400]!r}"
                ) from error
    assert rounds > 100, f"expected more than 100 fuzz rounds in {budget_s} s, ran {rounds}"
    assert typed > 0, "expected malformed inputs to be refused with typed errors, none were"


def test_bytes_that_are_not_utf8_raise_a_typed_error() -> None:
    payload = b'{"topic":"publicTrade.BTCUSDT","data":[{"i":"\xc9"}]}'
    for parse in PARSERS.values():
        with contextlib.suppress(TYPED_ERRORS):
            parse(payload)
