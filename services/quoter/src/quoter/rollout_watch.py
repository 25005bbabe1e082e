"""Whether the stored canary rollout is in force: no judge, no canary.

The rollout's controller (`mm rollout run`) is the only thing that rolls a bad candidate back.
While a rollout ramps it stamps `ts_evaluated_ns` on every look; when neither a look nor a
transition has come for `unjudged_after_ns` (a few of its intervals, `mm_proto.rollout`), the
rollout counts as unjudged and every symbol quotes blue's parameters, with the reason in the
quoter's status, the log and `quoter_rollout_suspended_total`. The candidate comes back by
itself once the controller looks again. A state that decodes but cannot be a controller's
(stamped in the future, green symbols outside the rollout, a split beyond its step) is not
trusted either: blue, counted under `forged`.
"""

from __future__ import annotations

import logging

from mm_proto.rollout import PHASES, RAMPING, RolloutState
from quoter.metrics import QuoterMetrics

_log = logging.getLogger("quoter.rollout")
_NS = 1_000_000_000


def distrust(state: RolloutState, now_ns: int, bound_ns: int) -> tuple[str, str]:
    """(kind, reason) why a ramping state must not put any symbol on the candidate; ("", "")
    when it may. Kinds: "forged" (no controller writes this) and "unjudged" (none looked)."""
    if state.phase not in PHASES:
        return "forged", f"phase {state.phase!r} is not one of {PHASES}"
    if state.phase != RAMPING:
        return "", ""
    stray = sorted(set(state.green_symbols) - set(state.symbols))
    if stray:
        return "forged", f"green symbols {stray} are not among the rollout's {state.symbols}"
    if not 0 <= state.step_index < len(state.ramp_pct):
        return "forged", f"step {state.step_index} is outside the ramp {state.ramp_pct}"
    step = state.ramp_pct[state.step_index]
    if state.split_pct > step:
        return "forged", f"split {state.split_pct} % exceeds its step of {step} %"
    judged = state.ts_judged_ns
    if judged > now_ns + bound_ns:
        return "forged", f"stamped {(judged - now_ns) / _NS:.0f} s in the future"
    if now_ns - judged > bound_ns:
        return "unjudged", (
            f"no rollout controller has looked for {(now_ns - judged) / _NS:.0f} s "
            f"(bound {bound_ns / _NS:g} s): every symbol quotes blue until one does"
        )
    return "", ""


class RolloutWatch:
    """The stored rollout state and whether it is in force now."""

    def __init__(self, bound_ns: int, metrics: QuoterMetrics) -> None:
        self.bound_ns = bound_ns
        self._metrics = metrics
        self.stored: RolloutState | None = None
        self.reason = ""  # why the stored rollout is not in force ("" when it is, or is over)

    def in_force(self) -> RolloutState | None:
        """The state symbols should follow: None while it is distrusted."""
        return None if self.reason else self.stored

    def status(self) -> dict[str, str]:
        """For `ctl.quoter.status`: the stored rollout and whether it applies, or why not."""
        return {
            "rollout.id": "" if self.stored is None else self.stored.rollout_id,
            "rollout.in_force": str(self.in_force() is not None).lower(),
            "rollout.suspended": self.reason,
        }

    def update(self, state: RolloutState | None, now_ns: int) -> bool:
        """A new stored state; whether what is in force changed."""
        before = self.in_force()
        self.stored = state
        self._judge(now_ns, fresh=True)
        return self.in_force() != before

    def unreadable(self, reason: str) -> bool:
        """The stored value does not decode: nothing is in force; whether that changed."""
        before = self.in_force()
        self.stored = None
        self.reason = ""
        self._metrics.rollout_suspensions.labels("unreadable").inc()
        self._metrics.rollout_suspended.set(0)
        _log.error("unreadable rollout state, quoting blue", extra={"reason": reason})
        return before is not None

    def check(self, now_ns: int) -> bool:
        """Judge the stored state against the clock; whether what is in force changed."""
        before = self.in_force()
        self._judge(now_ns, fresh=False)
        return self.in_force() != before

    def _judge(self, now_ns: int, fresh: bool) -> None:
        stored = self.stored
        kind, reason = ("", "") if stored is None else distrust(stored, now_ns, self.bound_ns)
        if reason and (not self.reason or (fresh and kind == "forged")):
            self._metrics.rollout_suspensions.labels(kind).inc()
            _log.error("rollout suspended, quoting blue", extra={"reason": reason})
        elif self.reason and not reason:
            _log.info("rollout judged again: its candidate applies where it says")
        self.reason = reason
        self._metrics.rollout_suspended.set(int(bool(reason)))
