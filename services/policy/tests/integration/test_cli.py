"""`mm policy status` and `mm policy explain` against the running policy and its stream."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mm_cli import policy_command
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Rig


def arguments(rig: Rig, action: str, **more: object) -> argparse.Namespace:
    return argparse.Namespace(action=action, nats=rig.url, bus_dir=Path("/nonexistent"), **more)


async def test_explain_says_what_moved_why_and_from_which_figures(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    await rig.set_by_hand({"refresh_price_ticks": 3})
    await rig.start_policy()
    await rig.kpi(rig.toxic_row())
    await eventually(lambda: rig.stage("applied"), timeout=10, interval=0.25)
    expected = (
        "BTCUSDT-1 [applied] toxic_edge: level_size_lots 4 -> 3, min_spread_bps 2.0 -> 2.5 "
        "because 10s edge -4.50 bps (markout -5.00 + fees 0.50) below 0.0: widen",
        "markout_bps=-5.0000",
        "edge_bps=-4.5000",
        "pinned: refresh_price_ticks",
        "in force: ",
    )

    async def explained() -> str:
        # The policy keeps deciding (every 0.25 s here): a status taken mid-round may lag it.
        code = await policy_command.run(arguments(rig, "explain", symbol="BTCUSDT", last=10))
        out = capsys.readouterr().out
        return out if code == 0 and all(text in out for text in expected) else ""

    out = await eventually(explained, timeout=10, interval=0.3, message="explain says it all")
    assert all(text in out for text in expected)


async def test_status_says_the_policy_is_down_and_the_last_config_stays(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await policy_command.run(arguments(rig, "status"))
    assert code == 1
    assert "DOWN" in capsys.readouterr().out


async def test_explain_refuses_a_symbol_that_is_not_one_subject_token(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await policy_command.run(arguments(rig, "explain", symbol="BTC.*", last=10))
    assert code == 2
    assert "must not contain" in capsys.readouterr().err
