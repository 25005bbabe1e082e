"""The quoter's background tasks under the runtime's supervisor: each one killed comes back, with
readiness false in between, and the quoter quotes afterwards."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mm_runtime.testing import eventually, kill_and_watch_it_return

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import QuoterRig

BID, ASK = 999_990, 1_000_010


async def test_every_quoter_task_killed_is_restarted_and_the_quoter_quotes_on(
    rig: QuoterRig,
) -> None:
    await rig.start()
    (service,) = rig.services
    assert service._runtime is not None
    tasks = service._runtime.tasks
    await eventually(lambda: service.readiness()[0], timeout=10, message="quoter ready")
    # A binding task ends by itself once subscribed; on a loaded machine it can still be running
    # here, and a cancel landing just after it finished would be a kill of nothing.
    long_lived = [name for name in tasks.names if not tasks.finishes(name)]
    assert "quoter-refresh" in long_lived
    assert any(name.startswith("quoter-follow-config") for name in long_lived)
    for name in long_lived:
        await kill_and_watch_it_return(tasks, name)
    update_id = await rig.book(BID, ASK)
    intent = await rig.intent_for(update_id)
    assert intent.bids
