"""Per-verb token buckets for ctl requests: bursts pass, the excess gets a clear refusal."""

from __future__ import annotations

import pytest

from mm_proto import CtlReply, decode, encode
from mm_proto.subjects import CtlVerb
from mm_runtime.ctl_limits import (
    DEFAULT_LIMITS,
    CtlRateLimiter,
    VerbLimit,
    limits_from_mapping,
    requester_of,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _limiter(per_second: float = 1.0, burst: int = 2) -> tuple[CtlRateLimiter, FakeClock]:
    clock = FakeClock()
    limits = {**DEFAULT_LIMITS, CtlVerb.CONFIG_SET: VerbLimit(per_second, burst)}
    return CtlRateLimiter(limits, clock=clock), clock


def test_burst_passes_then_refuses_with_retry_time() -> None:
    limiter, _clock = _limiter(per_second=0.5, burst=2)
    assert limiter.admit("config-set").allowed
    assert limiter.admit(CtlVerb.CONFIG_SET).allowed
    refused = limiter.admit("config-set")
    assert not refused.allowed
    assert refused.retry_after_s == pytest.approx(2.0)
    assert limiter.refused[CtlVerb.CONFIG_SET] == 1


def test_tokens_refill_at_the_rate_and_cap_at_burst() -> None:
    limiter, clock = _limiter(per_second=1.0, burst=2)
    assert limiter.admit("config-set").allowed
    assert limiter.admit("config-set").allowed
    clock.now += 0.5
    assert not limiter.admit("config-set").allowed
    clock.now += 0.5
    assert limiter.admit("config-set").allowed
    clock.now += 1000.0  # a long pause refills to the burst, not beyond
    assert [limiter.admit("config-set").allowed for _ in range(3)] == [True, True, False]


def test_verbs_are_limited_independently() -> None:
    limiter, _clock = _limiter(per_second=1.0, burst=1)
    assert limiter.admit("config-set").allowed
    assert not limiter.admit("config-set").allowed
    assert limiter.admit("status").allowed
    assert limiter.admit("halt").allowed


def test_refusal_reply_names_verb_limit_and_retry() -> None:
    limiter, _clock = _limiter(per_second=0.5, burst=1)
    limiter.admit("config-set")
    admission = limiter.admit("config-set")
    reply = limiter.refusal("config-set", admission)
    assert reply.ok is False
    assert reply.message == "rate limited: config-set allows 1 at once and 0.5/s, retry in 2.0s"
    assert reply.data == {"retry_after_s": "2.000"}


def test_a_clock_going_backwards_adds_no_tokens() -> None:
    limiter, clock = _limiter(per_second=1.0, burst=1)
    assert limiter.admit("config-set").allowed
    clock.now -= 50.0
    assert not limiter.admit("config-set").allowed


def test_unknown_verb_is_refused_with_the_known_ones() -> None:
    limiter, _clock = _limiter()
    with pytest.raises(ValueError, match=r"ctl verb must be one of .*, was 'reboot'"):
        limiter.admit("reboot")
    with pytest.raises(ValueError, match=r"ctl verb must be one of \['cancel-all'"):
        limits_from_mapping({"reboot": (1.0, 1)})


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="per_second must be > 0, was 0"):
        VerbLimit(per_second=0, burst=1)
    with pytest.raises(ValueError, match="burst must be >= 1, was 0"):
        VerbLimit(per_second=1, burst=0)
    with pytest.raises(ValueError, match=r"missing \['halt'\]"):
        CtlRateLimiter(
            {verb: limit for verb, limit in DEFAULT_LIMITS.items() if verb.value != "halt"}
        )


def test_overrides_keep_the_other_defaults() -> None:
    limits = limits_from_mapping({"status": (100.0, 200)})
    assert limits[CtlVerb.STATUS] == VerbLimit(100.0, 200)
    assert limits[CtlVerb.HALT] == DEFAULT_LIMITS[CtlVerb.HALT]


def test_refusal_travels_as_a_ctl_reply() -> None:
    limiter, _clock = _limiter(per_second=1.0, burst=1)
    limiter.admit("config-set")
    reply = limiter.refusal("config-set", limiter.admit("config-set"))
    decoded = decode(encode(reply), CtlReply)
    assert decoded == reply


def test_each_requester_has_its_own_bucket_and_old_ones_are_forgotten() -> None:
    clock = FakeClock()
    limits = {**DEFAULT_LIMITS, CtlVerb.CONFIG_SET: VerbLimit(0.001, 1)}
    limiter = CtlRateLimiter(limits, clock=clock, max_requesters=2)
    assert limiter.admit("config-set", "a").allowed
    assert not limiter.admit("config-set", "a").allowed
    assert limiter.admit("config-set", "b").allowed
    assert limiter.admit("config-set", "c").allowed  # "a" is the least recently seen: forgotten
    assert limiter.admit("config-set", "a").allowed


def test_the_requester_is_the_connection_behind_the_reply_inbox() -> None:
    assert requester_of("_INBOX.operator.AbC123.7") == "_INBOX.operator.AbC123"
    assert requester_of("") == ""
