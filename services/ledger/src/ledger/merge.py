"""The ledger's two inputs merged in venue time per symbol, with a bounded reorder hold.

Marks (stream MARKS) and EXEC facts arrive on separate consumers, in arrival order. To apply the
same inputs in the same order live and after a restart that replays both streams, each symbol's
inputs are held and released in merge-key order `(venue time, 0 mark / 1 fact, stream sequence)`
once at or below the symbol's watermark: its newest mark's time minus `hold_ns`. While EXEC
still has a backlog (a replay), the watermark also stays `hold_ns` behind the newest fact
delivered, so a replayed mark stream cannot overtake facts not fetched yet. An input whose key
is not above the symbol's last released key is late: it is released at once and counted.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from ledger.resume import Cuts, MergeKey, StreamCut

MARK, FACT = 0, 1
_NEVER = 2**63


@dataclass
class _Stream:
    last_seen: int  # newest sequence delivered in this life (deliveries come in order)
    restored: int  # the restored flush's `delivered`: up to here a replay may be included
    held: dict[int, None] = field(default_factory=dict)  # sequences still in a symbol's queue


class InputMerge:
    """Per-symbol queues of decoded inputs, released in key order behind a watermark."""

    def __init__(self, hold_ns: int, cuts: Cuts | None = None) -> None:
        if hold_ns < 0:
            raise ValueError(f"hold_ns must not be negative, was {hold_ns}")
        self.hold_ns = hold_ns
        cuts = cuts or Cuts()
        self._streams = {
            kind: _Stream(cut.restart - 1, cut.delivered)
            for kind, cut in ((MARK, cuts.marks_cut), (FACT, cuts.exec_cut))
        }
        self._restored_keys = dict(cuts.last_keys)
        self.last_keys: dict[str, MergeKey] = dict(cuts.last_keys)
        self._queues: dict[str, list[tuple[MergeKey, Any]]] = {}
        self._mark_ts: dict[str, int] = {}
        self._fact_ts = 0
        self.fact_backlog = True  # until EXEC has been seen caught up once
        self.late = 0

    def start_sequence(self, kind: int) -> int:
        """Where this life's consumer of the stream starts."""
        return self._streams[kind].last_seen + 1

    def delivered(self, kind: int, sequence: int) -> bool:
        """Note a delivery; False for a redelivery of a sequence already seen."""
        stream = self._streams[kind]
        if sequence <= stream.last_seen:
            return False
        stream.last_seen = sequence
        return True

    def replaying(self) -> bool:
        """True until both streams are past what the restored flush had seen (no flush then)."""
        return any(s.last_seen < s.restored for s in self._streams.values())

    def included(self, symbol: str, key: MergeKey) -> bool:
        """True when the restored flush already includes this replayed input."""
        if key[2] > self._streams[key[1]].restored:
            return False
        return key <= self._restored_keys.get(symbol, (0, 0, 0))

    def add(self, symbol: str, key: MergeKey, item: Any) -> bool:
        """Queue one input; False when it is late (the caller applies it now instead)."""
        if key[1] == MARK:
            self._mark_ts[symbol] = max(self._mark_ts.get(symbol, 0), key[0])
        else:
            self._fact_ts = max(self._fact_ts, key[0])
        if key <= self.last_keys.get(symbol, (0, 0, 0)):
            self.late += 1
            return False
        heapq.heappush(self._queues.setdefault(symbol, []), (key, item))
        self._streams[key[1]].held[key[2]] = None
        return True

    def watermark(self, symbol: str) -> int:
        mark = self._mark_ts.get(symbol, 0)
        cap = self._fact_ts if self.fact_backlog else _NEVER
        return min(mark, cap) - self.hold_ns

    def release(self) -> list[tuple[str, MergeKey, Any]]:
        """Every queued input at or below its symbol's watermark, in key order per symbol."""
        released = []
        for symbol, queue in self._queues.items():
            mark = self.watermark(symbol)
            while queue and queue[0][0][0] <= mark:
                key, item = heapq.heappop(queue)
                self._streams[key[1]].held.pop(key[2], None)
                self.last_keys[symbol] = key
                released.append((symbol, key, item))
        return released

    def release_all(self) -> list[tuple[str, MergeKey, Any]]:
        """Everything queued (used by tests and the reference replay, never live)."""
        released = []
        for symbol, queue in self._queues.items():
            while queue:
                key, item = heapq.heappop(queue)
                self._streams[key[1]].held.pop(key[2], None)
                self.last_keys[symbol] = key
                released.append((symbol, key, item))
        return released

    def held(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def held_facts(self) -> int:
        """EXEC facts delivered but not applied yet."""
        return len(self._streams[FACT].held)

    def cuts(self) -> Cuts:
        """Where the merge stands now, for the flush being taken at this moment."""
        return Cuts(
            exec_cut=self._cut(FACT), marks_cut=self._cut(MARK), last_keys=dict(self.last_keys)
        )

    def _cut(self, kind: int) -> StreamCut:
        stream = self._streams[kind]
        restart = min(stream.held, default=stream.last_seen + 1)
        return StreamCut(restart=max(restart, 1), delivered=stream.last_seen)
