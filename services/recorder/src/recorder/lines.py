"""The recorded line format: one JSON object a line, the venue's frame with its receive time.

A venue frame that is a JSON object is written as that frame with one key put in front:
`{"ts_recv_ns":<int>,` followed by the frame's bytes after its opening `{`. Every line therefore
is still the Bybit public message (`topic`, `type`, `ts`, `data`), which is what the simulator's
replay (`mm_sim.replay`) reads, and the frame's own bytes come back exactly by cutting the prefix
(`Frame.raw`). The only change: a line break between JSON tokens (never inside a string, where
JSON escapes it) becomes a space, so one frame stays one line.

The recorder's own records carry `"_recorder"` as their second key and no `topic`, so a replay
that looks for `topic` passes over them:

- `{"ts_recv_ns":N,"_recorder":"gap","reason":"..."}`: frames may be missing here (a disconnect,
  a sequence gap, the recorder starting, frames dropped on a failed write);
- `{"ts_recv_ns":N,"_recorder":"malformed","reason":"...","raw_b64":"..."}`: a frame that was not
  a JSON object, kept byte for byte;
- `{"ts_recv_ns":N,"_recorder":"bus","subject":"...","msgpack_b64":"..."}`: a bus message.
"""

from __future__ import annotations

import base64
import enum

import msgspec

PREFIX = b'{"ts_recv_ns":'
_OWN = b'"_recorder":'


class Kind(enum.StrEnum):
    """What a recorded line holds."""

    VENUE = "venue"  # a frame as the venue sent it
    GAP = "gap"  # frames may be missing before the next one
    MALFORMED = "malformed"  # a frame that was not a JSON object, kept raw
    BUS = "bus"  # a message from the bus (msgpack)


class LineError(ValueError):
    """A line that is not in the recorded format (damaged, or from another tool)."""


class _Own(msgspec.Struct, frozen=True):
    recorder: str = msgspec.field(name="_recorder")
    reason: str = ""
    raw_b64: str = ""
    subject: str = ""
    msgpack_b64: str = ""


_OWN_DECODER = msgspec.json.Decoder(_Own)
_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])


def venue_line(ts_recv_ns: int, frame: bytes) -> bytes | None:
    """The line of a venue frame, or None when the frame is not a non-empty JSON object."""
    body = frame.strip()
    try:
        fields = _OBJECT.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    if not fields:
        return None
    if b"\n" in body or b"\r" in body:
        body = body.replace(b"\r", b" ").replace(b"\n", b" ")
    return b"%s%d,%s\n" % (PREFIX, ts_recv_ns, body[1:])


def gap_line(ts_recv_ns: int, reason: str) -> bytes:
    return _own(ts_recv_ns, {"_recorder": Kind.GAP.value, "reason": reason})


def malformed_line(ts_recv_ns: int, frame: bytes, reason: str) -> bytes:
    raw = base64.b64encode(frame).decode()
    return _own(ts_recv_ns, {"_recorder": Kind.MALFORMED.value, "reason": reason, "raw_b64": raw})


def bus_line(ts_recv_ns: int, subject: str, payload: bytes) -> bytes:
    encoded = base64.b64encode(payload).decode()
    return _own(
        ts_recv_ns, {"_recorder": Kind.BUS.value, "subject": subject, "msgpack_b64": encoded}
    )


def _own(ts_recv_ns: int, fields: dict[str, str]) -> bytes:
    return b"%s%d,%s\n" % (PREFIX, ts_recv_ns, msgspec.json.encode(fields)[1:])


class Parsed(msgspec.Struct, frozen=True):
    """One line taken apart: receive time, kind, the frame's bytes and the record's words."""

    ts_recv_ns: int
    kind: Kind
    raw: bytes  # venue: the frame; malformed: the bytes received; bus: the msgpack payload
    reason: str = ""  # gap and malformed: why
    subject: str = ""  # bus: the subject


def parse_line(line: bytes) -> Parsed:
    """Split one complete line (without its newline); raise LineError when it is not ours."""
    if not line.startswith(PREFIX):
        raise LineError(f"expected a line starting with {PREFIX.decode()}, got {line[:40]!r}")
    comma = line.find(b",", len(PREFIX))
    digits = line[len(PREFIX) : comma]
    if comma < 0 or not digits.isdigit():
        raise LineError(f"expected an integer ts_recv_ns, got {line[:40]!r}")
    ts = int(digits)
    rest = line[comma + 1 :]
    if not rest.startswith(_OWN):
        return Parsed(ts, Kind.VENUE, b"{" + rest)
    try:
        own = _OWN_DECODER.decode(b"{" + rest)
        kind = Kind(own.recorder)
        if kind is Kind.MALFORMED:
            return Parsed(ts, kind, base64.b64decode(own.raw_b64, validate=True), own.reason)
        if kind is Kind.BUS:
            payload = base64.b64decode(own.msgpack_b64, validate=True)
            return Parsed(ts, kind, payload, subject=own.subject)
        return Parsed(ts, kind, b"", own.reason)
    except (msgspec.DecodeError, ValueError) as error:
        raise LineError(f"expected a recorder record, got {line[:80]!r}: {error}") from None
