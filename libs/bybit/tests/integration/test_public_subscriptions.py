"""Against the real simulator: spot subscriptions stay within 10 args; bad topics are isolated."""

from mm_bybit.connection_events import ConnectionEvent, Subscribed, SubscriptionRejected
from mm_bybit.ws_public import PublicFrame, PublicStream
from mm_runtime.testing.waiting import eventually
from mm_sim.testing import SimulatorHandle

GOOD = [
    "orderbook.1.BTCUSDT", "orderbook.50.BTCUSDT", "orderbook.200.BTCUSDT",
    "orderbook.1000.BTCUSDT", "publicTrade.BTCUSDT", "tickers.BTCUSDT",
]  # fmt: skip
BAD = [f"publicTrade.NOPE{n}USDT" for n in range(5)]


async def test_eleven_spot_topics_go_in_batches_and_only_bad_ones_are_refused(
    sim: SimulatorHandle,
) -> None:
    events: list[ConnectionEvent] = []
    frames: list[PublicFrame] = []
    stream = PublicStream(
        sim.ws_public_url("spot"), frames.append, topics=GOOD + BAD, on_state=events.append
    )
    stream.start()
    try:
        await eventually(lambda: stream.connection.connected, timeout=10.0)
        subscribed = {t for e in events if isinstance(e, Subscribed) for t in e.topics}
        rejected = {t for e in events if isinstance(e, SubscriptionRejected) for t in e.topics}
        assert subscribed == set(GOOD)
        assert rejected == set(BAD)
        await sim.admin.step(3)
        await eventually(
            lambda: {"orderbook.50.BTCUSDT", "orderbook.1.BTCUSDT"} <= {f.topic for f in frames},
            timeout=5.0,
        )
    finally:
        await stream.close()


async def test_a_failing_frame_handler_is_counted_and_the_stream_goes_on(
    sim: SimulatorHandle,
) -> None:
    seen: list[PublicFrame] = []

    def fragile(frame: PublicFrame) -> None:
        seen.append(frame)
        if len(seen) == 1:
            raise ValueError("a consumer bug")

    stream = PublicStream(sim.ws_public_url("linear"), fragile, topics=["orderbook.1.BTCUSDT"])
    stream.start()
    try:
        await eventually(lambda: stream.connection.connected, timeout=5.0)
        await sim.admin.step(3)
        await eventually(lambda: len(seen) >= 2, timeout=5.0)
        assert stream.connection.handler_errors == 1
        assert stream.connection.connected
    finally:
        await stream.close()
