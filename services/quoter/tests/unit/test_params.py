"""Parameter validation, layering of KV values, and the live-safe / restart-required split."""

from __future__ import annotations

import pytest

from quoter.params import (
    LIVE_SAFE,
    RESTART_REQUIRED,
    ParamsError,
    QuoterParams,
    apply_live,
    build_params,
    parse_layer,
    propose,
)

BASE = QuoterParams()


def test_every_field_is_either_live_safe_or_restart_required() -> None:
    assert set(QuoterParams.model_fields) == LIVE_SAFE | RESTART_REQUIRED
    assert not LIVE_SAFE & RESTART_REQUIRED


def test_layers_apply_in_order_over_the_base() -> None:
    params = build_params(BASE, [{"levels": 3, "min_spread_bps": 4.0}, {"levels": 5}])
    assert (params.levels, params.min_spread_bps) == (5, 4.0)


@pytest.mark.parametrize(
    ("layer", "field"),
    [
        ({"levels": 0}, "levels"),
        ({"min_spread_bps": -1}, "min_spread_bps"),
        ({"trading_windows": ["9-17"]}, "trading_windows"),
        ({"fair_value_source": "last"}, "fair_value_source"),
        ({"cooldown_events": ["lunch"]}, "cooldown_events"),
        ({"color": "Green"}, "color"),  # the orderLinkId alphabet: lowercase letters, digits
        ({"color": "ninechars"}, "color"),  # at most 8, so an orderLinkId still fits
        ({"color": ""}, "color"),
        ({"color": "re_d"}, "color"),
    ],
)
def test_invalid_values_are_refused_naming_the_field(layer: dict[str, object], field: str) -> None:
    with pytest.raises(ParamsError, match=field):
        build_params(BASE, [layer])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{nope", "invalid JSON"),
        (b"[1, 2]", "received list"),
        (b'{"spread": 1}', "unknown fields"),
        (b"\xff\xfe", "invalid JSON"),
    ],
)
def test_unparseable_kv_values_are_refused_with_the_key(raw: bytes, message: str) -> None:
    with pytest.raises(ParamsError, match=message) as raised:
        parse_layer(raw, "quoter.BTCUSDT")
    assert "quoter.BTCUSDT" in str(raised.value)


def test_an_empty_value_is_an_empty_layer() -> None:
    assert parse_layer(b"  ", "quoter.default") == {}


def test_live_changes_apply_and_restart_only_changes_are_refused_with_a_reason() -> None:
    proposed = BASE.model_copy(update={"min_spread_bps": 9.0, "volatility_horizon_s": 5.0})
    update = apply_live(BASE, proposed)
    assert update.params.min_spread_bps == 9.0
    assert update.params.volatility_horizon_s == BASE.volatility_horizon_s
    assert list(update.refused) == ["volatility_horizon_s"]
    assert "needs a restart" in update.refused["volatility_horizon_s"]


def test_an_unchanged_restart_only_field_is_not_refused() -> None:
    assert apply_live(BASE, BASE).refused == {}


def test_a_default_key_affects_every_symbol_and_a_symbol_key_only_its_own() -> None:
    symbols = ["BTCUSDT", "ETHUSDT"]
    layers, proposals = propose({}, "quoter.default", b'{"levels": 2}', BASE, symbols)
    assert sorted(proposals) == symbols
    layers, proposals = propose(layers, "quoter.ETHUSDT", b'{"levels": 4}', BASE, symbols)
    assert {s: p.levels for s, p in proposals.items()} == {"ETHUSDT": 4}
    layers, proposals = propose(layers, "quoter.ETHUSDT", None, BASE, symbols)
    assert proposals["ETHUSDT"].levels == 2
    assert "ETHUSDT" not in layers


def test_a_refused_proposal_leaves_the_layers_untouched() -> None:
    layers = {"default": {"levels": 2}}
    with pytest.raises(ParamsError):
        propose(layers, "quoter.default", b'{"levels": -2}', BASE, ["BTCUSDT"])
    assert layers == {"default": {"levels": 2}}


def test_keys_of_other_symbols_affect_no_one() -> None:
    _, proposals = propose({}, "quoter.SOLUSDT", b'{"levels": 2}', BASE, ["BTCUSDT"])
    assert proposals == {}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"max_inventory": Infinity}', "max_inventory"),
        (b'{"level_size": NaN}', "level_size"),
        (b'{"min_spread_bps": 0}', "min_spread_bps"),
        (b'{"max_inventory": 1e9}', "max_inventory"),
        (b'{"level_size": 1e7}', "level_size"),
        (b'{"risk_aversion": -Infinity}', "risk_aversion"),
        (b'{"refresh_size_pct": 1000}', "refresh_size_pct"),
    ],
)
def test_values_outside_their_bounds_are_refused_naming_the_field(raw: bytes, field: str) -> None:
    with pytest.raises(ParamsError, match=field):
        build_params(BASE, [parse_layer(raw, "quoter.BTCUSDT")])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"max_inventory": BASE.max_inventory * 3}, "max_inventory"),
        ({"level_size": BASE.level_size * 1_000}, "level_size"),
        ({"min_spread_bps": BASE.min_spread_bps / 4}, "min_spread_bps"),
        ({"levels": 20}, "levels"),
    ],
)
def test_a_live_change_beyond_its_step_is_refused_whole_with_the_reason(
    change: dict[str, float], field: str
) -> None:
    proposed = BASE.model_copy(update={**change, "enabled": False})
    update = apply_live(BASE, proposed)
    assert update.params == BASE  # nothing applies, not even the harmless `enabled`
    assert update.reason == "max_step"
    assert f"{field} may" in update.refused[field]


def test_a_live_change_within_its_step_or_tightening_applies() -> None:
    proposed = BASE.model_copy(
        update={"max_inventory": BASE.max_inventory * 2, "min_spread_bps": 500.0}
    )
    update = apply_live(BASE, proposed)
    assert update.refused == {}
    assert update.params == proposed


def test_the_color_is_blue_by_default_and_may_change_live() -> None:
    assert BASE.color == "blue"
    assert "color" in LIVE_SAFE
    assert build_params(BASE, [{"color": "green2"}]).color == "green2"
