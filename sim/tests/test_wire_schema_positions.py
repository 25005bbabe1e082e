"""Shapes of the position and account endpoints against recorded Bybit answers, with the checker
of `test_wire_schema.py`: closed-pnl (a testnet capture) and account info (the docs example)."""

from __future__ import annotations

import json
from typing import Any

from .test_wire_schema import DATA, compare

# Documented for closed-pnl since the capture was made (fees split out of closedPnl).
CLOSED_PNL_EXTRAS = {"openFee", "closeFee"}


def recorded(name: str) -> Any:
    return json.loads((DATA / name).read_text())


async def test_closed_pnl_and_account_info_match_recorded_shapes(rest: Any) -> None:
    for side in ("Buy", "Sell"):
        body = {"category": "linear", "symbol": "BTCUSDT", "side": side}
        answer = await rest.post("/v5/order/create", body | {"orderType": "Market", "qty": "0.001"})
        assert answer["retCode"] == 0, answer
    closed = await rest.get("/v5/position/closed-pnl", {"category": "linear", "symbol": "BTCUSDT"})
    problems, extras = compare(recorded("hirokisan__position__closed-pnl.json"), closed["result"])
    assert problems == []
    assert extras <= CLOSED_PNL_EXTRAS
    info = await rest.get("/v5/account/info", {})
    problems, extras = compare(recorded("nautilus__account__info.json"), info)
    assert problems == []
    assert extras == {"retExtInfo", "time"}  # the docs example leaves both out
