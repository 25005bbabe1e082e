"""A whole local stack per test (NATS, simulator, every service) on a free block of ports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mm_runtime.testing import eventually
from mm_soak.running import RunningStack, start_stack, stop_stack
from mm_soak.stack import TRADING_ENV


@pytest.fixture
async def trading_stack(tmp_path: Path) -> AsyncIterator[RunningStack]:
    """A stack that has placed orders at the venue (the drills need something to protect)."""
    running = await start_stack(tmp_path / "run", env=TRADING_ENV, quoter_fault_hook=True)
    try:
        await eventually(
            lambda: running.watch.activity_at, timeout=30, message="the stack places orders"
        )
        yield running
    finally:
        await stop_stack(running)
