"""Conflating a subscription's backlog: while more wait, only the newest message per subject.

Market data and quote intents are state, not facts: a book top or an intent that a newer one for
the same symbol (the last subject token) has replaced before its handler ran must not be acted
on, and handling it anyway costs a decode, a handler call and often a publish for nothing. nats-py
hands a subscription's messages to its callback one at a time from a pending queue, awaiting each
call, so the callback sees how many are still queued (`Subscription.pending_msgs`). `Conflator`
holds the newest message per subject while that count is above zero and releases them together
with the last one, in the order their newest messages arrived; a message with nothing queued
behind it passes straight through, so an idle service pays one comparison. Every replaced message
is counted (`mm_bus_messages_conflated_total`) so nothing disappears silently. A replaced
message that carried a sampled trace ends its trace there: no span is made for work not done,
and the message that replaced it keeps its own context.

Only state subscriptions use it (`Bus.subscribe(..., conflate=True)`): fills, order facts, trades
and commands must each be handled and never go through here.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar


class SubjectMessage(Protocol):
    """What conflation reads of a message: its concrete subject (`nats.aio.msg.Msg` has it)."""

    @property
    def subject(self) -> str: ...


class Count(Protocol):
    """Where replaced messages are counted (a bound prometheus counter child)."""

    def inc(self, amount: float = 1) -> None: ...


MessageT = TypeVar("MessageT", bound=SubjectMessage)


class Conflator(Generic[MessageT]):
    """The newest message per subject of one subscription's backlog, released when it is drained."""

    __slots__ = ("_newest", "_superseded")

    def __init__(self, superseded: Count) -> None:
        self._newest: dict[str, MessageT] = {}
        self._superseded = superseded

    def offer(self, message: MessageT, pending: int) -> list[MessageT]:
        """What to handle now that `message` arrived with `pending` more still queued behind it.

        Empty while the backlog lasts; then the newest message of each subject seen since the last
        release, ordered by when each of those arrived (a subsequence of the arrival order, so
        one subject's messages are never reordered).
        """
        newest = self._newest
        if pending <= 0 and not newest:
            return [message]
        if newest.pop(message.subject, None) is not None:
            self._superseded.inc()
        newest[message.subject] = message
        if pending > 0:
            return []
        batch = list(newest.values())
        newest.clear()
        return batch

    @property
    def held(self) -> int:
        """Messages held back until the backlog drains (one per subject)."""
        return len(self._newest)
