"""What risk decides and why: limit check outcomes and the kill switch state."""

from mm_proto.message import Message, TimestampNs


class RiskEvent(Message, frozen=True, kw_only=True, tag="risk_event"):
    """The outcome of one limit check that did more than pass silently."""

    venue: str
    category: str
    symbol: str  # "" for a portfolio-wide check
    check: str  # the limit's name, e.g. "max_position"
    outcome: str  # "pass", "reduce", "block" or "halt"
    limit: str  # the configured limit, decimal string
    observed: str  # the value that was checked against it, decimal string
    detail: str
    ts_event_ns: TimestampNs


class HaltState(Message, frozen=True, kw_only=True, tag="halt_state"):
    """The kill switch: while halted, no new orders and all resting ones cancelled."""

    halted: bool
    reason: str
    by: str  # operator name or the automatic check that tripped it
    ts_changed_ns: TimestampNs
    # True for an automatic halt whose condition can clear (feed down, heartbeat lost, EXEC lag,
    # position mismatch): risk lifts it by itself once clear. False: only a resume lifts it.
    transient: bool = False
