"""The recorded line format: venue frames keep their bytes, own records parse back."""

from __future__ import annotations

import json

import msgspec
import pytest

from recorder.lines import (
    Kind,
    LineError,
    bus_line,
    gap_line,
    malformed_line,
    parse_line,
    venue_line,
)

FRAME = b'{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"b":[["1.0","2"]],"u":7}}'


def test_a_venue_frame_comes_back_byte_for_byte_with_its_receive_time() -> None:
    line = venue_line(123, FRAME)
    assert line is not None
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    parsed = parse_line(line[:-1])
    assert (parsed.ts_recv_ns, parsed.kind, parsed.raw) == (123, Kind.VENUE, FRAME)


def test_a_venue_line_is_still_the_venue_message_with_one_more_key() -> None:
    line = venue_line(5, FRAME)
    assert line is not None
    assert json.loads(line) == {"ts_recv_ns": 5, **json.loads(FRAME)}


def test_line_breaks_between_tokens_become_spaces_so_a_frame_stays_one_line() -> None:
    pretty = b'{\n  "topic": "tickers.BTCUSDT",\r\n  "data": {"s": "a\\nb"}\n}'
    line = venue_line(9, pretty)
    assert line is not None
    assert line.count(b"\n") == 1
    assert json.loads(parse_line(line[:-1]).raw) == json.loads(pretty)


@pytest.mark.parametrize("frame", [b"[1,2]", b"{}", b"not json", b'{"a":1', b"\xff\xfe", b'"x"'])
def test_frames_that_are_not_a_non_empty_object_are_refused_as_venue_lines(frame: bytes) -> None:
    assert venue_line(1, frame) is None


def test_a_malformed_frame_is_kept_raw_with_its_reason() -> None:
    raw = b"\xff{broken\n"
    parsed = parse_line(malformed_line(4, raw, "not JSON")[:-1])
    assert (parsed.kind, parsed.raw, parsed.reason, parsed.ts_recv_ns) == (
        Kind.MALFORMED,
        raw,
        "not JSON",
        4,
    )


def test_gap_and_bus_records_parse_back_and_carry_no_topic() -> None:
    gap = gap_line(10, "disconnected: closed by peer")
    bus = bus_line(11, "exec.fill.bybit.linear.BTCUSDT", msgspec.msgpack.encode({"a": 1}))
    assert "topic" not in json.loads(gap)
    assert "topic" not in json.loads(bus)
    parsed_gap, parsed_bus = parse_line(gap[:-1]), parse_line(bus[:-1])
    assert (parsed_gap.kind, parsed_gap.reason) == (Kind.GAP, "disconnected: closed by peer")
    assert parsed_bus.kind is Kind.BUS
    assert parsed_bus.subject == "exec.fill.bybit.linear.BTCUSDT"
    assert msgspec.msgpack.decode(parsed_bus.raw) == {"a": 1}


@pytest.mark.parametrize(
    "line",
    [
        b'{"topic":"x"}',
        b'{"ts_recv_ns":12',
        b'{"ts_recv_ns":abc,"topic":"x"}',
        b'{"ts_recv_ns":1,"_recorder":"nonsense"}',
        b'{"ts_recv_ns":1,"_recorder":"malformed","raw_b64":"!!"}',
        b'{"ts_recv_ns":1,"_recorder":"gap","reason":',
    ],
)
def test_lines_not_in_the_format_raise_a_line_error(line: bytes) -> None:
    with pytest.raises(LineError):
        parse_line(line)
