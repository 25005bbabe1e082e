"""The lease state machine: validity, expiry as a contender sees it, the steps, bad values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mm_runtime.symbol_lease import (
    FREE,
    LeaseRecord,
    LeaseTiming,
    Step,
    SymbolLease,
    decide,
    decode_record,
    encode_record,
    next_record,
    preferred_replica,
)

TIMING = LeaseTiming(ttl_s=3.0, margin_s=0.3)
ME = ("ex0", "boot1")
OTHER = ("ex1", "boot9")


def record(holder: tuple[str, str], epoch: int, ttl_ms: int = 3000) -> LeaseRecord:
    return LeaseRecord(holder=holder[0], session=holder[1], epoch=epoch, ttl_ms=ttl_ms)


@pytest.mark.parametrize(("ttl", "margin"), [(0, 0), (-1, 0), (3, -0.1), (3, 1.0), (3, 5)])
def test_a_lease_timing_with_a_non_positive_ttl_or_a_margin_out_of_range_is_refused(
    ttl: float, margin: float
) -> None:
    with pytest.raises(ValueError, match="lease"):
        LeaseTiming(ttl_s=ttl, margin_s=margin)


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"not json",
        b"{}",
        b'{"holder": "ex0", "session": "b", "epoch": 1}',
        b'{"holder": "ex0", "session": "b", "epoch": -1, "ttl_ms": 3000}',
        b'{"holder": "ex0", "session": "b", "epoch": 1, "ttl_ms": 0}',
        b'{"holder": 5, "session": "b", "epoch": 1, "ttl_ms": 3000}',
        b'{"holder": "ex0", "session": "b", "epoch": 1, "ttl_ms": 3000, "extra": 1}',
        b"\xff\xfe",
    ],
)
def test_a_value_that_is_not_a_lease_record_decodes_as_none(value: bytes) -> None:
    assert decode_record(value) is None


@given(
    holder=st.text(min_size=0, max_size=10),
    epoch=st.integers(min_value=0, max_value=2**40),
    ttl_ms=st.integers(min_value=1, max_value=10**7),
)
def test_every_valid_record_survives_encoding(holder: str, epoch: int, ttl_ms: int) -> None:
    original = LeaseRecord(holder=holder, session="s", epoch=epoch, ttl_ms=ttl_ms)
    assert decode_record(encode_record(original)) == original


@given(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=5, unique=True))
def test_the_preferred_replica_is_one_of_the_list_and_the_same_in_any_order(
    replicas: list[str],
) -> None:
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        chosen = preferred_replica(symbol, replicas)
        assert chosen in replicas
        assert preferred_replica(symbol, list(reversed(replicas))) == chosen


def test_a_lease_is_valid_until_ttl_minus_margin_after_the_renew_was_sent() -> None:
    lease = SymbolLease("BTCUSDT", preferred=True)
    lease.acquired(epoch=1, revision=5, sent_at=100.0, timing=TIMING)
    assert lease.valid(102.69)
    assert not lease.valid(102.7)
    lease.renewed(revision=6, sent_at=101.0, timing=TIMING)
    assert lease.valid(103.69)
    assert not lease.valid(103.7)


@given(
    sent=st.floats(min_value=0, max_value=1e6),
    write_delay=st.floats(min_value=0, max_value=5),
    observe_delay=st.floats(min_value=0, max_value=5),
    ttl=st.floats(min_value=0.1, max_value=60),
)
def test_a_contender_never_sees_expiry_while_the_holder_still_thinks_it_is_valid(
    sent: float, write_delay: float, observe_delay: float, ttl: float
) -> None:
    """The holder's validity starts when it sent; the contender counts from when it saw the
    write, which is later: their intervals cannot overlap."""
    timing = LeaseTiming(ttl_s=ttl, margin_s=ttl / 10)
    holder = SymbolLease("BTCUSDT", preferred=True)
    holder.acquired(epoch=1, revision=7, sent_at=sent, timing=timing)
    contender = SymbolLease("BTCUSDT", preferred=False)
    seen_at = sent + write_delay + observe_delay
    contender.observe(7, record(OTHER, 1, round(ttl * 1000)), seen_at)
    for now in (seen_at, seen_at + ttl * 0.5, seen_at + ttl * 0.999, seen_at + ttl):
        assert not (holder.valid(now) and contender.stale_for(now, timing))


def observed(preferred: bool, revision: int, value: LeaseRecord | None, at: float) -> SymbolLease:
    lease = SymbolLease("BTCUSDT", preferred=preferred)
    lease.observe(revision, value, at)
    return lease


def test_an_absent_key_is_created_at_once_by_its_preferred_replica_and_late_by_others() -> None:
    assert decide(observed(True, 0, None, 0.0), None, ME, 0.0, TIMING) is Step.CREATE
    assert decide(observed(False, 0, None, 0.0), None, ME, 8.9, TIMING) is Step.WAIT
    assert decide(observed(False, 0, None, 0.0), None, ME, 9.0, TIMING) is Step.CREATE


def test_another_holders_lease_is_taken_only_after_its_revision_stood_still_for_a_ttl() -> None:
    theirs = record(OTHER, 4)
    lease = observed(True, 10, theirs, 50.0)
    assert decide(lease, theirs, ME, 52.9, TIMING) is Step.WAIT
    lease.observe(11, theirs, 52.9)  # renewed: the clock starts again
    assert decide(lease, theirs, ME, 55.0, TIMING) is Step.WAIT
    assert decide(lease, theirs, ME, 55.9, TIMING) is Step.TAKE
    assert next_record(lease, ME, TIMING).epoch == 5


def test_a_longer_ttl_in_the_record_is_respected_by_the_contender() -> None:
    theirs = record(OTHER, 1, ttl_ms=10_000)
    lease = observed(False, 3, theirs, 0.0)
    assert decide(lease, theirs, ME, 5.0, TIMING) is Step.WAIT
    assert decide(lease, theirs, ME, 10.0, TIMING) is Step.TAKE


def test_a_released_lease_is_taken_at_once_with_the_next_epoch() -> None:
    free = LeaseRecord(holder=FREE, session="", epoch=7, ttl_ms=1)
    lease = observed(False, 20, free, 0.0)
    assert decide(lease, free, ME, 0.0, TIMING) is Step.TAKE
    assert next_record(lease, ME, TIMING).epoch == 8


def test_a_garbage_value_is_never_ours_and_is_taken_only_after_a_ttl() -> None:
    lease = observed(True, 9, None, 0.0)
    assert lease.garbage
    assert decide(lease, None, ME, 1.0, TIMING) is Step.WAIT
    assert decide(lease, None, ME, 3.0, TIMING) is Step.TAKE


def test_a_holder_renews_when_due_and_loses_when_the_key_names_another_epoch_or_holder() -> None:
    mine = record(ME, 2)
    lease = observed(True, 4, mine, 0.0)
    lease.acquired(epoch=2, revision=4, sent_at=0.0, timing=TIMING)
    assert decide(lease, mine, ME, 0.5, TIMING) is Step.HOLD
    assert decide(lease, mine, ME, 1.0, TIMING) is Step.RENEW
    assert decide(lease, record(OTHER, 3), ME, 1.0, TIMING) is Step.LOST
    assert decide(lease, record(ME, 3), ME, 1.0, TIMING) is Step.LOST
    assert decide(lease, record(("ex0", "other boot"), 2), ME, 1.0, TIMING) is Step.LOST
    assert decide(lease, None, ME, 1.0, TIMING) is Step.LOST


@given(
    events=st.lists(
        st.tuples(st.sampled_from(["a", "b"]), st.floats(min_value=0, max_value=2)),
        max_size=40,
    )
)
def test_two_replicas_deciding_against_one_compare_and_set_key_never_both_hold_it(
    events: list[tuple[str, float]],
) -> None:
    """A model of the KV key (revision + record, writes only if the revision matches) with two
    replicas stepping at random times: at no instant are both locally valid."""
    names = {"a": ("a", "s"), "b": ("b", "s")}
    leases = {"a": SymbolLease("X", preferred=True), "b": SymbolLease("X", preferred=False)}
    key: tuple[int, LeaseRecord | None] = (0, None)
    now = 0.0
    for who, advance in events:
        now += advance
        lease, mine = leases[who], names[who]
        revision, value = key
        lease.observe(revision, value, now)
        step = decide(lease, value, mine, now, TIMING)
        if step is Step.LOST:
            lease.drop("lost")
        elif step in (Step.CREATE, Step.TAKE, Step.RENEW) and lease.revision == revision:
            new = next_record(lease, mine, TIMING)
            key = (revision + 1, new)
            if step is Step.RENEW:
                lease.renewed(revision + 1, now, TIMING)
            else:
                lease.acquired(new.epoch, revision + 1, now, TIMING)
        assert not (leases["a"].valid(now) and leases["b"].valid(now))
