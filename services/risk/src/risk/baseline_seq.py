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

A baseline with `seq` -1 includes no fill, but every fill held from before it is dropped, not
re-applied: the venue has no trade of the symbol, so those fills belong to an earlier life of the
venue (a simulator restart). The race it gives up, a symbol's very first fill matching between
the read and the baseline, leaves risk short by that fill until the next reconciliation.
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


class SeqWindow:
    """One symbol's last baseline `seq` and the sequenced fills applied since it."""

    def __init__(self) -> None:
        self.baseline_seq: int | None = None
        self._held: deque[HeldFill] = deque(maxlen=HELD_FILLS)

    def included(self, seq: int | None) -> bool:
        """True when the last baseline already counted a fill with this `seq`."""
        return seq is not None and self.baseline_seq is not None and seq <= self.baseline_seq

    def hold(self, seq: int | None, signed_lots: int, price_ticks: int) -> None:
        """Remember an applied fill, in case a baseline read before it lands after it."""
        if seq is not None:
            self._held.append(HeldFill(seq, signed_lots, price_ticks))

    def adopt(self, baseline_seq: int | None) -> list[HeldFill]:
        """Take a baseline; return the held fills it does not include, oldest match first."""
        self.baseline_seq = baseline_seq
        if baseline_seq is None or baseline_seq <= NEVER_TRADED:
            self._held.clear()
            return []
        newer = sorted((f for f in self._held if f.seq > baseline_seq), key=lambda f: f.seq)
        self._held = deque(newer, maxlen=HELD_FILLS)
        return newer
