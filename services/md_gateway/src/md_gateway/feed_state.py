"""One symbol's feed health: live, stale or resyncing, why, and when a resync is due, on a clock.

The rule that matters: once a book may be wrong (a `u` gap, a refused frame, a lost connection,
the start) the symbol needs a fresh snapshot, and nothing moves it back to live except a Reset
(a snapshot applied). Silence is different: a book that stopped updating is stale, but its
sequence is intact, so the next in-order update makes it live again. Times are seconds from any
monotonic clock the caller passes in; nothing here reads a clock itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from mm_proto import FeedState


@dataclass(frozen=True)
class StatusChange:
    """A state transition to publish; `resync` asks the caller to fetch a fresh snapshot."""

    state: FeedState
    reason: str
    last_update_id: int
    resync: bool = False


class SymbolFeed:
    """The state machine of one symbol's book feed."""

    def __init__(self, symbol: str, stale_after_s: float, resync_timeout_s: float, now_s: float):
        if stale_after_s <= 0 or resync_timeout_s <= 0:
            raise ValueError(
                "stale_after_s and resync_timeout_s must be positive, "
                f"were {stale_after_s} and {resync_timeout_s}"
            )
        self.symbol = symbol
        self.stale_after_s = stale_after_s
        self.resync_timeout_s = resync_timeout_s
        self.state = FeedState.STALE
        self.reason = "waiting for the first snapshot"
        self.live = False  # the hot path reads this: publish books only when True
        self.needs_snapshot = True
        self.last_update_id = 0
        self._last_update_s = now_s
        self._resync_clock_s = now_s

    def on_applied(self, update_id: int, now_s: float) -> StatusChange | None:
        """An in-sequence delta was applied; it is publishable only if `live` after this."""
        if self.needs_snapshot:
            return None  # applied on top of a book that may be wrong: wait for the snapshot
        self.last_update_id = update_id
        self._last_update_s = now_s
        if self.state is FeedState.LIVE:
            return None
        return self._enter(FeedState.LIVE, f"updates resumed at u={update_id}", now_s)

    def on_reset(self, update_id: int, now_s: float) -> StatusChange | None:
        """A snapshot replaced the book: whatever happened before, the book is right again."""
        self.needs_snapshot = False
        self.last_update_id = update_id
        self._last_update_s = now_s
        if self.state is FeedState.LIVE:
            return None
        return self._enter(FeedState.LIVE, f"snapshot applied at u={update_id}", now_s)

    def on_gap(self, expected: int | None, received: int, now_s: float) -> StatusChange | None:
        """A delta skipped ahead (or came before any snapshot): stale until a fresh snapshot."""
        if expected is None:
            return self.invalidate(f"delta u={received} before any snapshot", now_s)
        return self.invalidate(f"gap: expected u={expected}, received u={received}", now_s)

    def invalidate(self, reason: str, now_s: float, resync: bool = True) -> StatusChange | None:
        """The book may be wrong (gap, refused frame, lost connection): stale, needs a snapshot.

        `resync=False` when the snapshot comes anyway (a reconnect resubscribes every topic).
        Returns None when the symbol was already waiting for a snapshot, so one incident gives
        one status change and one resync, however many bad frames follow it.
        """
        if self.needs_snapshot and (resync or self.state is FeedState.STALE):
            # Already waiting: a resync in flight will fix this too (deltas still arriving from
            # before the resubscribe keep showing gaps), and a lost connection while stale
            # changes nothing. A lost connection while resyncing does: that resync is void.
            return None
        self.needs_snapshot = True
        change = self._enter(FeedState.STALE, reason, now_s)
        return StatusChange(change.state, change.reason, change.last_update_id, resync=resync)

    def on_resync_started(self, now_s: float) -> StatusChange | None:
        """A fresh snapshot was asked for (resubscribed); resyncing until it arrives."""
        self._resync_clock_s = now_s
        if not self.needs_snapshot or self.state is FeedState.RESYNCING:
            return None
        return self._enter(FeedState.RESYNCING, f"awaiting a snapshot after: {self.reason}", now_s)

    def check(self, now_s: float) -> StatusChange | None:
        """Called periodically: a live book silent for `stale_after_s` turns stale."""
        silent_s = now_s - self._last_update_s
        if self.state is FeedState.LIVE and silent_s >= self.stale_after_s:
            return self._enter(FeedState.STALE, f"no book update for {silent_s:.1f}s", now_s)
        return None

    def resync_due(self, now_s: float) -> bool:
        """True when a needed snapshot has not arrived within `resync_timeout_s`: ask again."""
        if self.needs_snapshot and now_s - self._resync_clock_s >= self.resync_timeout_s:
            self._resync_clock_s = now_s
            return True
        return False

    def _enter(self, state: FeedState, reason: str, now_s: float) -> StatusChange:
        self.state = state
        self.reason = reason
        self.live = state is FeedState.LIVE
        if state is FeedState.STALE and self.needs_snapshot:
            self._resync_clock_s = now_s
        return StatusChange(state, reason, self.last_update_id)
