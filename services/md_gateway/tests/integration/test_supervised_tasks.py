"""The gateway's background tasks under the runtime's supervisor: each one killed comes back,
with readiness false in between, and books keep flowing from the simulator afterwards."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mm_proto import FeedState
from mm_runtime.testing import eventually, kill_and_watch_it_return

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import GatewayRig

SYMBOL = "BTCUSDT"


async def test_every_gateway_task_killed_is_restarted_and_books_keep_flowing(
    rig: GatewayRig,
) -> None:
    settings = rig.settings()
    async with rig.running(settings) as service:
        await rig.recorder.wait_state(SYMBOL, FeedState.LIVE)
        assert service._runtime is not None
        tasks = service._runtime.tasks
        await eventually(lambda: service.readiness()[0], timeout=10)
        expected = {
            "md_gateway-frames",
            "md_gateway-outbox",
            "md_gateway-resync",
            "md_gateway-public-ws",
        }
        assert set(tasks.names) == expected | {"md_gateway-watch"}
        for name in tasks.names:
            await kill_and_watch_it_return(tasks, name)
        levels = await rig.step_until_book_changes(SYMBOL)
        await rig.assert_published_equals_simulator(SYMBOL, levels)
