"""`mm run`, Ctrl-C, `mm run` in the same run directory: the stack trades again every time.

The run directory keeps the NATS store (the EXEC stream, risk's KV snapshot), while the simulator
starts afresh: a restart must neither lose a new run's fills to the stream's de-duplication (ids
repeated from an earlier run) nor halt on a position check against the earlier run's history.
Each start must, within `TRADING_AGAIN_S`: have orders live on every symbol, a fill at the venue,
risk not halted, and risk's position equal to the venue's for every symbol.

Ten restarts run under `MM_CHAOS_LONG=1`; `make test` runs two. The quoter quotes near the touch
and the simulator's trades come every step (`FAST_FILLS`), so that each start's first fill comes
within a second or two of quoting: what is judged is the restart, not the wait for a fill.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from decimal import Decimal
from pathlib import Path

import nats
import pytest
from pydantic import SecretStr

from mm_bybit.api import BybitRestApi
from mm_bybit.credentials import ApiCredentials
from mm_bybit.rest import RestClient
from mm_cli.stack import StackLayout, free_base_port
from mm_proto import CtlReply, StatusRequest, decode, encode, subjects
from mm_runtime.testing import eventually
from mm_soak.stack import TRADING_ENV

pytestmark = [pytest.mark.system, pytest.mark.beside_others]

TRADING_AGAIN_S = 60.0
LONG = os.environ.get("MM_CHAOS_LONG", "") == "1"
RESTARTS = 10 if LONG else 2
# Every child of `mm run` inherits its environment, so one flat mapping reaches the simulator and
# the quoter: tight quotes (the soak stacks' trading settings) and a trade on every market step.
FAST_FILLS = {
    **{name: value for child in TRADING_ENV.values() for name, value in child.items()},
    "MM_SIM_MARKET__UNINFORMED_TRADE_PROBABILITY": "1.0",
}


async def start_mm_run(layout: StackLayout, log: Path) -> asyncio.subprocess.Process:
    """`mm run --headless` as an operator starts it (its own process, which SIGINT stops)."""
    with log.open("ab") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "mm_cli",
            "run",
            "--headless",
            "--run-dir",
            str(layout.run_dir),
            "--base-port",
            str(layout.base_port),
            "--symbols",
            ",".join(layout.symbols),
            stdout=output,
            stderr=output,
            start_new_session=True,
            env={**os.environ, **FAST_FILLS},
        )


async def ctrl_c(process: asyncio.subprocess.Process) -> int:
    """SIGINT, as Ctrl-C delivers it; `mm run` stops every child before it exits."""
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
    try:
        return await asyncio.wait_for(process.wait(), 40)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError("mm run did not stop within 40 s of Ctrl-C") from None


class Observer:
    """The venue (signed REST) and risk (`ctl.risk.status`) as an operator sees them."""

    def __init__(self, layout: StackLayout) -> None:
        self.layout = layout
        self.last = "nothing observed yet"
        self._rest: RestClient | None = None

    async def close(self) -> None:
        if self._rest is not None:
            await self._rest.aclose()

    async def trading_again(self) -> bool:
        """Orders on every symbol, a fill, risk not halted and agreeing with the venue."""
        try:
            return await self._look()
        except Exception as error:  # the stack is still starting: not trading yet
            self.last = f"{type(error).__name__}: {error}"
            return False

    def _venue(self) -> BybitRestApi:
        if self._rest is None:  # the first `mm run` writes the account's key files
            secrets_dir = self.layout.secrets_dir
            credentials = ApiCredentials(
                api_key=(secrets_dir / "api_key").read_text(),
                api_secret=SecretStr((secrets_dir / "api_secret").read_text()),
            )
            self._rest = RestClient(self.layout.sim_url, credentials)
        return BybitRestApi(self._rest)

    async def _look(self) -> bool:
        venue = self._venue()
        symbols = set(self.layout.symbols)
        quoted = {order.symbol for order in await venue.open_orders("linear")}
        fills = len(await venue.executions("linear"))
        venue_lots = await self._venue_lots(venue)
        risk = await self._risk_status()
        risk_lots = {symbol: int(risk.get(f"{symbol}.position_lots", "0")) for symbol in symbols}
        self.last = (
            f"quoted {sorted(quoted)}, venue fills {fills}, halted {risk.get('halted')} "
            f"({risk.get('halt_reason', '')}), venue lots {venue_lots}, risk lots {risk_lots}"
        )
        return (
            quoted >= symbols
            and fills > 0
            and risk.get("halted") == "false"
            and risk_lots == venue_lots
        )

    async def _venue_lots(self, venue: BybitRestApi) -> dict[str, int]:
        lots = {}
        for symbol in self.layout.symbols:
            step = Decimal((await venue.instruments("linear", symbol))[0].lot_size_filter.qty_step)
            size = Decimal(0)
            for row in await venue.positions("linear", symbol):
                size += Decimal(row.size or "0") * (-1 if row.side == "Sell" else 1)
            lots[symbol] = int(size / step)
        return lots

    async def _risk_status(self) -> dict[str, str]:
        client = await nats.connect(
            self.layout.nats_url,
            connect_timeout=2,
            max_reconnect_attempts=0,
            allow_reconnect=False,
            **self.layout.operator_auth(),
        )
        try:
            reply = await client.request(
                subjects.ctl("risk", "status"), encode(StatusRequest()), timeout=2
            )
            return decode(reply.data, CtlReply).data
        finally:
            await client.close()


async def trade_once(layout: StackLayout, log: Path) -> float:
    """One `mm run` until it trades (seconds from start), then Ctrl-C."""
    started = time.monotonic()
    process = await start_mm_run(layout, log)
    observer = Observer(layout)
    try:
        try:
            await eventually(observer.trading_again, timeout=TRADING_AGAIN_S, interval=0.5)
        except AssertionError:
            raise AssertionError(
                f"expected trading within {TRADING_AGAIN_S}s of mm run, last seen: {observer.last}"
            ) from None
        return round(time.monotonic() - started, 1)
    finally:
        await observer.close()
        code = await ctrl_c(process)
        assert code == 0, f"expected mm run to exit cleanly after Ctrl-C, it exited {code}"


@pytest.mark.timeout(120 + RESTARTS * 110)
async def test_mm_run_ctrl_c_and_mm_run_again_trades_again_every_time(tmp_path: Path) -> None:
    layout = StackLayout(run_dir=tmp_path / "run", base_port=free_base_port())
    took = [await trade_once(layout, tmp_path / "mm-run.log") for _ in range(RESTARTS + 1)]
    print(f"seconds from mm run to trading, first run then each restart: {took}")
    assert len(took) == RESTARTS + 1
