"""Injected gaps and disconnects: stale within one frame, never a book across a gap, then live."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from mm_proto import BookDepth, BookTop, FeedState, FeedStatus
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import GatewayRig

SYMBOL = "BTCUSDT"


def after_book(stream: list[Any], update_id: int) -> list[Any]:
    """The book messages and statuses published after the book (top and depth) at `update_id`."""
    position = max(
        index
        for index, message in enumerate(stream)
        if isinstance(message, BookTop | BookDepth) and message.update_id == update_id
    )
    return stream[position + 1 :]


def book_update_ids(messages: list[Any]) -> set[int]:
    return {m.update_id for m in messages if isinstance(m, BookTop | BookDepth)}


async def live_and_current(rig: GatewayRig) -> int:
    """Wait until the gateway is live at the simulator's current book; return its `u`."""
    await rig.recorder.wait_state(SYMBOL, FeedState.LIVE)
    levels = await rig.step_until_book_changes(SYMBOL)
    await rig.assert_published_equals_simulator(SYMBOL, levels)
    return int(levels["u"])


async def test_a_skipped_delta_makes_the_symbol_stale_on_the_next_frame_then_it_resyncs(
    rig: GatewayRig,
) -> None:
    settings = rig.settings()
    async with rig.running(settings):
        last_good = await live_and_current(rig)
        await rig.sim.admin.set_faults({"delta_fault": "skip", "delta_fault_count": 1})
        skipped = await rig.step_until_book_changes(SYMBOL)
        assert skipped["u"] == last_good + 1
        gap_frame = await rig.step_until_book_changes(SYMBOL)

        await rig.recorder.wait_state(SYMBOL, FeedState.LIVE, after=2)
        await rig.assert_published_equals_simulator(SYMBOL, gap_frame)
        later = await rig.step_until_book_changes(SYMBOL)
        await rig.assert_published_equals_simulator(SYMBOL, later)
        assert await rig.metric(settings, "md_gateway_gaps_total") == 1
        assert await rig.metric(settings, "md_gateway_resyncs_total", {"reason": "gap"}) == 1

    following = after_book(rig.recorder.book_stream(SYMBOL), last_good)
    first = following[0]
    assert isinstance(first, FeedStatus)
    assert first.state is FeedState.STALE
    assert first.reason == f"gap: expected u={last_good + 1}, received u={last_good + 2}"
    assert first.last_update_id == last_good
    states = [m.state for m in following if isinstance(m, FeedStatus)]
    assert states[:3] == [FeedState.STALE, FeedState.RESYNCING, FeedState.LIVE]
    # Nothing between the gap and the fresh snapshot; the snapshot's u is the venue's latest.
    resumed = next(
        index
        for index, m in enumerate(following)
        if isinstance(m, FeedStatus) and m.state is FeedState.LIVE
    )
    assert book_update_ids(following[:resumed]) == set()
    assert last_good + 1 not in book_update_ids(following)


@pytest.mark.parametrize("fault", ["reorder", "skip"])
async def test_no_published_book_is_ever_built_across_a_gap(rig: GatewayRig, fault: str) -> None:
    settings = rig.settings()
    async with rig.running(settings):
        await rig.recorder.wait_state(SYMBOL, FeedState.LIVE)
        venue_books: dict[int, dict[str, Any]] = {}
        for round_number in range(12):
            if round_number % 4 == 1:
                await rig.sim.admin.set_faults({"delta_fault": fault, "delta_fault_count": 1})
            levels = await rig.step_until_book_changes(SYMBOL)
            venue_books[levels["u"]] = levels
        final = await rig.step_until_book_changes(SYMBOL)
        venue_books[final["u"]] = final
        await rig.assert_published_equals_simulator(SYMBOL, final)
        gaps = await rig.metric(settings, "md_gateway_gaps_total")

    assert gaps >= 2
    published = {d.update_id: d for d in rig.recorder.of(BookDepth, SYMBOL)}
    compared = 0
    for update_id, levels in venue_books.items():
        if update_id in published:
            await rig.assert_published_equals_simulator(SYMBOL, levels)
            compared += 1
    assert compared >= len(venue_books) - 6
    # Every book published while not live would be a book across a gap.
    live = False
    for message in rig.recorder.book_stream(SYMBOL):
        if isinstance(message, FeedStatus):
            live = message.state is FeedState.LIVE
        else:
            assert live, f"book at u={message.update_id} published while not live"


async def test_a_duplicated_delta_is_ignored_and_the_book_stays_live(rig: GatewayRig) -> None:
    settings = rig.settings()
    async with rig.running(settings):
        await live_and_current(rig)
        await rig.sim.admin.set_faults({"delta_fault": "duplicate", "delta_fault_count": 1})
        for _ in range(3):
            levels = await rig.step_until_book_changes(SYMBOL)
            await rig.assert_published_equals_simulator(SYMBOL, levels)
        assert await rig.metric(settings, "md_gateway_stale_frames_total") == 1
        assert await rig.metric(settings, "md_gateway_gaps_total") == 0

    assert [s.state for s in rig.recorder.statuses(SYMBOL)][-1] is FeedState.LIVE
    assert FeedState.RESYNCING not in {s.state for s in rig.recorder.statuses(SYMBOL)}


async def test_a_dropped_connection_makes_every_symbol_stale_until_the_resubscribe(
    rig: GatewayRig,
) -> None:
    settings = rig.settings(symbols="BTCUSDT,ETHUSDT")
    async with rig.running(settings):
        for symbol in ("BTCUSDT", "ETHUSDT"):
            await rig.recorder.wait_state(symbol, FeedState.LIVE)
        seen = {symbol: len(rig.recorder.statuses(symbol)) for symbol in ("BTCUSDT", "ETHUSDT")}

        await rig.sim.admin.drop_connections("public")

        for symbol in ("BTCUSDT", "ETHUSDT"):
            stale = await rig.recorder.wait_state(symbol, FeedState.STALE, after=seen[symbol])
            assert stale.reason.startswith("disconnected: ")
            await rig.recorder.wait_state(symbol, FeedState.LIVE, after=seen[symbol])
        levels = await rig.step_until_book_changes(SYMBOL)
        await rig.assert_published_equals_simulator(SYMBOL, levels)
        assert await rig.metric(settings, "md_gateway_reconnects_total") == 1


async def test_a_paused_topic_goes_stale_and_resyncs_when_it_resumes_with_a_gap(
    rig: GatewayRig,
) -> None:
    settings = rig.settings(stale_after_s=0.3)
    async with rig.running(settings):
        await live_and_current(rig)
        await rig.sim.admin.set_faults({"paused_topics": [f"orderbook.50.{SYMBOL}"]})
        for _ in range(3):
            await rig.step_until_book_changes(SYMBOL)
        silent = await rig.recorder.wait_state(SYMBOL, FeedState.STALE, after=2)
        assert silent.reason.startswith("no book update")
        seen = len(rig.recorder.statuses(SYMBOL))

        await rig.sim.admin.set_faults({"paused_topics": []})
        levels = await rig.step_until_book_changes(SYMBOL)

        gap = await eventually(
            lambda: next(
                (s for s in rig.recorder.statuses(SYMBOL)[seen:] if s.reason.startswith("gap")),
                None,
            )
        )
        assert gap.state is FeedState.STALE
        await rig.recorder.wait_state(SYMBOL, FeedState.LIVE, after=seen)
        await rig.assert_published_equals_simulator(SYMBOL, levels)
