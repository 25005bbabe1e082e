"""Which fills a reconciliation baseline already includes, told by the venue's cross sequence.

The executor reads the venue's position over REST at some moment and publishes it on EXEC as a
baseline; its fills reach EXEC from the private stream on their own path. So a baseline can land
after a fill it does not include (the fill matched after the read) or before a fill it does
include (the fill's push was still on its way). Bybit numbers both with one per-symbol sequence
(`seq`: monotonic, not contiguous, shared by fills matched at the same moment; a position's `seq`
is its last change's, -1 when never traded), so a position with `seq` S includes exactly the
fills with `seq` <= S. Per symbol, `SeqWindow` keeps the fills applied since the last baseline;
adopting a baseline with `seq` S hands back those above S, to move the position again, and later
fills at or below S are reported as included. A baseline or fill without `seq` (older facts,
other venues) is handled as before: the baseline replaces the position and every fill counts.

A baseline with `seq` -1 includes no fill: the venue had no trade of the symbol when it was read.
So a held fill the executor received after the read was sent (`read_ns`, the executor's clock, as
is a fill's `ts_received_ns`) matched after the read and moves the position again, while one
received before it belongs to an earlier life of the venue (a simulator restarted fresh while
EXEC kept its history) and is dropped. A -1 baseline without `read_ns` (older facts) drops them all.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

# Fills held per symbol since its last baseline: far more than can match during one REST read.
HELD_FILLS = 10_000
NEVER_TRADED = -1


@dataclass(frozen=True)
class HeldFill:
    """A fill applied since the last baseline: enough to move the position again."""

    seq: int
    signed_lots: int
    price_ticks: int
    received_ns: int | None = None  # when the executor received it (its clock)


class SeqWindow:
    """One symbol's last baseline `seq` and the sequenced fills applied since it."""

    def __init__(self) -> None:
        self.baseline_seq: int | None = None
        self._held: deque[HeldFill] = deque(maxlen=HELD_FILLS)

    def included(self, seq: int | None) -> bool:
        """True when the last baseline already counted a fill with this `seq`."""
        return seq is not None and self.baseline_seq is not None and seq <= self.baseline_seq

    def hold(
        self,
        seq: int | None,
        signed_lots: int,
        price_ticks: int,
        received_ns: int | None = None,
    ) -> None:
        """Remember an applied fill, in case a baseline read before it lands after it."""
        if seq is not None:
            self._held.append(HeldFill(seq, signed_lots, price_ticks, received_ns))

    def adopt(self, baseline_seq: int | None, read_ns: int | None = None) -> list[HeldFill]:
        """Take a baseline; return the held fills it does not include, oldest match first."""
        self.baseline_seq = baseline_seq
        if baseline_seq is None:
            self._held.clear()
            return []
        if baseline_seq <= NEVER_TRADED:
            newer = [f for f in self._held if _received_after(f, read_ns)]
        else:
            newer = [f for f in self._held if f.seq > baseline_seq]
        newer.sort(key=lambda f: f.seq)
        self._held = deque(newer, maxlen=HELD_FILLS)
        return newer


def _received_after(fill: HeldFill, read_ns: int | None) -> bool:
    """Whether a fill reached the executor after a never-traded baseline's read was sent."""
    return read_ns is not None and fill.received_ns is not None and fill.received_ns >= read_ns
