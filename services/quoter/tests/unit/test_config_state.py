"""ConfigState: entries applied in full at start, live-safe only afterwards, refusals remembered."""

from __future__ import annotations

from quoter.config_state import ConfigState
from quoter.params import QuoterParams

BASE = QuoterParams()
RUNNING = {"BTCUSDT": BASE, "ETHUSDT": BASE}


def test_at_start_restart_only_fields_apply_too() -> None:
    state = ConfigState(BASE)
    outcome = state.receive(
        "quoter.default", b'{"volatility_horizon_s": 5}', RUNNING, starting=True
    )
    assert {s: p.volatility_horizon_s for s, p in outcome.params.items()} == {
        "BTCUSDT": 5.0,
        "ETHUSDT": 5.0,
    }
    assert outcome.refusals == ()


def test_while_running_a_mixed_change_applies_the_safe_part_and_refuses_the_rest() -> None:
    state = ConfigState(BASE)
    raw = b'{"volatility_horizon_s": 5, "levels": 4}'
    outcome = state.receive("quoter.BTCUSDT", raw, RUNNING, starting=False)
    assert outcome.params["BTCUSDT"].levels == 4
    assert outcome.params["BTCUSDT"].volatility_horizon_s == BASE.volatility_horizon_s
    assert [(r.scope, r.reason) for r in outcome.refusals] == [("BTCUSDT", "restart_required")]
    assert "needs a restart" in state.last_refusals["BTCUSDT"]


def test_an_invalid_entry_is_refused_whole_and_remembered_under_its_scope() -> None:
    state = ConfigState(BASE)
    outcome = state.receive("quoter.default", b'{"levels": 0}', RUNNING, starting=False)
    assert outcome.params == {}
    assert outcome.refusals[0].reason == "invalid"
    assert "levels" in state.last_refusals["default"]
    assert state.entries() == {}


def test_another_shards_symbol_is_ignored() -> None:
    state = ConfigState(BASE)
    assert state.receive("quoter.SOLUSDT", b"{nope", RUNNING, starting=False).refusals == ()


def test_vet_says_what_the_live_path_would_refuse_without_changing_anything() -> None:
    state = ConfigState(BASE)
    assert state.vet("quoter.BTCUSDT", b'{"levels": 3}', RUNNING) == []
    assert (
        "needs a restart" in state.vet("quoter.default", b'{"trade_flow_horizon_s": 1}', RUNNING)[0]
    )
    assert "scope must be" in state.vet("quoter.SOLUSDT", b"{}", RUNNING)[0]
    assert "key must be" in state.vet("risk.BTCUSDT", b"{}", RUNNING)[0]
    assert "invalid JSON" in state.vet("quoter.default", b"{", RUNNING)[0]
    assert state.entries() == {}
