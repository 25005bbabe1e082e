"""`--shard i/n`: every symbol goes to exactly one replica, and stays there as the list changes."""

import pytest

from md_gateway.sharding import Shard, parse_shard, shard_symbols

SYMBOLS = [f"COIN{number}USDT" for number in range(200)]


@pytest.mark.parametrize(
    ("text", "expected"), [("0/1", Shard(0, 1)), ("2/3", Shard(2, 3)), (" 1 / 4 ", Shard(1, 4))]
)
def test_shard_specs_parse(text: str, expected: Shard) -> None:
    assert parse_shard(text) == expected
    assert str(parse_shard(text)) == f"{expected.index}/{expected.count}"


@pytest.mark.parametrize("text", ["", "1", "a/b", "1/2/3", "-1/2", "0.5/2"])
def test_malformed_shard_specs_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"shard must look like i/n"):
        parse_shard(text)


@pytest.mark.parametrize("text", ["2/2", "0/0", "5/3"])
def test_out_of_range_shards_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"0 <= i < n"):
        parse_shard(text)


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_every_symbol_is_owned_by_exactly_one_replica(count: int) -> None:
    shares = [shard_symbols(SYMBOLS, Shard(index, count)) for index in range(count)]

    owned = [symbol for share in shares for symbol in share]
    assert sorted(owned) == sorted(SYMBOLS)
    assert all(share for share in shares)


def test_adding_or_removing_symbols_never_moves_the_others() -> None:
    shard = Shard(1, 3)
    before = set(shard_symbols(SYMBOLS, shard))

    grown = set(shard_symbols([*SYMBOLS, "NEWUSDT", "OTHERUSDT"], shard))
    shrunk = set(shard_symbols(SYMBOLS[50:], shard))

    assert before <= grown
    assert shrunk == before - set(SYMBOLS[:50])


def test_a_share_keeps_the_given_order() -> None:
    share = shard_symbols(SYMBOLS, Shard(0, 2))

    assert share == [symbol for symbol in SYMBOLS if symbol in set(share)]
