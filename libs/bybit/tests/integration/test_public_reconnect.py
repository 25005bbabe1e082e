"""Against the real simulator: the public stream survives five drops with growing backoff."""

from mm_bybit.backoff import Backoff
from mm_bybit.connection_events import (
    BackingOff,
    Connected,
    Connecting,
    ConnectionEvent,
    Disconnected,
    Subscribed,
)
from mm_bybit.ws_public import PublicFrame, PublicStream
from mm_runtime.testing.waiting import eventually
from mm_sim.testing import running_simulator, simulator_settings

TOPICS = ("orderbook.50.BTCUSDT", "publicTrade.BTCUSDT")
BASE_S = 0.05


async def test_five_drops_reconnect_with_growing_delays_and_resubscribe() -> None:
    events: list[ConnectionEvent] = []
    frames: list[PublicFrame] = []
    # rng pinned to 1.0: each delay is the full ceiling, so the schedule is exactly known.
    backoff = Backoff(base_s=BASE_S, cap_s=30.0, stable_after_s=60.0, rng=lambda: 1.0)
    async with running_simulator(simulator_settings()) as sim:
        stream = PublicStream(
            sim.ws_public_url("linear"),
            frames.append,
            topics=TOPICS,
            on_state=events.append,
            backoff=backoff,
        )
        stream.start()
        try:
            for drop in range(6):
                await eventually(
                    lambda n=drop: sum(isinstance(e, Subscribed) for e in events) == n + 1,
                    timeout=10.0,
                    message=f"subscription {drop + 1}",
                )
                if drop < 5:
                    await sim.admin.drop_connections("public")
            frames.clear()
            await sim.admin.step(5)
            await eventually(lambda: any(f.topic == TOPICS[0] for f in frames), timeout=5.0)
        finally:
            await stream.close()

    assert_backoff_followed_the_schedule(events)
    assert_every_cycle_reconnected_and_resubscribed(events)


def assert_backoff_followed_the_schedule(events: list[ConnectionEvent]) -> None:
    disconnects = [e for e in events if isinstance(e, Disconnected)]
    assert len(disconnects) == 5
    assert all("closed" in e.reason or "ended" in e.reason for e in disconnects)
    backing_off = [e for e in events if isinstance(e, BackingOff)]
    assert [e.delay_s for e in backing_off] == [BASE_S * 2**n for n in range(5)]
    # Each reconnect attempt starts no earlier than its announced delay after the announcement.
    for index, event in enumerate(events):
        if isinstance(event, BackingOff):
            following = next(e for e in events[index:] if isinstance(e, Connecting))
            waited_s = (following.monotonic_ns - event.monotonic_ns) / 1e9
            assert waited_s >= event.delay_s


def assert_every_cycle_reconnected_and_resubscribed(events: list[ConnectionEvent]) -> None:
    kinds = [type(e) for e in events if not isinstance(e, Subscribed)]
    cycle = [Disconnected, BackingOff, Connecting, Connected]
    assert kinds == [Connecting, Connected] + cycle * 5
    per_connection: dict[int, set[str]] = {}
    connection = 0
    for event in events:
        if isinstance(event, Connected):
            connection += 1
        if isinstance(event, Subscribed):
            per_connection.setdefault(connection, set()).update(event.topics)
    assert per_connection == {n: set(TOPICS) for n in range(1, 7)}


async def test_unreachable_venue_backs_off_without_flooding() -> None:
    events: list[ConnectionEvent] = []
    backoff = Backoff(base_s=0.01, cap_s=0.04, rng=lambda: 1.0)
    # Port 9 on loopback: nothing listens, every attempt is refused at once.
    stream = PublicStream(
        "ws://127.0.0.1:9/v5/public/linear", lambda frame: None, on_state=events.append,
        backoff=backoff,
    )  # fmt: skip
    stream.start()
    try:
        await eventually(lambda: sum(isinstance(e, BackingOff) for e in events) >= 6, timeout=10.0)
    finally:
        await stream.close()
    delays = [e.delay_s for e in events if isinstance(e, BackingOff)][:6]
    assert delays == [0.01, 0.02, 0.04, 0.04, 0.04, 0.04]
    assert all("connect failed" in e.reason for e in events if isinstance(e, Disconnected))
