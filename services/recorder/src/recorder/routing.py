"""From a received frame to the line and the file it belongs in, noting sequence gaps.

Pure: no I/O, no asyncio. A frame goes to its topic's symbol; one whose topic no configured symbol
owns, or that is not a JSON object, goes to `_unrouted`. Book deltas must continue their topic's
`u` by one (as md_gateway's book requires); when one does not, a gap line goes before it and the
caller is told to ask the venue for a fresh snapshot. A snapshot starts the count again.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from mm_proto import subjects
from recorder import layout, lines
from recorder.lines import Kind


class _BookData(msgspec.Struct):
    u: int = 0


class _Head(msgspec.Struct):
    topic: str = ""
    type: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")


_HEAD = msgspec.json.Decoder(_Head)
_BOOK = msgspec.json.Decoder(_BookData)


@dataclass(frozen=True)
class Routed:
    """A line to write, the symbol's file it goes to, and what the caller should do about it."""

    key: layout.SymbolKey
    line: bytes
    kind: Kind
    gap: str = ""  # a sequence gap noted before this frame (its line is already in `line`)
    resync_topic: str = ""  # ask the venue for a fresh snapshot of this topic


class Router:
    """Routes one venue connection's frames (one venue and category) to symbols."""

    def __init__(self, venue: str, category: str, topics: dict[str, str]) -> None:
        self.venue = venue
        self.category = category
        self._keys = {topic: self.key(symbol) for topic, symbol in topics.items()}
        self._last_u: dict[str, int] = {}
        self.unrouted = self.key(layout.UNROUTED)

    def key(self, symbol: str) -> layout.SymbolKey:
        return layout.SymbolKey(self.venue, self.category, symbol)

    def symbols(self) -> list[layout.SymbolKey]:
        return sorted(set(self._keys.values()))

    def last_update_id(self, topic: str) -> int | None:
        """The `u` of the last book frame of `topic` since the last disconnect."""
        return self._last_u.get(topic)

    def venue_frame(self, ts_ns: int, topic: str, payload: bytes) -> Routed:
        """A frame the venue sent on `topic` (the stream decoded its envelope)."""
        line = lines.venue_line(ts_ns, payload)
        key = self._keys.get(topic)
        if line is None:
            reason = "not a non-empty JSON object"
            return Routed(
                key or self.unrouted, lines.malformed_line(ts_ns, payload, reason), Kind.MALFORMED
            )
        if key is None:
            return Routed(self.unrouted, line, Kind.VENUE)
        if not topic.startswith("orderbook."):
            return Routed(key, line, Kind.VENUE)
        gap = self._sequence_gap(topic, payload)
        if not gap:
            return Routed(key, line, Kind.VENUE)
        return Routed(key, lines.gap_line(ts_ns, gap) + line, Kind.VENUE, gap, topic)

    def undecodable(self, ts_ns: int, payload: bytes) -> Routed:
        """Bytes that are not a JSON frame at all: kept raw under `_unrouted`."""
        reason = "not a JSON frame"
        return Routed(self.unrouted, lines.malformed_line(ts_ns, payload, reason), Kind.MALFORMED)

    def disconnected(self, ts_ns: int, reason: str) -> list[Routed]:
        """A gap line for every symbol; each book topic counts afresh from its next snapshot."""
        self._last_u.clear()
        line = lines.gap_line(ts_ns, f"disconnected: {reason}")
        return [Routed(key, line, Kind.GAP, reason) for key in self.symbols()]

    def started(self, ts_ns: int) -> list[Routed]:
        """Nothing is known about what came before this process started."""
        line = lines.gap_line(ts_ns, "recorder started")
        return [Routed(key, line, Kind.GAP, "start") for key in self.symbols()]

    def bus_message(self, ts_ns: int, subject: str, payload: bytes) -> Routed:
        """A bus message goes to the symbol its subject names (`_unrouted` when none)."""
        line = lines.bus_line(ts_ns, subject, payload)
        try:
            parsed = subjects.parse(subject)
        except ValueError:
            return Routed(self.unrouted, line, Kind.BUS)
        if not parsed.symbol:
            return Routed(self.unrouted, line, Kind.BUS)
        return Routed(
            layout.SymbolKey(parsed.venue, parsed.category, parsed.symbol), line, Kind.BUS
        )

    def _sequence_gap(self, topic: str, payload: bytes) -> str:
        try:
            head = _HEAD.decode(payload)
            update_id = _BOOK.decode(head.data).u
        except (msgspec.DecodeError, UnicodeDecodeError):
            return ""
        last = self._last_u.get(topic)
        self._last_u[topic] = update_id
        if head.type == "snapshot" or last is None or update_id == last + 1:
            return ""
        return f"sequence gap on {topic}: u {last} then {update_id}"
