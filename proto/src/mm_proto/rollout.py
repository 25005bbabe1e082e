"""The canary rollout's state (KV `rollout`, key `state`) and its transitions (stream ROLLOUT).

A candidate parameter set (`color`, normally green) quotes the symbols in `green_symbols` while
every other symbol keeps the live config (blue). `RolloutState` is the one record of where a
rollout stands; the quoter reads it to pick each symbol's parameters, the controller (`mm rollout`)
writes it. `RolloutEvent` is one transition with its reason and the KPI figures that caused it.

No judge, no canary: the controller stamps `ts_evaluated_ns` on every look while a rollout ramps,
and a quoter that has seen neither a look nor a transition for `unjudged_after_ns` (a few of the
controller's intervals: the one bound both sides derive from `LOOK_INTERVAL_S`) quotes every
symbol with blue's parameters until the controller looks again.
"""

import math

import msgspec

from mm_proto.message import Color, Message, TimestampNs

# The phases of a rollout: only RAMPING puts any symbol on the candidate.
RAMPING = "ramping"
PROMOTED = "promoted"  # the candidate is now the live config (blue)
ROLLED_BACK = "rolled_back"  # a breach sent every symbol back to blue
ABORTED = "aborted"  # the operator sent every symbol back to blue
PHASES = (RAMPING, PROMOTED, ROLLED_BACK, ABORTED)

LOOK_INTERVAL_S = 5.0  # the controller's time between looks (`mm rollout run --interval`)
MAX_LOOK_INTERVAL_S = 60.0  # a slower controller would leave a bad green quoting too long
MISSED_LOOKS = 3  # looks missed in a row before the quoter stops trusting the rollout
_NS = 1_000_000_000


def unjudged_after_ns(look_interval_s: float = LOOK_INTERVAL_S) -> int:
    """How long after the controller's last look a ramping rollout counts as unjudged (ns);
    ValueError for an interval that is not a number of seconds in (0, MAX_LOOK_INTERVAL_S]."""
    if not (math.isfinite(look_interval_s) and 0 < look_interval_s <= MAX_LOOK_INTERVAL_S):
        raise ValueError(
            f"the rollout controller's look interval must be in (0, {MAX_LOOK_INTERVAL_S:g}] s, "
            f"was {look_interval_s!r}"
        )
    return round(MISSED_LOOKS * look_interval_s * _NS)


class RolloutState(Message, frozen=True, kw_only=True, tag="rollout_state"):
    """Where one rollout stands; written whole on every transition (compare-and-set)."""

    rollout_id: str
    phase: str  # one of PHASES
    candidate: dict[str, str]  # quoter field -> JSON of its value, over blue's values
    color: Color = "green"
    ramp_pct: list[int]  # the share of symbols on the candidate at each step, rising to 100
    step_index: int = 0
    split_pct: int = 0  # the share in force (<= ramp_pct[step_index]; 0 once ended)
    symbols: list[str]  # the symbols the rollout spans, in sticky-hash order
    green_symbols: list[str] = []  # those quoting the candidate now
    step_window_s: int  # how long green must pass the gate before the next step
    cooldown_s: int  # after a rollback or abort, how long before a new rollout may start
    tolerance_bps: str  # how much worse than blue green may be, in bps (a decimal string)
    # The gate's thresholds for green (a `[gate]` table as JSON values), fixed at start so that
    # every evaluation, by whichever controller process, judges by the same rules.
    gate: dict[str, str] = {}
    seq: int = 0  # transitions so far: a retried transition repeats its event's id
    action: str = ""  # the last transition: "start", "advance", "promote", "rollback", "abort"
    reason: str = ""  # why the last transition happened
    kpis: dict[str, str] = {}  # the figures behind the last transition (its event's `kpis`)
    ts_started_ns: TimestampNs
    ts_step_started_ns: TimestampNs
    ts_changed_ns: TimestampNs
    ts_evaluated_ns: TimestampNs = 0  # the controller's last look (even when nothing changed)

    @property
    def ts_judged_ns(self) -> int:
        """When a controller or an operator last acted on this state: its last look or change."""
        return max(self.ts_evaluated_ns, self.ts_changed_ns)


class RolloutEvent(Message, frozen=True, kw_only=True, tag="rollout_event"):
    """One transition of a rollout: what it did, why, and the KPIs behind it."""

    venue: str
    category: str
    rollout_id: str
    seq: int
    action: str  # "start", "advance", "promote", "rollback", "abort"
    phase: str
    step_index: int
    split_pct: int
    green_symbols: list[str] = []
    reason: str
    kpis: dict[str, str] = msgspec.field(default_factory=dict)  # figure name -> value
    ts_event_ns: TimestampNs
