"""Which parameters a symbol quotes with during a canary rollout: blue's, or the candidate's.

The rollout's state (KV `rollout`, written by the `mm rollout` controller) names the symbols on
the candidate; those quote with blue's values in force overlaid by the candidate's fields and the
rollout's color, every other symbol with blue's. Only a ramping rollout puts anything on the
candidate: a promoted one has already been written into the live config, a rolled-back or aborted
one is over. A candidate that no longer validates over blue (blue changed under it) leaves the
symbol on blue, with the reason, rather than quoting a contradiction.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from mm_proto.rollout import RAMPING, RolloutState
from quoter.params import QuoterParams


class CandidateError(ValueError):
    """The rollout's candidate cannot apply to a symbol; the symbol stays on blue."""


def on_candidate(symbol: str, state: RolloutState | None) -> bool:
    return state is not None and state.phase == RAMPING and symbol in state.green_symbols


def params_for(symbol: str, blue: QuoterParams, state: RolloutState | None) -> QuoterParams:
    """The symbol's parameters; CandidateError when it should be on a candidate that is invalid."""
    if state is None or not on_candidate(symbol, state):
        return blue
    try:
        fields = {name: json.loads(value) for name, value in state.candidate.items()}
        return QuoterParams.model_validate({**blue.model_dump(), **fields, "color": state.color})
    except (ValueError, ValidationError) as error:
        raise CandidateError(
            f"rollout {state.rollout_id!r}: the candidate does not apply to {symbol}: {error}"
        ) from None


def params_or_blue(
    symbol: str, blue: QuoterParams, state: RolloutState | None
) -> tuple[QuoterParams, str]:
    """The symbol's parameters, and why the candidate was refused for it ("" when it was not)."""
    try:
        return params_for(symbol, blue, state), ""
    except CandidateError as error:
        return blue, str(error)
