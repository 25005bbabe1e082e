"""Positions, marks and PnL per symbol, built from the executor's fills and position snapshots.

Fills move the position at average cost and realize PnL when they reduce it; fees (negative for a
maker rebate) come off realized PnL. A reconciliation baseline from the executor is the venue's
word and replaces the fill-derived size and entry price; by the venue's `seq` (see
`risk.baseline_seq`) the fills matched after its read move it again, and the fills it already
includes move only PnL. Fills are de-duplicated by id, so a JetStream redelivery after a restart
never counts one twice. Unrealized PnL is valued at the latest mid.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from mm_proto import Grid
from risk.baseline_seq import SeqWindow

_REMEMBERED_FILL_IDS = 100_000


@dataclass
class SymbolPosition:
    """One symbol's signed position (lots), entry price, realized PnL and latest mid."""

    size_lots: int = 0
    entry_price_ticks: Decimal = Decimal(0)
    realized_pnl: Decimal = Decimal(0)
    mark_price_ticks: Decimal | None = None


class Portfolio:
    """Every managed symbol's position and PnL, in quote currency."""

    def __init__(self, instruments: Mapping[str, Grid]) -> None:
        self._instruments = dict(instruments)
        self._positions = {symbol: SymbolPosition() for symbol in instruments}
        self._seen_fill_ids: set[str] = set()
        self._fill_id_order: deque[str] = deque()
        self._windows = {symbol: SeqWindow() for symbol in instruments}
        # Each symbol's fill-derived position as the last baseline replaced it, carried on by the
        # fills that baseline includes, so their realized PnL is what it would have been.
        self._replaced: dict[str, SymbolPosition | None] = dict.fromkeys(instruments)
        self.baseline_effects = {"included": 0, "reapplied": 0}  # counts, cumulative
        self._notionals: dict[str, tuple[Decimal, int, Decimal]] = {}  # mark, size -> value

    def position(self, symbol: str) -> SymbolPosition:
        return self._positions[symbol]

    def position_lots(self, symbol: str) -> int:
        return self._positions[symbol].size_lots

    def apply_fill(
        self,
        symbol: str,
        fill_id: str,
        signed_size_lots: int,
        price_ticks: int,
        fee: Decimal = Decimal(0),
        seq: int | None = None,
        *,
        received_ns: int | None = None,
    ) -> bool:
        """Apply a fill (positive size buys); False when the fill id was already applied.

        A fill the last baseline already includes (by `seq`) books its fee and realized PnL
        against the position the baseline replaced, and leaves the size to the baseline."""
        if fill_id in self._seen_fill_ids:
            return False
        self._remember(fill_id)
        position = self._positions[symbol]
        window = self._windows[symbol]
        if window.included(seq):
            self.baseline_effects["included"] += 1
            before = self._replaced[symbol]
            gain = Decimal(0)
            if before is not None:  # None after a restart: the fee alone is known
                gain = self._move(symbol, before, signed_size_lots, price_ticks)
            position.realized_pnl += gain - fee
            return True
        position.realized_pnl += self._move(symbol, position, signed_size_lots, price_ticks) - fee
        window.hold(seq, signed_size_lots, price_ticks, received_ns)
        return True

    def _move(
        self, symbol: str, position: SymbolPosition, signed_size_lots: int, price_ticks: int
    ) -> Decimal:
        """Move size and average entry by one fill; return the PnL it realizes, before fees."""
        size = position.size_lots
        price = Decimal(price_ticks)
        realized = Decimal(0)
        if size == 0 or (size > 0) == (signed_size_lots > 0):
            total = abs(size) + abs(signed_size_lots)
            position.entry_price_ticks = (
                position.entry_price_ticks * abs(size) + price * abs(signed_size_lots)
            ) / total
        else:
            closed = min(abs(size), abs(signed_size_lots))
            direction = 1 if size > 0 else -1
            gain_ticks = (price - position.entry_price_ticks) * direction
            realized = self._instruments[symbol].notional(gain_ticks, closed)
            if abs(signed_size_lots) > abs(size):
                position.entry_price_ticks = price
            elif abs(signed_size_lots) == abs(size):
                position.entry_price_ticks = Decimal(0)
        position.size_lots = size + signed_size_lots
        return realized

    def _remember(self, fill_id: str) -> None:
        self._seen_fill_ids.add(fill_id)
        self._fill_id_order.append(fill_id)
        if len(self._fill_id_order) > _REMEMBERED_FILL_IDS:
            self._seen_fill_ids.discard(self._fill_id_order.popleft())

    def apply_position(
        self,
        symbol: str,
        size_lots: int,
        entry_price_ticks: Decimal,
        seq: int | None = None,
        *,
        read_ns: int | None = None,
    ) -> int:
        """Take the executor's snapshot of the position as the truth, then re-apply the fills
        applied before it that it does not include (by `seq`, and by `read_ns` when the venue had
        no trade yet); returns how many."""
        position = self._positions[symbol]
        self._replaced[symbol] = replace(position)
        position.size_lots = size_lots
        position.entry_price_ticks = entry_price_ticks if size_lots else Decimal(0)
        newer = self._windows[symbol].adopt(seq, read_ns)
        for fill in newer:
            self._move(symbol, position, fill.signed_lots, fill.price_ticks)
        self.baseline_effects["reapplied"] += len(newer)
        return len(newer)

    def baseline_seq(self, symbol: str) -> int | None:
        return self._windows[symbol].baseline_seq

    def mark(self, symbol: str, mid_price_ticks: Decimal) -> None:
        self._positions[symbol].mark_price_ticks = mid_price_ticks

    def unrealized_pnl(self, symbol: str) -> Decimal:
        position = self._positions[symbol]
        if position.size_lots == 0 or position.mark_price_ticks is None:
            return Decimal(0)
        gain_ticks = position.mark_price_ticks - position.entry_price_ticks
        return self._instruments[symbol].notional(gain_ticks, position.size_lots)

    def total_pnl(self) -> Decimal:
        """Realized plus unrealized PnL over every symbol."""
        return sum(
            (position.realized_pnl + self.unrealized_pnl(symbol))
            for symbol, position in self._positions.items()
        ) + Decimal(0)

    def notional(self, symbol: str) -> Decimal:
        """Signed value of the position at its mark (zero without a mark)."""
        position = self._positions[symbol]
        mark, size = position.mark_price_ticks, position.size_lots
        if mark is None:
            return Decimal(0)
        # Every intent values every other symbol's position; between two of its books the mark
        # (the very object) and the size stay, and so does the value.
        known = self._notionals.get(symbol)
        if known is not None and known[0] is mark and known[1] == size:
            return known[2]
        value = self._instruments[symbol].notional(mark, size)
        self._notionals[symbol] = (mark, size, value)
        return value

    def exposure_excluding(self, symbol: str) -> tuple[Decimal, Decimal]:
        """(gross, net) notional of every other symbol.

        Once per intent: one pass, adding from zero in symbol order (as `sum` would), without a
        list and two generators."""
        gross = net = Decimal(0)
        for other in self._positions:
            if other != symbol:
                value = self.notional(other)
                gross += abs(value)
                net += value
        return gross, net

    def snapshot(self) -> dict[str, dict[str, str]]:
        """Each symbol's position and realized PnL as strings, for persisting across restarts."""
        return {
            symbol: {
                "size_lots": str(position.size_lots),
                "entry_price_ticks": str(position.entry_price_ticks),
                "realized_pnl": str(position.realized_pnl),
                "baseline_seq": _text(self._windows[symbol].baseline_seq),
            }
            for symbol, position in self._positions.items()
        }

    def restore(self, snapshot: Mapping[str, Mapping[str, str]]) -> None:
        """Load what `snapshot` wrote; symbols no longer managed are ignored."""
        for symbol, fields in snapshot.items():
            position = self._positions.get(symbol)
            if position is None:
                continue
            position.size_lots = int(fields["size_lots"])
            position.entry_price_ticks = Decimal(fields["entry_price_ticks"])
            position.realized_pnl = Decimal(fields["realized_pnl"])
            # Written since baselines carry `seq`; absent in older snapshots.
            seq_text = fields.get("baseline_seq", "")
            self._windows[symbol].baseline_seq = int(seq_text) if seq_text else None


def _text(seq: int | None) -> str:
    return "" if seq is None else str(seq)
