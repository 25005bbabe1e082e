"""Client order ids: venue-valid, unique within a process and across restarts, recognisable."""

from __future__ import annotations

import re

import pytest

from executor.client_ids import MAX_LENGTH, ClientIdFactory, base36, color_of


def test_ids_fit_the_venues_orderlinkid_rules_and_do_not_repeat() -> None:
    factory = ClientIdFactory("mm", "0")
    ids = [factory.next_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,36}", identifier) for identifier in ids)


def test_a_restarted_process_never_repeats_an_id_of_an_earlier_one() -> None:
    first = ClientIdFactory("mm", "0", boot_ms=1_700_000_000_000)
    second = ClientIdFactory("mm", "0", boot_ms=1_700_000_000_001)
    assert {first.next_id() for _ in range(100)}.isdisjoint({second.next_id() for _ in range(100)})


def test_ids_of_any_earlier_process_of_the_same_instance_are_recognised_as_own() -> None:
    earlier = ClientIdFactory("mm", "a", boot_ms=1).next_id()
    now = ClientIdFactory("mm", "a")
    assert now.is_own(earlier)
    assert not now.is_own(ClientIdFactory("mm", "b").next_id())
    assert not now.is_own("manual-order")


def test_prefix_with_forbidden_characters_is_refused() -> None:
    with pytest.raises(ValueError, match="letters, digits"):
        ClientIdFactory("m.m", "0")


def test_prefix_that_leaves_no_room_for_a_counter_is_refused() -> None:
    with pytest.raises(ValueError, match="shorten"):
        ClientIdFactory("x" * 20, "y" * 8)


def test_base36_round_trips() -> None:
    for value in (0, 1, 35, 36, 1_700_000_000_000):
        assert int(base36(value), 36) == value
    assert len(ClientIdFactory("mm", "0").next_id()) <= MAX_LENGTH


def test_a_color_rides_in_the_id_and_is_read_back_from_it() -> None:
    ids = ClientIdFactory("mm", "ex0", boot_ms=1_700_000_000_000)
    green = ids.next_id("green")
    assert green.endswith("_green")
    assert len(green) <= MAX_LENGTH
    assert (color_of(green), color_of(ids.next_id())) == ("green", "blue")
    assert ids.is_own(green)


def test_ids_of_other_writers_read_as_the_default_color() -> None:
    assert [color_of(text) for text in ("", "manual-order", "mm-ex0-abc-1_BAD!", "x_")] == [
        "blue"
    ] * 4


def test_a_color_outside_the_alphabet_or_too_long_for_the_id_is_refused() -> None:
    with pytest.raises(ValueError, match="lowercase letters or digits"):
        ClientIdFactory("mm", "ex0").next_id("Green")
    crowded = ClientIdFactory("mmprefix", "instance1", boot_ms=1_700_000_000_000)
    with pytest.raises(ValueError, match="shorten the prefix"):
        crowded.next_id("abcdefgh")
