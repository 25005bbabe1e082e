"""Per-verb rate limits on `ctl.<service>.<verb>` requests, applied where the requests are answered.

nats-server permissions say who may send a ctl verb (only the operator user) but cannot limit how
often: it has no per-subject rate limit. So each service checks every ctl request against a token
bucket for its verb before acting, and answers a limited request at once with
`CtlReply(ok=False, message="rate limited: ...")` saying when to retry, instead of acting or
staying silent (silence would read as "service down" to the caller).

The defaults keep the safety verbs (halt, cancel-all) generous, since blocking an emergency stop
would be worse than a burst of them, and the state-changing ones (resume, config-set) tight.

Budgets are per requester (`requester_of`: the bus user and connection behind the reply inbox),
so one noisy client cannot spend another's halt; the least recently seen requesters' buckets are
forgotten beyond `MAX_REQUESTERS` per verb, which only ever gives a forgotten one a full bucket.
Only requests that decode are charged (`mm_runtime.control` decodes first).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from mm_proto import CtlReply
from mm_proto.subjects import CtlVerb


@dataclass(frozen=True)
class VerbLimit:
    """A token bucket: `burst` requests at once, refilled at `per_second`."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not self.per_second > 0:
            raise ValueError(f"per_second must be > 0, was {self.per_second!r}")
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, was {self.burst!r}")


DEFAULT_LIMITS: Final[Mapping[CtlVerb, VerbLimit]] = MappingProxyType(
    {
        CtlVerb.HALT: VerbLimit(per_second=2.0, burst=10),
        CtlVerb.CANCEL_ALL: VerbLimit(per_second=2.0, burst=10),
        CtlVerb.RESUME: VerbLimit(per_second=0.2, burst=2),
        CtlVerb.STATUS: VerbLimit(per_second=50.0, burst=100),  # read-only; monitors poll it
        CtlVerb.CONFIG_GET: VerbLimit(per_second=5.0, burst=10),
        CtlVerb.CONFIG_SET: VerbLimit(per_second=0.5, burst=5),
        CtlVerb.CONFIG_UNSET: VerbLimit(per_second=0.5, burst=5),
        CtlVerb.FLATTEN: VerbLimit(per_second=1.0, burst=5),
    }
)


MAX_REQUESTERS: Final = 256  # buckets kept per verb; the oldest is forgotten beyond this


def requester_of(reply_subject: str) -> str:
    """Who asked: the reply subject without its last token (`_INBOX.<user>.<connection>`).

    nats-py answers every request of one connection under one prefix, so this is the bus user
    and the connection; a request without a reply subject is charged to "".
    """
    return reply_subject.rsplit(".", 1)[0] if "." in reply_subject else reply_subject


@dataclass(frozen=True)
class Admission:
    """Whether one request may proceed, and if not how long until a token is back."""

    allowed: bool
    retry_after_s: float = 0.0


class CtlRateLimiter:
    """One token bucket per verb and requester for one service instance."""

    def __init__(
        self,
        limits: Mapping[CtlVerb, VerbLimit] = DEFAULT_LIMITS,
        clock: Callable[[], float] = time.monotonic,
        max_requesters: int = MAX_REQUESTERS,
    ) -> None:
        missing = sorted(verb.value for verb in CtlVerb if verb not in limits)
        if missing:
            raise ValueError(f"limits must name every ctl verb, missing {missing}")
        self._limits = dict(limits)
        self._clock = clock
        self._max_requesters = max_requesters
        # verb -> requester -> (tokens, last update), least recently seen first
        self._buckets: dict[CtlVerb, OrderedDict[str, tuple[float, float]]] = {
            verb: OrderedDict() for verb in self._limits
        }
        self.refused = dict.fromkeys(self._limits, 0)  # for a metric or a status line

    def admit(self, verb: CtlVerb | str, requester: str = "") -> Admission:
        """Take a token for `verb` from `requester`'s bucket; otherwise say when one will be."""
        verb = _verb(verb)
        limit = self._limits[verb]
        buckets = self._buckets[verb]
        now = self._clock()
        tokens, updated = buckets.pop(requester, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + max(0.0, now - updated) * limit.per_second)
        allowed = tokens >= 1.0
        buckets[requester] = (tokens - 1.0 if allowed else tokens, now)
        while len(buckets) > self._max_requesters:
            buckets.popitem(last=False)
        if allowed:
            return Admission(allowed=True)
        self.refused[verb] += 1
        return Admission(allowed=False, retry_after_s=(1.0 - tokens) / limit.per_second)

    def refusal(self, verb: CtlVerb | str, admission: Admission) -> CtlReply:
        """The reply to a limited request: what was limited, the limit and when to retry."""
        verb = _verb(verb)
        limit = self._limits[verb]
        return CtlReply(
            ok=False,
            message=(
                f"rate limited: {verb.value} allows {limit.burst} at once and "
                f"{limit.per_second:g}/s, retry in {admission.retry_after_s:.1f}s"
            ),
            data={"retry_after_s": f"{admission.retry_after_s:.3f}"},
        )


def limits_from_mapping(values: Mapping[str, tuple[float, int]]) -> dict[CtlVerb, VerbLimit]:
    """Defaults overridden by `{"config-set": (per_second, burst), ...}` (e.g. from settings)."""
    limits = dict(DEFAULT_LIMITS)
    for name, (per_second, burst) in values.items():
        limits[_verb(name)] = VerbLimit(per_second=per_second, burst=burst)
    return limits


def _verb(verb: CtlVerb | str) -> CtlVerb:
    if isinstance(verb, CtlVerb):
        return verb
    known = sorted(item.value for item in CtlVerb)
    if verb not in known:
        raise ValueError(f"ctl verb must be one of {known}, was {verb!r}")
    return CtlVerb(verb)
