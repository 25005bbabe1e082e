"""What md_gateway answers on `ctl.md_gateway.<verb>`: status of every feed; no other verb.

The gateway trades nothing, so halt, resume, cancel-all and config verbs are refused with a reason
(rather than left unanswered, which a caller would read as "md_gateway is down").
"""

from __future__ import annotations

from md_gateway.symbol_book import SymbolBook
from mm_proto import CtlReply, StatusRequest


def describe(books: dict[str, SymbolBook]) -> dict[str, str]:
    """Flat string map (the CtlReply `data` shape), keys `<symbol>.<what>`."""
    data: dict[str, str] = {}
    for symbol, book in books.items():
        data[f"{symbol}.state"] = book.feed.state.value
        data[f"{symbol}.reason"] = book.feed.reason
        data[f"{symbol}.last_update_id"] = str(book.feed.last_update_id)
        data[f"{symbol}.topic"] = book.topic
    return data


def answer(request: object, books: dict[str, SymbolBook]) -> CtlReply:
    """The reply to one decoded control request."""
    if isinstance(request, StatusRequest):
        live = sum(1 for book in books.values() if book.feed.live)
        return CtlReply(
            ok=True, message=f"{live} of {len(books)} symbols live", data=describe(books)
        )
    return CtlReply(ok=False, message=f"md_gateway answers status only, not {request!r}")
