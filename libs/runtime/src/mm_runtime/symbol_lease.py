"""Per-symbol leases: which replica of a service may write a symbol, decided in KV `leases`.

Design. Two (or more) replicas of a writer (the executor, the quoter) each get the full symbol
list and the replica list. Each prefers its share (a sticky hash of the symbol over the replica
list) and holds a lease per symbol in KV bucket `leases`, key `<service>.<SYMBOL>`, value
`{holder, session, epoch, ttl_ms}`. A symbol whose holder stops renewing is PICKED UP by a
survivor once the lease has expired, rather than staying pulled until the holder returns: a desk
in a maker-rebate program loses obligation time (and the rebate tier) for every minute a symbol
is not quoted, while a takeover costs one cancel of the old owner's orders and a fresh ladder.
What it costs: a symbol is unquoted for up to `ttl + poll` after its writer dies, the survivor
carries twice the load, and the single-writer guarantee rests on each holder's own clock rather
than on the venue (see the residual window below).

- Acquire: create-if-absent (epoch 1), or compare-and-set over a free (released) or expired entry
  with epoch + 1. The epoch is the fencing token: every write a holder makes belongs to one epoch,
  and a holder whose renew finds another epoch has lost the symbol.
- Renew: compare-and-set of the same record every `ttl / 3`.
- Local validity: the monotonic time the last successful renew was SENT + ttl - margin. A process
  frozen by SIGSTOP wakes with an expired local lease and stops before it sends anything.
- Expiry, as a contender sees it: the key's revision has not changed for `ttl` (the record's, or
  ours if larger) of the contender's own monotonic time. Since the holder's validity ends before
  ttl after it sent its last renew, and the contender starts counting only after that renew was
  stored, the two intervals never overlap whatever the two wall clocks say.
- Cannot renew (KV down, timeouts) -> the lease runs out locally and the symbol stops being
  written (fail closed): logged, counted, shown in status.
- Garbage value in the key: counted and treated as held by someone else (never ours); it expires
  like any other record and is then overwritten.

Residual window: a holder frozen between its validity check and the socket write can still send
one request after its lease ran out; nothing short of a venue-side fencing token closes that.
Callers check validity in the same synchronous stretch of code that hands the bytes to the
socket, which keeps the window to that stretch (microseconds) plus the kernel's send.

This module is the pure state machine (no I/O); `mm_runtime.lease_keeper` drives it against KV.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec

FREE = ""  # the holder of a released lease
# A replica creates the absent key of a symbol that is not its own share only after this many
# ttls: the start-up skew it allows between replicas (a share taken is not handed back).
ABSENT_GRACE = 3


class LeaseRecord(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The value stored under `<service>.<SYMBOL>` in KV `leases`."""

    holder: str  # instance id of the replica holding it; FREE when released
    session: str  # the holder process's boot id: a restarted replica is a new holder
    epoch: int  # fencing token: +1 on every change of holder
    ttl_ms: int  # how long the holder may go without renewing


def encode_record(record: LeaseRecord) -> bytes:
    return msgspec.json.encode(record)


def decode_record(data: bytes | None) -> LeaseRecord | None:
    """The record, or None when the value is not a valid lease record (the caller counts it)."""
    try:
        record = msgspec.json.decode(data or b"", type=LeaseRecord)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if record.epoch < 0 or record.ttl_ms <= 0:
        return None
    return record


@dataclass(frozen=True)
class LeaseTiming:
    """The lease's time to live and the safety margin a holder keeps below it."""

    ttl_s: float
    margin_s: float

    def __post_init__(self) -> None:
        if not self.ttl_s > 0:
            raise ValueError(f"lease ttl_s must be > 0, was {self.ttl_s}")
        if not 0 <= self.margin_s < self.ttl_s / 3:
            raise ValueError(
                f"lease margin_s must be >= 0 and < ttl_s / 3 ({self.ttl_s / 3:.3f}), "
                f"was {self.margin_s}"
            )

    @property
    def renew_every_s(self) -> float:
        return self.ttl_s / 3

    @property
    def poll_every_s(self) -> float:
        """How often each key is read or renewed (a contender's detection delay)."""
        return self.ttl_s / 6


def preferred_replica(symbol: str, replicas: Sequence[str]) -> str:
    """The replica a symbol belongs to when all are alive: a stable hash, the same everywhere."""
    if not replicas:
        raise ValueError("the replica list is empty")
    digest = hashlib.sha256(symbol.encode()).digest()
    return sorted(replicas)[int.from_bytes(digest[:8], "big") % len(replicas)]


class Step(enum.Enum):
    """What the keeper does next for one symbol."""

    WAIT = "wait"  # someone else holds it (or we do not want it yet)
    CREATE = "create"  # no key: create it with epoch 1
    TAKE = "take"  # free or expired: compare-and-set with epoch + 1
    RENEW = "renew"  # ours and due: compare-and-set the same record
    HOLD = "hold"  # ours, not due
    LOST = "lost"  # we held it and the key says otherwise


@dataclass
class SymbolLease:
    """One symbol's lease as this replica sees it (the key's state and our holding)."""

    symbol: str
    preferred: bool
    epoch: int = 0  # the epoch we hold; 0: not held
    valid_until: float = 0.0  # monotonic; meaningful while epoch > 0
    renewed_at: float = 0.0  # when the last successful renew (or the acquire) was sent
    revision: int = 0  # last revision of the key we read or wrote (0: absent)
    last_epoch: int = 0  # the highest epoch seen in the key
    seen_holder: str = FREE
    seen_since: float | None = None  # when we first saw the current revision
    seen_ttl_s: float = 0.0
    garbage: bool = False
    lost_reason: str = field(default="")

    def valid(self, now: float) -> bool:
        """May this replica write the symbol right now."""
        return self.epoch > 0 and now < self.valid_until

    def observe(self, revision: int, record: LeaseRecord | None, now: float) -> None:
        """Note what the key holds; the expiry clock restarts whenever its revision changes."""
        if revision != self.revision or self.seen_since is None:
            self.revision, self.seen_since = revision, now
        self.garbage = revision > 0 and record is None
        if record is not None:
            self.last_epoch = max(self.last_epoch, record.epoch)
            self.seen_holder, self.seen_ttl_s = record.holder, record.ttl_ms / 1000
        elif revision == 0:
            self.seen_holder, self.seen_ttl_s = FREE, 0.0

    def stale_for(self, now: float, timing: LeaseTiming) -> bool:
        """The key's revision has not moved for a full ttl (the record's or ours, the larger)."""
        ttl = max(self.seen_ttl_s, timing.ttl_s)
        return self.seen_since is not None and now - self.seen_since >= ttl

    def acquired(self, epoch: int, revision: int, sent_at: float, timing: LeaseTiming) -> None:
        self.epoch, self.revision, self.last_epoch = epoch, revision, max(self.last_epoch, epoch)
        self.renewed(revision, sent_at, timing)

    def renewed(self, revision: int, sent_at: float, timing: LeaseTiming) -> None:
        self.revision, self.renewed_at = revision, sent_at
        self.valid_until = sent_at + timing.ttl_s - timing.margin_s

    def drop(self, reason: str) -> None:
        self.epoch, self.valid_until, self.lost_reason = 0, 0.0, reason


def decide(
    lease: SymbolLease,
    record: LeaseRecord | None,
    mine: tuple[str, str],
    now: float,
    timing: LeaseTiming,
) -> Step:
    """The next step for one symbol, given the key just read (`lease.observe` first)."""
    if lease.epoch > 0:
        ours = record is not None and (record.holder, record.session) == mine
        if not ours or record is None or record.epoch != lease.epoch:
            return Step.LOST
        return Step.RENEW if now - lease.renewed_at >= timing.renew_every_s else Step.HOLD
    if lease.revision == 0:
        # No key yet: our own share is created at once; another's only after ABSENT_GRACE ttls
        # of absence, so the replica it belongs to gets it when both start at about one time.
        absent_for = now - (lease.seen_since if lease.seen_since is not None else now)
        wait = ABSENT_GRACE * timing.ttl_s
        return Step.CREATE if lease.preferred or absent_for >= wait else Step.WAIT
    if record is not None and record.holder == FREE:
        return Step.TAKE
    if record is not None and (record.holder, record.session) == mine:
        return Step.TAKE  # our own record we no longer trust (e.g. a renew that timed out)
    return Step.TAKE if lease.stale_for(now, timing) else Step.WAIT


def next_record(lease: SymbolLease, mine: tuple[str, str], timing: LeaseTiming) -> LeaseRecord:
    """The record to write for a CREATE, TAKE or RENEW."""
    epoch = lease.epoch if lease.epoch > 0 else lease.last_epoch + 1
    return LeaseRecord(
        holder=mine[0], session=mine[1], epoch=epoch, ttl_ms=max(1, round(timing.ttl_s * 1000))
    )
