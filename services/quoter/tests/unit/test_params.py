"""Parameter validation, layering of KV values, and the live-safe / restart-required split."""

from __future__ import annotations

import json

import pytest

from mm_runtime.live_config import LiveConfig
from quoter.params import LIVE_SAFE, RESTART_REQUIRED, SPEC, QuoterParams

BASE = QuoterParams()
SYMBOLS = ("BTCUSDT", "ETHUSDT")


async def running(entries: dict[str, bytes] | None = None) -> LiveConfig[QuoterParams]:
    """The quoter's live config after starting with `entries` stored."""
    config = LiveConfig(SPEC, BASE, SYMBOLS)
    for key, raw in (entries or {}).items():
        await config.receive(key, raw)
    await config.settle()
    config.go_live()
    return config


def entry(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_every_field_is_either_live_safe_or_restart_required() -> None:
    assert set(QuoterParams.model_fields) == LIVE_SAFE | RESTART_REQUIRED
    assert not LIVE_SAFE & RESTART_REQUIRED


async def test_layers_apply_in_order_over_the_base() -> None:
    config = await running(
        {
            "quoter.BTCUSDT": entry(levels=5),
            "quoter.default": entry(levels=3, min_spread_bps=4.0),
        }
    )
    params = config.values.for_symbol("BTCUSDT")
    assert (params.levels, params.min_spread_bps) == (5, 4.0)
    assert config.values.for_symbol("ETHUSDT").levels == 3


async def test_at_start_restart_only_fields_apply_too() -> None:
    config = await running({"quoter.default": entry(volatility_horizon_s=5)})
    assert config.values.for_symbol("ETHUSDT").volatility_horizon_s == 5.0
    assert config.refused == {}


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
async def test_invalid_values_are_refused_naming_the_field(
    layer: dict[str, object], field: str
) -> None:
    config = await running()
    (reason,) = config.vet("quoter.default", json.dumps(layer).encode())
    assert reason.startswith(f"default: {field}")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{nope", "invalid JSON"),
        (b"[1, 2]", "received list"),
        (b'{"spread": 1}', "fields ['spread'] are not for"),
        (b"\xff\xfe", "invalid JSON"),
    ],
)
async def test_unparseable_kv_values_are_refused_with_the_key(raw: bytes, message: str) -> None:
    config = await running()
    (reason,) = config.vet("quoter.BTCUSDT", raw)
    assert message in reason
    assert "quoter.BTCUSDT" in reason


async def test_an_empty_value_is_an_empty_layer() -> None:
    config = await running({"quoter.default": b"  "})
    assert config.entries() == {"quoter.default": {}}


async def test_while_running_a_mixed_change_applies_the_safe_part_and_refuses_the_rest() -> None:
    config = await running()
    await config.receive("quoter.BTCUSDT", entry(volatility_horizon_s=5, levels=4))
    params = config.values.for_symbol("BTCUSDT")
    assert (params.levels, params.volatility_horizon_s) == (4, BASE.volatility_horizon_s)
    refusal = config.refused["quoter.BTCUSDT"]
    assert (refusal.reason, refusal.fields) == ("restart_required", ("volatility_horizon_s",))
    assert "needs a restart" in config.status()["config_refused.quoter.BTCUSDT"]


async def test_an_unchanged_restart_only_field_is_not_refused() -> None:
    config = await running({"quoter.default": entry(volatility_horizon_s=5)})
    assert config.vet("quoter.default", entry(volatility_horizon_s=5, levels=2)) == []


async def test_a_default_key_affects_every_symbol_and_a_symbol_key_only_its_own() -> None:
    config = await running()
    await config.receive("quoter.default", entry(levels=2))
    await config.receive("quoter.ETHUSDT", entry(levels=4))
    levels = {symbol: config.values.for_symbol(symbol).levels for symbol in SYMBOLS}
    assert levels == {"BTCUSDT": 2, "ETHUSDT": 4}
    await config.receive("quoter.ETHUSDT", None)
    assert config.values.for_symbol("ETHUSDT").levels == 2
    assert "quoter.ETHUSDT" not in config.entries()


async def test_an_invalid_entry_is_refused_whole_and_nothing_changes() -> None:
    config = await running({"quoter.default": entry(levels=2)})
    await config.receive("quoter.default", entry(levels=-2, enabled=False))
    assert config.entries() == {"quoter.default": {"levels": 2}}
    assert config.values.default.enabled
    assert "levels" in config.refused["quoter.default"].detail


async def test_another_shards_symbol_is_ignored_live_and_refused_by_vet() -> None:
    config = await running()
    await config.receive("quoter.SOLUSDT", entry(levels=2))
    assert config.entries() == {}
    assert config.refused == {}
    assert "scope must be 'default' or one of" in config.vet("quoter.SOLUSDT", entry(levels=2))[0]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"max_inventory_lots": Infinity}', "max_inventory_lots"),
        (b'{"level_size_lots": NaN}', "level_size_lots"),
        (b'{"min_spread_bps": 0}', "min_spread_bps"),
        (b'{"max_inventory_lots": 100000000000}', "max_inventory_lots"),
        (b'{"level_size_lots": 10000000000}', "level_size_lots"),
        (b'{"risk_aversion": -Infinity}', "risk_aversion"),
        (b'{"refresh_size_pct": 1000}', "refresh_size_pct"),
        # Sizes are whole lots: a base-coin quantity given by mistake is refused, not rounded.
        (b'{"level_size_lots": 0.01}', "level_size_lots"),
        (b'{"max_inventory_lots": 0}', "max_inventory_lots"),
    ],
)
async def test_values_outside_their_bounds_are_refused_even_at_start(
    raw: bytes, field: str
) -> None:
    config = await running({"quoter.BTCUSDT": raw})
    assert config.values.for_symbol("BTCUSDT") == BASE
    assert field in config.refused["quoter.BTCUSDT"].detail


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"max_inventory_lots": BASE.max_inventory_lots * 3}, "max_inventory_lots"),
        # 3x (within max_inventory_lots 10, so only the step refuses it).
        ({"level_size_lots": BASE.level_size_lots * 3}, "level_size_lots"),
        ({"min_spread_bps": BASE.min_spread_bps / 4}, "min_spread_bps"),
        ({"levels": 20}, "levels"),
    ],
)
async def test_a_live_change_beyond_its_step_is_refused_whole_with_the_reason(
    change: dict[str, float], field: str
) -> None:
    config = await running()
    await config.receive("quoter.default", entry(**change, enabled=False))
    assert config.values.default == BASE  # nothing applies, not even the harmless `enabled`
    refusal = config.refused["quoter.default"]
    assert (refusal.reason, refusal.fields) == ("max_step", (field,))
    assert f"{field} may" in refusal.detail


async def test_a_live_change_within_its_step_or_tightening_applies() -> None:
    config = await running()
    change = {"max_inventory_lots": BASE.max_inventory_lots * 2, "min_spread_bps": 500.0}
    await config.receive("quoter.default", entry(**change))
    assert config.values.default == BASE.model_copy(update=change)
    assert config.refused == {}


async def test_the_color_is_blue_by_default_and_may_change_live() -> None:
    assert BASE.color == "blue"
    assert "color" in LIVE_SAFE
    config = await running()
    await config.receive("quoter.default", entry(color="green2"))
    assert config.values.for_symbol("BTCUSDT").color == "green2"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"max_inventory_lots": 2, "level_size_lots": 3}, "at least one level's size"),
        ({"cooldown_s": 5.0}, "needs an event that starts it"),
        ({"cooldown_events": ["fill"]}, "start a cooldown of 0 s"),
    ],
)
async def test_a_cross_field_contradiction_is_refused_whole_and_the_values_stay(
    fields: dict[str, object], reason: str
) -> None:
    config = await running()
    raw = entry(levels=2, **fields)  # a harmless field beside it does not apply either
    assert any(reason in r for r in config.vet("quoter.default", raw))
    await config.receive("quoter.default", raw)
    assert config.values.default == BASE
    assert config.entries() == {}
    assert reason in config.refused["quoter.default"].detail
    with pytest.raises(ValueError, match=reason):
        QuoterParams(**fields)  # type: ignore[arg-type]
