"""`stop_stack` runs every teardown step even when one fails, and still reports the failure.

The parts are stand-ins that record what was called: what is under test is the order and the
completeness of the teardown, not the parts (each has its own tests against real servers).
"""

from __future__ import annotations

from typing import Any

import pytest

from mm_soak.running import RunningStack, stop_stack


class _Part:
    def __init__(self, name: str, calls: list[str], fails: set[str]) -> None:
        self.name, self.calls, self.fails = name, calls, fails

    async def _step(self, verb: str) -> None:
        self.calls.append(f"{self.name}.{verb}")
        if f"{self.name}.{verb}" in self.fails:
            raise RuntimeError(f"{self.name}.{verb} failed")

    async def stop(self) -> None:
        await self._step("stop")

    async def detach(self) -> None:
        await self._step("detach")

    async def close(self) -> None:
        await self._step("close")

    async def drain(self) -> None:
        await self._step("drain")


class _Stack(_Part):
    def __init__(self, calls: list[str], fails: set[str]) -> None:
        super().__init__("stack", calls, fails)
        self.watch_clients = [_Part("moved", calls, fails)]


def _running(calls: list[str], fails: set[str]) -> RunningStack:
    parts: dict[str, Any] = {
        name: _Part(name, calls, fails) for name in ("client", "watch", "audit", "probe")
    }
    return RunningStack(stack=_Stack(calls, fails), **parts)  # type: ignore[arg-type]


EVERY_STEP = [
    "probe.stop",
    "watch.detach",
    "audit.close",
    "client.drain",
    "moved.drain",
    "stack.stop",
]


async def test_a_clean_teardown_runs_every_step_in_order() -> None:
    calls: list[str] = []
    await stop_stack(_running(calls, set()))
    assert calls == EVERY_STEP


@pytest.mark.parametrize("failing", ["probe.stop", "audit.close", "client.drain"])
async def test_a_failing_step_skips_none_after_it_and_is_raised(failing: str) -> None:
    calls: list[str] = []
    with pytest.raises(RuntimeError, match=failing):
        await stop_stack(_running(calls, {failing}))
    assert calls == EVERY_STEP


async def test_two_failures_are_both_reported() -> None:
    calls: list[str] = []
    with pytest.raises(ExceptionGroup) as raised:
        await stop_stack(_running(calls, {"probe.stop", "stack.stop"}))
    assert calls == EVERY_STEP
    assert [str(error) for error in raised.value.exceptions] == [
        "probe.stop failed",
        "stack.stop failed",
    ]
