"""The ledger's answer to `ctl.ledger.status`: its running figures per symbol and color.

`data` keys are `<symbol>.<color>.<figure>` with figures `net`, `spread`, `fees`, `inventory`,
`funding` (quote currency, positive good), `position_lots` and `markout_10s_bps` (since start),
plus `<symbol>.mid` (the price positions are marked at) and `exec_sequence`, and from the input
merge `held_facts` (EXEC facts waiting behind the reorder hold) and `late_inputs`; the live view
of `mm run` reads them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

from ledger.core import Ledger
from ledger.figures import plain
from ledger.markouts import HEADLINE_HORIZON
from mm_proto import CtlReply, Message, StatusRequest


def describe(ledger: Ledger) -> dict[str, str]:
    data = {"exec_sequence": str(ledger.exec_sequence)}
    for symbol, book in ledger.books.items():
        if book.mid2 is not None:
            data[f"{symbol}.mid"] = plain(Decimal(book.instrument.tick_size) * book.mid2 / 2)
        for color, totals in book.totals.items():
            prefix = f"{symbol}.{color}."
            for component, value in totals.components(book.unit).items():
                data[prefix + component] = plain(value)
            data[prefix + "position_lots"] = str(book.positions.get(color, 0))
            if totals.headline_notional_units:
                bps = totals.headline_markout_units * 10_000 / totals.headline_notional_units
                data[prefix + f"markout_{HEADLINE_HORIZON}_bps"] = f"{bps:.3f}"
    return data


def dispatcher(
    ledger: Ledger, merge: Callable[[], dict[str, str]] = dict
) -> Callable[[Message], Awaitable[CtlReply]]:
    """The ControlServer dispatch of the ledger: `status` only (`merge` adds the feed's keys)."""

    async def dispatch(request: Message) -> CtlReply:
        if isinstance(request, StatusRequest):
            return CtlReply(ok=True, message="status", data={**describe(ledger), **merge()})
        name = type(request).__name__
        return CtlReply(ok=False, message=f"the ledger answers status only, not {name}")

    return dispatch
