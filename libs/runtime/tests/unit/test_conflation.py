"""A conflating subscription hands over the newest message per subject once its backlog drains."""

from __future__ import annotations

from dataclasses import dataclass

from mm_runtime.conflation import Conflator


@dataclass(frozen=True)
class Message:
    subject: str
    sequence: int


class Tally:
    def __init__(self) -> None:
        self.count = 0.0

    def inc(self, amount: float = 1) -> None:
        self.count += amount


def offer_all(conflator: Conflator[Message], messages: list[Message]) -> list[Message]:
    """Offer a backlog as nats-py's callback task does: each with how many still wait behind it."""
    handled: list[Message] = []
    for index, message in enumerate(messages):
        handled += conflator.offer(message, len(messages) - index - 1)
    return handled


def test_a_message_with_nothing_queued_behind_it_passes_straight_through() -> None:
    tally = Tally()
    conflator: Conflator[Message] = Conflator(tally)
    first, second = Message("md.book.BTC", 1), Message("md.book.BTC", 2)
    assert conflator.offer(first, 0) == [first]
    assert conflator.offer(second, 0) == [second]
    assert tally.count == 0


def test_a_backlog_yields_the_newest_per_subject_and_counts_the_rest() -> None:
    tally = Tally()
    conflator: Conflator[Message] = Conflator(tally)
    backlog = [
        Message("md.book.BTC", 1),
        Message("md.book.ETH", 1),
        Message("md.book.BTC", 2),
        Message("md.book.SOL", 1),
        Message("md.book.BTC", 3),
        Message("md.book.ETH", 2),
    ]
    handled = offer_all(conflator, backlog)
    # In the order each subject's newest arrived: a subsequence of the arrival order.
    assert handled == [backlog[3], backlog[4], backlog[5]]
    assert tally.count == 3
    assert conflator.held == 0


def test_nothing_is_handled_while_more_wait_and_nothing_is_lost_when_they_are_done() -> None:
    tally = Tally()
    conflator: Conflator[Message] = Conflator(tally)
    assert conflator.offer(Message("a", 1), 2) == []
    assert conflator.offer(Message("b", 1), 1) == []
    assert conflator.held == 2
    assert conflator.offer(Message("a", 2), 0) == [Message("b", 1), Message("a", 2)]
    assert tally.count == 1


def test_one_subjects_messages_are_never_reordered_across_backlogs() -> None:
    conflator: Conflator[Message] = Conflator(Tally())
    handled: list[Message] = []
    sequence = 0
    for backlog_size in (1, 3, 1, 4, 2, 1):
        batch = []
        for _ in range(backlog_size):
            sequence += 1
            batch.append(Message("md.book.BTC" if sequence % 3 else "md.book.ETH", sequence))
        handled += offer_all(conflator, batch)
    for subject in ("md.book.BTC", "md.book.ETH"):
        sequences = [message.sequence for message in handled if message.subject == subject]
        assert sequences == sorted(sequences)
    assert handled[-1].sequence == sequence  # the very newest is always handled
