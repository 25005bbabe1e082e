"""The input merge: venue-time order per symbol behind the hold, late inputs, replay cuts."""

from __future__ import annotations

from ledger.merge import FACT, MARK, InputMerge
from ledger.resume import Cuts, StreamCut

S = 1_000_000_000


def _keys(released: list[tuple[str, tuple[int, int, int], object]]) -> list[tuple[int, int, int]]:
    return [key for _, key, _ in released]


def _live(merge: InputMerge) -> InputMerge:
    merge.fact_backlog = False
    return merge


def test_inputs_are_released_in_venue_time_once_the_marks_are_a_hold_past_them() -> None:
    merge = _live(InputMerge(hold_ns=2 * S))
    merge.add("X", (5 * S, FACT, 1), "fill")
    merge.add("X", (4 * S, MARK, 1), "mark4")
    merge.add("X", (5 * S, MARK, 2), "mark5")  # same time as the fill: the mark goes first
    assert merge.release() == []  # newest mark 5 s: watermark 3 s
    merge.add("X", (7 * S, MARK, 3), "mark7")
    assert _keys(merge.release()) == [(4 * S, MARK, 1), (5 * S, MARK, 2), (5 * S, FACT, 1)]
    assert merge.held() == 1


def test_an_input_behind_what_was_released_is_late_and_counted() -> None:
    merge = _live(InputMerge(hold_ns=0))
    merge.add("X", (5 * S, MARK, 1), "mark")
    merge.release()
    assert not merge.add("X", (4 * S, FACT, 1), "old fill")
    assert merge.late == 1


def test_symbols_wait_for_their_own_marks() -> None:
    merge = _live(InputMerge(hold_ns=0))
    merge.add("X", (5 * S, FACT, 1), "fill X")
    merge.add("Y", (9 * S, MARK, 1), "mark Y")
    assert _keys(merge.release()) == [(9 * S, MARK, 1)]


def test_while_exec_has_a_backlog_the_marks_cannot_overtake_it() -> None:
    merge = InputMerge(hold_ns=S)
    merge.add("X", (2 * S, FACT, 1), "fill")
    merge.add("X", (60 * S, MARK, 1), "mark much later")
    assert _keys(merge.release()) == []  # facts seen up to 2 s: watermark 1 s
    merge.fact_backlog = False
    assert _keys(merge.release()) == [(2 * S, FACT, 1)]


def test_the_cut_restarts_at_the_first_held_input_and_a_replay_skips_what_it_included() -> None:
    merge = _live(InputMerge(hold_ns=0))
    for sequence, ts in ((1, 1), (2, 2), (3, 9)):
        assert merge.delivered(FACT, sequence)
        merge.add("X", (ts * S, FACT, sequence), sequence)
    merge.delivered(MARK, 1)
    merge.add("X", (5 * S, MARK, 1), "mark")
    merge.release()
    cuts = merge.cuts()
    assert cuts.exec_cut == StreamCut(restart=3, delivered=3)
    assert cuts.marks_cut == StreamCut(restart=2, delivered=1)
    assert not merge.delivered(FACT, 2)  # a redelivery

    again = InputMerge(hold_ns=0, cuts=cuts)
    assert again.start_sequence(FACT) == 3
    assert again.replaying()
    assert not again.included("X", (9 * S, FACT, 3))
    again.delivered(FACT, 3)
    assert not again.replaying()


def test_a_replayed_input_below_the_restored_key_is_included_above_it_is_not() -> None:
    cuts = Cuts(
        exec_cut=StreamCut(restart=2, delivered=4),
        marks_cut=StreamCut(restart=1, delivered=0),
        last_keys={"X": (5 * S, MARK, 7)},
    )
    merge = InputMerge(hold_ns=0, cuts=cuts)
    assert merge.included("X", (4 * S, FACT, 3))
    assert not merge.included("X", (6 * S, FACT, 3))
    assert not merge.included("X", (4 * S, FACT, 5))  # delivered after the flush: not in it
