"""A venue status change reaches the quoter's not_trading gate: the simulator stops trading a
symbol -> md_gateway reads it -> the instrument follower -> the quoter pulls -> the executor
cancels that symbol's orders at the venue, and quoting resumes once the symbol trades again."""

from __future__ import annotations

from pathlib import Path

import pytest
from nats.aio.msg import Msg

from mm_proto import QuoteIntent, decode, subjects
from mm_runtime.testing import eventually
from mm_sim.testing import Admin
from mm_soak.running import start_stack, stop_stack
from mm_soak.stack import TRADING_ENV

pytestmark = [pytest.mark.system, pytest.mark.beside_others]
SYMBOL = "BTCUSDT"
ENV = {**TRADING_ENV, "md_gateway": {"MD_GATEWAY_INSTRUMENT_INTERVAL_S": "0.5"}}


@pytest.mark.timeout(240)
async def test_a_symbol_the_venue_stops_trading_is_pulled_and_resumes_when_it_trades(
    tmp_path: Path,
) -> None:
    running = await start_stack(tmp_path / "run", env=ENV)
    reasons: list[str] = []

    async def on_intent(msg: Msg) -> None:
        reasons.append(decode(msg.data, QuoteIntent).reason)

    pattern = subjects.quote_intent("bybit", "linear", SYMBOL)
    subscription = await running.client.subscribe(pattern, cb=on_intent)
    token = running.stack.layout.sim_admin_headers().get("Authorization", "")
    admin = Admin(running.stack.layout.sim_url, token.removeprefix("Bearer "))
    api = running.audit.api

    async def open_orders(symbol: str = SYMBOL) -> int:
        return len(await api.open_orders("linear", symbol))

    async def no_open_orders() -> bool:
        return await open_orders() == 0

    try:
        await eventually(open_orders, timeout=60, interval=0.5, message="BTCUSDT quoted")
        await admin.set_instrument_status(SYMBOL, "Delivering")
        await eventually(lambda: "not_trading" in reasons, timeout=30, message="pulled")
        await eventually(no_open_orders, timeout=30, interval=0.5, message="orders cancelled")
        assert await open_orders("ETHUSDT") > 0  # the other symbol keeps quoting
        await admin.set_instrument_status(SYMBOL, "Trading")
        await eventually(open_orders, timeout=60, interval=0.5, message="BTCUSDT quoted again")
    finally:
        await subscription.unsubscribe()
        await stop_stack(running)
