"""The invariants of a canary rollout, checked whole before anything is stored.

`start_state` turns an operator's request into the first `RolloutState`, or raises
`RolloutRefusedError` with one reason per broken invariant; nothing is written on a refusal. The
candidate is judged exactly as the quoter would judge it: over blue's values in force, by the
quoter's own model (bounds and cross-field contradictions), its restart-only fields and its
largest live step (`quoter.params`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from mm_proto import subjects
from mm_proto.rollout import ABORTED, RAMPING, ROLLED_BACK, RolloutState
from ledger.markouts import HEADLINE_HORIZON
from mm_runtime.live_steps import step_refusals
from quoter.params import MAX_STEP, RESTART_REQUIRED, QuoterParams

_NS = 1_000_000_000
# The markout horizon the gate judges. The ledger reports a fill's markout that long after the
# fill, under the fill's color, so an ended rollout's green fills keep arriving as green
# markouts that long after its end: a new green started sooner would be judged on them.
MARKOUT_SETTLE_NS = round(float(HEADLINE_HORIZON.removesuffix("s")) * _NS)


class RolloutRefusedError(ValueError):
    """A rollout request or command refused whole; one reason per problem."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class StartRequest:
    """What `mm rollout start` asks for."""

    rollout_id: str
    candidate: dict[str, Any]  # quoter fields over blue's values
    symbols: list[str]
    ramp_pct: list[int]
    split_pct: int | None  # None: the first step
    step_window_s: int
    cooldown_s: int
    tolerance_bps: str
    gate: dict[str, str]
    color: str = "green"


def green_symbols(rollout_id: str, symbols: list[str], split_pct: int) -> list[str]:
    """The symbols on the candidate at `split_pct`: a sticky prefix of the hash order.

    Each symbol's place is the hash of (rollout id, symbol), so a symbol on green stays on green
    as the split rises; any split above 0 puts at least one symbol on green."""
    if split_pct <= 0:
        return []
    count = max(1, math.ceil(len(symbols) * split_pct / 100))
    return hash_order(rollout_id, symbols)[:count]


def hash_order(rollout_id: str, symbols: list[str]) -> list[str]:
    def place(symbol: str) -> bytes:
        return hashlib.sha256(f"{rollout_id}:{symbol}".encode()).digest()

    return sorted(symbols, key=place)


def ramp_reasons(ramp: list[int], split_pct: int, step_index: int) -> list[str]:
    """The ramp and split invariants (also checked on every state written)."""
    reasons = []
    if split_pct < 0:
        reasons.append(f"split must be at least 0 %, was {split_pct}")
    if split_pct > 0 and not ramp:
        reasons.append(f"a split of {split_pct} % needs a ramp, none given")
    if ramp:
        if any(not 0 < step <= 100 for step in ramp):
            reasons.append(f"ramp steps must be in 1..100 %, were {ramp}")
        if any(b <= a for a, b in itertools.pairwise(ramp)):
            reasons.append(f"ramp steps must rise, were {ramp}")
        if ramp[-1] != 100:
            reasons.append(f"the ramp must end at 100 %, ended at {ramp[-1]}")
        if 0 <= step_index < len(ramp) and split_pct > ramp[step_index]:
            reasons.append(
                f"split {split_pct} % exceeds the ramp's current step {ramp[step_index]} %"
            )
    return reasons


def start_state(
    request: StartRequest,
    blues: dict[str, QuoterParams],
    symbol_entries: dict[str, dict[str, Any]],
    previous: RolloutState | None,
    now_ns: int,
) -> RolloutState:
    """The first state of the requested rollout, or raise RolloutRefusedError with every reason.

    `blues` are blue's values in force by scope (`default` and each symbol with its own entry):
    the candidate must apply over each of them."""
    split = request.ramp_pct[0] if request.split_pct is None and request.ramp_pct else 0
    split = split if request.split_pct is None else request.split_pct
    reasons = _identity_reasons(request)
    reasons += ramp_reasons(request.ramp_pct, split, 0)
    if request.ramp_pct and split == 0:
        reasons.append("the split must be above 0 % to start a rollout")
    reasons += _timing_reasons(request)
    for scope, blue in sorted(blues.items()):
        if scope != "default" and blue == blues.get("default"):
            continue  # judged once, as the default
        entries = symbol_entries if scope == "default" else {}
        found = candidate_reasons(request.candidate, blue, entries, request.color)
        reasons += [r if scope == "default" else f"{scope}: {r}" for r in found if r not in reasons]
    reasons += _previous_reasons(previous, now_ns)
    if reasons:
        raise RolloutRefusedError(reasons)
    return RolloutState(
        rollout_id=request.rollout_id,
        phase=RAMPING,
        candidate={name: json.dumps(value) for name, value in sorted(request.candidate.items())},
        color=request.color,
        ramp_pct=list(request.ramp_pct),
        split_pct=split,
        symbols=hash_order(request.rollout_id, request.symbols),
        green_symbols=green_symbols(request.rollout_id, request.symbols, split),
        step_window_s=request.step_window_s,
        cooldown_s=request.cooldown_s,
        tolerance_bps=request.tolerance_bps,
        gate=dict(request.gate),
        seq=1,
        action="start",
        reason=f"started at {split} % of {len(request.symbols)} symbols",
        ts_started_ns=now_ns,
        ts_step_started_ns=now_ns,
        ts_changed_ns=now_ns,
    )


def _identity_reasons(request: StartRequest) -> list[str]:
    reasons = []
    try:
        subjects.token(request.rollout_id)
    except ValueError as error:
        reasons.append(f"rollout id: {error}")
    if not request.symbols:
        reasons.append("a rollout needs at least one symbol, none given")
    repeated = sorted({s for s in request.symbols if request.symbols.count(s) > 1})
    if repeated:
        reasons.append(f"each symbol must be listed once, {repeated} repeat")
    for symbol in request.symbols:
        try:
            subjects.token(symbol)
        except ValueError as error:
            reasons.append(f"symbol: {error}")
    return reasons


def _timing_reasons(request: StartRequest) -> list[str]:
    reasons = []
    if request.step_window_s <= 0:
        reasons.append(f"the step window must be above 0 s, was {request.step_window_s}")
    if request.cooldown_s <= 0:
        reasons.append(f"the cooldown must be above 0 s, was {request.cooldown_s}")
    try:
        tolerance = Decimal(request.tolerance_bps)
    except InvalidOperation:
        tolerance = Decimal("NaN")
    if not tolerance.is_finite() or tolerance < 0:
        reasons.append(f"the tolerance must be a finite number of bps >= 0, was "
                       f"{request.tolerance_bps!r}")  # fmt: skip
    return reasons


def candidate_reasons(
    candidate: dict[str, Any],
    blue: QuoterParams,
    symbol_entries: dict[str, dict[str, Any]],
    color: str,
) -> list[str]:
    """Why the candidate cannot run beside blue (empty: it can)."""
    if not candidate:
        return ["the candidate sets no field: it must differ from blue"]
    if "color" in candidate:
        return [f"the candidate may not set color: the rollout gives it {color!r}"]
    if color == blue.color:
        return [f"the candidate's color must differ from blue's {blue.color!r}"]
    try:
        green = QuoterParams.model_validate({**blue.model_dump(), **candidate, "color": color})
    except ValidationError as error:
        return [
            f"candidate: {'.'.join(str(p) for p in item['loc']) or 'fields'}: {item['msg']}"
            for item in error.errors(include_url=False)
        ]
    reasons = []
    changed = [n for n in candidate if getattr(green, n) != getattr(blue, n)]
    if not changed:
        reasons.append(f"the candidate {sorted(candidate)} equals blue: it must differ")
    restart = sorted(set(changed) & RESTART_REQUIRED)
    if restart:
        reasons.append(f"the candidate changes restart-only fields {restart}")
    reasons += [f"candidate: {r}" for r in step_refusals(MAX_STEP, blue.model_dump(),
                                                         green.model_dump())]  # fmt: skip
    for symbol, entry in sorted(symbol_entries.items()):
        shadowed = sorted(set(entry) & set(candidate))
        if shadowed:
            reasons.append(
                f"quoter.{symbol} sets {shadowed} itself: the candidate would not apply there"
            )
    return reasons


def _previous_reasons(previous: RolloutState | None, now_ns: int) -> list[str]:
    if previous is None:
        return []
    if previous.phase == RAMPING:
        return [f"rollout {previous.rollout_id!r} is still ramping: promote or abort it first"]
    if previous.phase in (ROLLED_BACK, ABORTED):
        ready = previous.ts_changed_ns + previous.cooldown_s * _NS
        if now_ns < ready:
            wait = (ready - now_ns) / _NS
            return [f"rollout {previous.rollout_id!r} ended {previous.phase}: "
                    f"cooling down {wait:.0f} s more"]  # fmt: skip
    settled = previous.ts_changed_ns + MARKOUT_SETTLE_NS
    if now_ns < settled:
        wait = (settled - now_ns) / _NS
        return [f"rollout {previous.rollout_id!r} ended {previous.phase}: its green fills are "
                f"still being marked out ({HEADLINE_HORIZON}), wait {wait:.1f} s more"]  # fmt: skip
    return []
