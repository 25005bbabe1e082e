"""FrameInbox: frames handled in order, a backlog handled inline, a failing handler survived."""

import asyncio

from prometheus_client import CollectorRegistry, Counter

from md_gateway.frame_inbox import QUEUE_LIMIT, FrameInbox
from mm_bybit.ws_public import PublicFrame
from mm_runtime.tasks import TaskSupervisor
from mm_runtime.testing import eventually


def frame(number: int) -> PublicFrame:
    return PublicFrame(topic=f"t.{number}", type="delta", payload=b"{}", ts_received_ns=number)


def errors() -> Counter:
    return Counter("errors", "errors", registry=CollectorRegistry())


async def test_frames_are_handled_in_arrival_order_by_the_task() -> None:
    handled: list[int] = []
    inbox = FrameInbox(lambda f: handled.append(f.ts_received_ns), errors())
    inbox.start(TaskSupervisor())

    for number in range(100):
        inbox.put(frame(number))
    assert handled == []

    await eventually(lambda: len(handled) == 100)
    assert handled == list(range(100))
    await inbox.close()


async def test_the_task_lets_other_work_run_while_a_burst_is_handled() -> None:
    handled: list[int] = []
    seen_by_other_task: list[int] = []
    inbox = FrameInbox(lambda f: handled.append(f.ts_received_ns), errors())
    inbox.start(TaskSupervisor())

    async def observer() -> None:
        while len(handled) < 200:
            seen_by_other_task.append(len(handled))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(observer())
    for number in range(200):
        inbox.put(frame(number))
    await watcher

    assert any(0 < count < 200 for count in seen_by_other_task)
    await inbox.close()


async def test_a_backlog_at_the_limit_is_handled_inline_in_order() -> None:
    handled: list[int] = []
    inbox = FrameInbox(lambda f: handled.append(f.ts_received_ns), errors())

    for number in range(QUEUE_LIMIT):
        inbox.put(frame(number))

    assert handled == list(range(QUEUE_LIMIT))
    assert len(inbox) == 0


async def test_a_failing_handler_is_counted_and_the_next_frames_still_handled() -> None:
    handled: list[int] = []
    registry = CollectorRegistry()
    failures = Counter("errors", "errors", registry=registry)

    def handle(item: PublicFrame) -> None:
        if item.ts_received_ns == 3:
            raise RuntimeError("bug")
        handled.append(item.ts_received_ns)

    inbox = FrameInbox(handle, failures)
    inbox.start(TaskSupervisor())
    for number in range(6):
        inbox.put(frame(number))

    await eventually(lambda: len(handled) == 5)
    assert handled == [0, 1, 2, 4, 5]
    assert registry.get_sample_value("errors_total") == 1
    await inbox.close()


async def test_discard_drops_the_frames_of_a_lost_connection() -> None:
    handled: list[int] = []
    inbox = FrameInbox(lambda f: handled.append(f.ts_received_ns), errors())
    for number in range(5):
        inbox.put(frame(number))

    assert inbox.discard() == 5
    inbox.start(TaskSupervisor())
    inbox.put(frame(9))

    await eventually(lambda: handled == [9])
    await inbox.close()
