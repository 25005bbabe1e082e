"""A reconciliation baseline against the fills it raced, told apart by the venue's `seq`.

The baseline is the venue's position read at some moment; a fill can reach risk before a
baseline that does not include it, or after a baseline that does. Each case below is one order
of arrival; the position must end where the venue's is, and no mismatch may trip.
"""

from __future__ import annotations

from decimal import Decimal

from mm_proto import Grid
from risk.engine import HaltStatus, RiskEngine
from risk.limits import KillSwitchLimits, RiskLimits, SymbolLimits
from risk.portfolio import Portfolio

S = 1_000_000_000
START = 1_000 * S
ETH = Grid("ETHUSDT", Decimal("0.01"), Decimal("0.01"))
LIMITS = RiskLimits(
    default=SymbolLimits(max_position_lots=10, max_order_lots=10),
    kill_switch=KillSwitchLimits(position_mismatch_snapshots=2),
)
ENTRY = Decimal(300_000)


def engine() -> RiskEngine:
    return RiskEngine({"ETHUSDT": ETH}, LIMITS, HaltStatus(), START)


def fill(
    risk: RiskEngine,
    fill_id: str,
    lots: int,
    seq: int | None,
    price: int = 300_000,
    received_ns: int | None = None,
) -> None:
    trip = risk.on_fill(
        "ETHUSDT", fill_id, lots, price, Decimal(0), START, seq, received_ns=received_ns
    )
    assert trip is None


def check_twice(risk: RiskEngine, venue_lots: int) -> None:
    """Two position pushes from the venue: a disagreement would trip on the second."""
    assert risk.on_position("ETHUSDT", venue_lots) is None
    assert risk.on_position("ETHUSDT", venue_lots) is None


def test_a_fill_matched_after_the_read_and_landing_before_the_baseline_is_applied_again() -> None:
    risk = engine()
    fill(risk, "a", -1, seq=100)
    fill(risk, "b", -1, seq=107)  # matched after the venue's read at seq 100
    assert risk.on_position("ETHUSDT", -1, ENTRY, seq=100) is None
    assert risk.portfolio.position_lots("ETHUSDT") == -2
    check_twice(risk, -2)
    assert risk.take_baseline_effects() == {"included": 0, "reapplied": 1}


def test_a_fill_the_baseline_includes_landing_after_it_does_not_move_the_position() -> None:
    risk = engine()
    fill(risk, "a", -1, seq=100)
    assert risk.on_position("ETHUSDT", -2, ENTRY, seq=107) is None  # includes fill b
    fill(risk, "b", -1, seq=107)
    assert risk.portfolio.position_lots("ETHUSDT") == -2
    check_twice(risk, -2)
    assert risk.take_baseline_effects() == {"included": 1, "reapplied": 0}


def test_a_fill_newer_than_the_baseline_landing_after_it_counts() -> None:
    risk = engine()
    assert risk.on_position("ETHUSDT", -1, ENTRY, seq=100) is None
    fill(risk, "b", -1, seq=101)
    assert risk.portfolio.position_lots("ETHUSDT") == -2


def test_fills_sharing_a_seq_are_all_included_or_all_applied_again() -> None:
    included = engine()
    assert included.on_position("ETHUSDT", 3, ENTRY, seq=200) is None
    fill(included, "a", 1, seq=200)
    fill(included, "b", 2, seq=200)
    assert included.portfolio.position_lots("ETHUSDT") == 3
    applied_again = engine()
    fill(applied_again, "a", 1, seq=200)
    fill(applied_again, "b", 2, seq=200)
    assert applied_again.on_position("ETHUSDT", 0, Decimal(0), seq=199) is None
    assert applied_again.portfolio.position_lots("ETHUSDT") == 3
    check_twice(applied_again, 3)


def test_a_never_traded_baseline_drops_fills_from_an_earlier_life_of_the_venue() -> None:
    risk = engine()
    fill(risk, "a", 4, seq=500)  # before the simulator restarted
    assert risk.on_position("ETHUSDT", 0, Decimal(0), seq=-1) is None
    assert risk.portfolio.position_lots("ETHUSDT") == 0
    fill(risk, "b", 1, seq=900)  # the new life's first fill
    assert risk.portfolio.position_lots("ETHUSDT") == 1


def test_a_new_life_fill_landing_before_a_never_traded_baseline_read_before_it_counts() -> None:
    # The venue restarted fresh: its first fill matched after the executor's read (which saw no
    # trade) but reached risk before that read's baseline. The earlier life's fill is dropped.
    risk = engine()
    fill(risk, "old", 4, seq=500, received_ns=START - 60 * S)  # before the simulator restarted
    fill(risk, "new", -1, seq=900, received_ns=START + 2 * S)
    assert risk.on_position("ETHUSDT", 0, Decimal(0), seq=-1, read_ns=START + S) is None
    assert risk.portfolio.position_lots("ETHUSDT") == -1
    fill(risk, "next", -1, seq=905, received_ns=START + 3 * S)
    assert risk.portfolio.position_lots("ETHUSDT") == -2
    check_twice(risk, -2)
    assert risk.take_baseline_effects() == {"included": 0, "reapplied": 1}


def test_a_never_traded_baseline_without_a_read_time_drops_every_held_fill() -> None:
    risk = engine()
    fill(risk, "a", -1, seq=900, received_ns=START + 2 * S)
    assert risk.on_position("ETHUSDT", 0, Decimal(0), seq=-1) is None
    assert risk.portfolio.position_lots("ETHUSDT") == 0


def test_a_held_fill_without_a_receive_time_is_dropped_by_a_never_traded_baseline() -> None:
    risk = engine()
    fill(risk, "a", -1, seq=900)
    assert risk.on_position("ETHUSDT", 0, Decimal(0), seq=-1, read_ns=START) is None
    assert risk.portfolio.position_lots("ETHUSDT") == 0


def test_without_seq_the_baseline_replaces_the_position_and_every_fill_counts() -> None:
    risk = engine()
    fill(risk, "a", -1, seq=None)
    assert risk.on_position("ETHUSDT", -1, ENTRY, seq=None) is None
    fill(risk, "b", -1, seq=None)
    assert risk.portfolio.position_lots("ETHUSDT") == -2
    fill(risk, "c", -1, seq=50)  # sequenced fill after an unsequenced baseline
    assert risk.portfolio.position_lots("ETHUSDT") == -3
    assert risk.take_baseline_effects() == {"included": 0, "reapplied": 0}


def test_an_unsequenced_fill_landing_before_a_sequenced_baseline_is_not_applied_again() -> None:
    risk = engine()
    fill(risk, "a", -1, seq=None)
    assert risk.on_position("ETHUSDT", -3, ENTRY, seq=40) is None
    assert risk.portfolio.position_lots("ETHUSDT") == -3


def test_a_later_baseline_settles_fills_an_earlier_one_applied_again() -> None:
    risk = engine()
    fill(risk, "a", 2, seq=10)
    assert risk.on_position("ETHUSDT", 0, Decimal(0), seq=5) is None
    assert risk.portfolio.position_lots("ETHUSDT") == 2
    assert risk.on_position("ETHUSDT", 2, ENTRY, seq=10) is None
    assert risk.portfolio.position_lots("ETHUSDT") == 2
    assert risk.on_position("ETHUSDT", 2, ENTRY, seq=8) is None  # a stale read: nothing newer held
    assert risk.portfolio.position_lots("ETHUSDT") == 2


def test_an_included_fill_still_books_its_fee_and_the_pnl_it_realized() -> None:
    book = Portfolio({"ETHUSDT": ETH})
    book.apply_fill("ETHUSDT", "open", 2, 300_000, Decimal(0), seq=1)
    book.apply_position("ETHUSDT", 1, Decimal(300_000), seq=2)  # includes the close below
    book.apply_fill("ETHUSDT", "close", -1, 300_100, Decimal("0.5"), seq=2)
    assert book.position_lots("ETHUSDT") == 1
    # 1 lot (0.01 ETH) closed 100 ticks (1.00 USDT) up: 0.01 realized, less the 0.5 fee.
    assert book.position("ETHUSDT").realized_pnl == Decimal("0.01") - Decimal("0.5")


def test_a_stored_portfolio_keeps_the_baseline_seq_across_a_restart() -> None:
    book = Portfolio({"ETHUSDT": ETH})
    book.apply_position("ETHUSDT", -2, ENTRY, seq=107)
    restarted = Portfolio({"ETHUSDT": ETH})
    restarted.restore(book.snapshot())
    restarted.apply_fill("ETHUSDT", "late", -1, 300_000, Decimal("0.1"), seq=107)
    assert restarted.position_lots("ETHUSDT") == -2
    assert restarted.position("ETHUSDT").realized_pnl == Decimal("-0.1")


def test_a_snapshot_written_before_baselines_had_seq_restores_without_one() -> None:
    book = Portfolio({"ETHUSDT": ETH})
    book.restore(
        {"ETHUSDT": {"size_lots": "-2", "entry_price_ticks": "300000", "realized_pnl": "0"}}
    )
    assert book.baseline_seq("ETHUSDT") is None
    book.apply_fill("ETHUSDT", "x", -1, 300_000, seq=1)
    assert book.position_lots("ETHUSDT") == -3
