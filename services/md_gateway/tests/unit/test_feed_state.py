"""The per-symbol feed state machine: when a book may be published and what status it has."""

import pytest

from md_gateway.feed_state import SymbolFeed
from mm_proto import FeedState


def live_feed(update_id: int = 100, now_s: float = 0.0) -> SymbolFeed:
    feed = SymbolFeed("BTCUSDT", stale_after_s=5.0, resync_timeout_s=3.0, now_s=now_s)
    feed.on_reset(update_id, now_s)
    return feed


def test_a_new_feed_is_stale_until_its_first_snapshot() -> None:
    feed = SymbolFeed("BTCUSDT", stale_after_s=5.0, resync_timeout_s=3.0, now_s=0.0)

    assert feed.state is FeedState.STALE
    assert not feed.live
    assert feed.needs_snapshot
    assert feed.on_applied(5, 0.1) is None
    assert not feed.live

    change = feed.on_reset(7, 0.2)

    assert change is not None
    assert change.state is FeedState.LIVE
    assert "u=7" in change.reason
    assert feed.live
    assert feed.last_update_id == 7


def test_a_gap_makes_the_feed_stale_at_once_and_asks_for_one_resync() -> None:
    feed = live_feed(100)

    change = feed.on_gap(101, 103, 1.0)

    assert change is not None
    assert change.state is FeedState.STALE
    assert change.resync
    assert change.reason == "gap: expected u=101, received u=103"
    assert change.last_update_id == 100
    assert not feed.live
    assert feed.on_gap(101, 104, 1.1) is None


def test_deltas_applied_after_a_gap_are_never_publishable_until_a_snapshot() -> None:
    feed = live_feed(100)
    feed.on_gap(101, 103, 1.0)

    assert feed.on_applied(101, 1.1) is None
    assert not feed.live
    assert feed.last_update_id == 100

    feed.on_resync_started(1.2)
    assert feed.state is FeedState.RESYNCING
    change = feed.on_reset(110, 1.3)

    assert change is not None
    assert change.state is FeedState.LIVE
    assert feed.live
    assert feed.last_update_id == 110


def test_gaps_seen_while_resyncing_do_not_restart_the_resync() -> None:
    feed = live_feed(100)
    feed.on_gap(101, 103, 1.0)
    feed.on_resync_started(1.1)

    assert feed.on_gap(101, 104, 1.2) is None
    assert feed.invalidate("refused frame: bad price", 1.2) is None
    assert feed.state is FeedState.RESYNCING


def test_the_resyncing_state_names_what_caused_it() -> None:
    feed = live_feed(100)
    feed.on_gap(101, 103, 1.0)

    change = feed.on_resync_started(1.1)

    assert change is not None
    assert change.state is FeedState.RESYNCING
    assert "gap: expected u=101, received u=103" in change.reason


def test_a_delta_before_any_snapshot_is_reported_as_such() -> None:
    feed = SymbolFeed("BTCUSDT", stale_after_s=5.0, resync_timeout_s=3.0, now_s=0.0)
    feed.on_resync_started(0.0)

    feed.on_gap(None, 42, 0.1)

    assert not feed.live
    assert feed.state is FeedState.RESYNCING


def test_a_silent_book_turns_stale_and_comes_back_with_the_next_in_order_update() -> None:
    feed = live_feed(100, now_s=0.0)

    assert feed.check(4.9) is None
    change = feed.check(5.0)

    assert change is not None
    assert change.state is FeedState.STALE
    assert change.reason == "no book update for 5.0s"
    assert not change.resync
    assert not feed.needs_snapshot
    assert feed.check(6.0) is None

    back = feed.on_applied(101, 6.5)

    assert back is not None
    assert back.state is FeedState.LIVE
    assert feed.live


def test_updates_keep_a_live_book_from_going_stale() -> None:
    feed = live_feed(100, now_s=0.0)

    for step in range(1, 20):
        feed.on_applied(100 + step, step * 1.0)
        assert feed.check(step * 1.0 + 4.0) is None

    assert feed.live


def test_a_lost_connection_makes_a_live_feed_stale_without_its_own_resync() -> None:
    feed = live_feed(100)

    change = feed.invalidate("disconnected: closed by peer", 1.0, resync=False)

    assert change is not None
    assert change.state is FeedState.STALE
    assert not change.resync
    assert feed.needs_snapshot
    assert feed.invalidate("disconnected: connect failed", 1.5, resync=False) is None


def test_a_lost_connection_voids_a_resync_in_flight() -> None:
    feed = live_feed(100)
    feed.on_gap(101, 103, 1.0)
    feed.on_resync_started(1.1)

    change = feed.invalidate("disconnected: closed by peer", 1.2, resync=False)

    assert change is not None
    assert change.state is FeedState.STALE
    assert change.reason == "disconnected: closed by peer"


def test_a_resync_is_due_again_when_its_snapshot_does_not_arrive() -> None:
    feed = live_feed(100)
    feed.on_gap(101, 103, 10.0)
    feed.on_resync_started(10.0)

    assert not feed.resync_due(12.9)
    assert feed.resync_due(13.0)
    assert not feed.resync_due(13.1)
    assert feed.resync_due(16.0)


def test_a_live_or_merely_silent_feed_never_asks_for_a_resync() -> None:
    feed = live_feed(100, now_s=0.0)
    assert not feed.resync_due(100.0)

    feed.check(100.0)

    assert feed.state is FeedState.STALE
    assert not feed.resync_due(200.0)


def test_a_snapshot_while_live_changes_nothing() -> None:
    feed = live_feed(100)

    assert feed.on_reset(1, 1.0) is None
    assert feed.live
    assert feed.last_update_id == 1


@pytest.mark.parametrize(("stale_after_s", "resync_timeout_s"), [(0.0, 1.0), (1.0, -1.0)])
def test_non_positive_timings_are_refused(stale_after_s: float, resync_timeout_s: float) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        SymbolFeed("BTCUSDT", stale_after_s, resync_timeout_s, 0.0)
