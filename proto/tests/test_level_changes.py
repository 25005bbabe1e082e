"""How many orders a change of one ladder side asks to move, counted one way everywhere."""

from __future__ import annotations

from mm_proto import QuoteLevel
from mm_proto.quoting import level_changes


def levels(*pairs: tuple[int, int]) -> list[QuoteLevel]:
    return [QuoteLevel(price_ticks=price, size_lots=size) for price, size in pairs]


def test_an_unchanged_side_asks_for_nothing() -> None:
    assert level_changes(levels((100, 5), (99, 5)), levels((100, 5), (99, 5))) == 0


def test_a_moved_or_resized_level_is_one_amend() -> None:
    assert level_changes(levels((100, 5), (99, 5)), levels((101, 5), (99, 5))) == 1
    assert level_changes(levels((100, 5)), levels((100, 7))) == 1


def test_added_or_removed_levels_count_whichever_are_more() -> None:
    assert level_changes([], levels((100, 5), (99, 5))) == 2
    assert level_changes(levels((100, 5), (99, 5), (98, 5)), levels((100, 5))) == 2
    assert level_changes(levels((100, 5)), levels((101, 5), (102, 5), (103, 5))) == 3
