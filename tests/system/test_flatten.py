"""`mm flatten` on the whole stack: after a halt, a position is reduced to zero through risk with
reduce-only orders (IOC within a band, or post-only at the touch), never growing on the way; a
flat or unknown symbol is refused with a clear message."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from mm_proto import CtlReply, HaltRequest, ResumeRequest, codec, subjects
from mm_runtime.testing import eventually
from mm_sim.testing import Admin

if TYPE_CHECKING:
    from mm_soak.running import RunningStack

pytestmark = [pytest.mark.system, pytest.mark.beside_others]

SYMBOL = "BTCUSDT"


class PositionWatch:
    """Samples the venue's position and records any sample that grew or flipped it."""

    def __init__(self, running: RunningStack) -> None:
        self.audit = running.audit
        self.last: int | None = None
        self.violations: list[str] = []

    async def lots(self) -> int:
        return (await self.audit.venue_positions()).get(SYMBOL, 0)

    async def flat(self) -> bool:
        lots = await self.lots()
        if self.last is not None and (abs(lots) > abs(self.last) or lots * self.last < 0):
            self.violations.append(f"{self.last} -> {lots} lots")
        self.last = lots
        return lots == 0


def mm(running: RunningStack, *arguments: str) -> subprocess.CompletedProcess[str]:
    """The real `mm` command line against the stack's bus, as an operator runs it."""
    layout = running.stack.layout
    command = [sys.executable, "-m", "mm_cli", *arguments]
    command += ["--nats", layout.nats_url, "--bus-dir", str(layout.bus_dir)]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


async def _ctl(running: RunningStack, verb: str, request: object) -> CtlReply:
    reply = await running.client.request(
        subjects.ctl("risk", verb), codec.encode(request), timeout=5
    )
    return codec.decode(reply.data, CtlReply)


async def _sweep_to_our_order(running: RunningStack, admin: Admin, taker_side: str) -> str:
    """One taker order of exactly the size displayed from the touch down to our best resting
    order on the side it hits (ours included), so it reaches our order whatever queue sits
    ahead of it; returns what was seen, for a failure message."""
    maker_side = "Sell" if taker_side == "Buy" else "Buy"
    orders = await running.audit.api.open_orders("linear", SYMBOL)
    prices = [Decimal(order.price) for order in orders if order.side == maker_side]
    if not prices:
        return f"no {maker_side} order of ours resting"
    ours = max(prices) if maker_side == "Buy" else min(prices)
    book = await admin.book(SYMBOL)
    levels = book["b"] if maker_side == "Buy" else book["a"]
    reached = [
        (Decimal(price), Decimal(size))
        for price, size in levels
        if (Decimal(price) >= ours if maker_side == "Buy" else Decimal(price) <= ours)
    ]
    qty = sum((size for _price, size in reached), Decimal(0))
    if qty > 0:
        await admin.trade(SYMBOL, taker_side, str(qty))
    return f"our {maker_side} at {ours}, {len(reached)} levels ({qty}) up to it"


async def _build_position(running: RunningStack, admin: Admin, side: str) -> int:
    """The market trades through our quotes until we hold a position."""
    watch = PositionWatch(running)
    sign = -1 if side == "Sell" else 1  # the market sells to us: we get long, and vice versa
    seen: list[str] = []

    async def holding() -> int:
        # The simulator's own flow trades too, so keep trading until the position has the sign
        # the drill needs (a position of the other sign is not yet one to flatten this way).
        # Our best order rests several levels from the touch (the quoter's spread), behind the
        # model's displayed size (0.5 BTC a level, 2-4 BTC in all): a fixed small taker never
        # reaches it, so the taker takes everything down to it.
        seen.append(await _sweep_to_our_order(running, admin, side))
        lots = await watch.lots()
        return lots if lots * -sign > 0 else 0

    try:
        return await eventually(holding, timeout=30, interval=1.0, message="a position")
    except AssertionError as error:
        raise AssertionError(f"{error}; sweeps: {seen[-3:]}") from None


async def _halted_holding(running: RunningStack, admin: Admin, side: str) -> int:
    """A position of the drill's sign, held once halted: the venue's, with nothing resting.

    Until the halt's cancels land, the simulator's own flow can trade our other side and undo
    the position just built; then quoting resumes and the market trades through us again.
    """
    sign = -1 if side == "Sell" else 1
    lots = 0
    for _attempt in range(3):
        await _build_position(running, admin, side)
        await _halt(running)
        lots = await PositionWatch(running).lots()
        if lots * -sign > 0:
            return lots
        resume = await _ctl(running, "resume", ResumeRequest(reason="drill", operator="test"))
        assert resume.ok, resume.message
    raise AssertionError(f"no {side} position held after the halt in 3 attempts: {lots} lots")


async def _flatten(running: RunningStack, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`mm flatten` once risk has applied the fills that made the position: its view trails the
    venue's by the EXEC feed, and a flatten risk finds nothing to do in is refused as flat."""

    async def accepted() -> subprocess.CompletedProcess[str] | None:
        result = await asyncio.to_thread(mm, running, "flatten", SYMBOL, *arguments)
        return None if "is flat; nothing to flatten" in result.stdout else result

    return await eventually(accepted, timeout=15, interval=0.5, message="risk sees the position")


async def _halt(running: RunningStack) -> None:
    reply = await _ctl(running, "halt", HaltRequest(reason="flatten drill", operator="test"))
    assert reply.ok, reply.message
    await eventually(lambda: _no_quotes(running), timeout=15, message="halt cancels")


async def _no_quotes(running: RunningStack) -> bool:
    return await running.audit.open_order_count() == 0


async def test_flatten_takes_a_position_to_zero_while_halted_and_never_grows_it(
    trading_stack: RunningStack,
) -> None:
    running = trading_stack
    layout = running.stack.layout
    admin = Admin(layout.sim_url, layout.sim_admin_token_file.read_text(encoding="utf-8").strip())

    # IOC within a band: the market sold through our bids, we are long; halt, then flatten.
    assert await _halted_holding(running, admin, "Sell") > 0
    unknown = mm(running, "flatten", "NOPEUSDT")
    assert unknown.returncode == 1
    assert "symbol must be one of" in unknown.stdout
    flatten = await _flatten(running, "--max-slippage-bps", "50")
    assert flatten.returncode == 0, flatten.stdout + flatten.stderr
    assert "reduce-only ioc" in flatten.stdout
    watch = PositionWatch(running)
    await eventually(watch.flat, timeout=20, interval=0.2, message="flat after IOC flatten")
    assert watch.violations == []
    refused = await eventually(lambda: _refused_as_flat(running), timeout=10)
    assert "is flat; nothing to flatten" in refused

    # Post-only at the touch (the default): rests until the market trades into it.
    resume = await _ctl(running, "resume", ResumeRequest(reason="drill", operator="test"))
    assert resume.ok, resume.message
    assert await _halted_holding(running, admin, "Buy") < 0
    flatten = await _flatten(running)
    assert flatten.returncode == 0, flatten.stdout + flatten.stderr
    assert "buy" in flatten.stdout
    assert "reduce-only post_only" in flatten.stdout
    watch = PositionWatch(running)

    async def flat_once_the_market_sells() -> bool:
        if await watch.flat():
            return True
        await admin.trade(SYMBOL, "Sell", "0.01")
        return False

    await eventually(flat_once_the_market_sells, timeout=30, interval=0.5, message="flat")
    assert watch.violations == []
    await eventually(lambda: _no_quotes(running), timeout=10, message="nothing left resting")


async def _refused_as_flat(running: RunningStack) -> str:
    result = mm(running, "flatten", SYMBOL)
    return result.stdout if result.returncode == 1 and "flat" in result.stdout else ""
