"""GatewaySettings: the environment names `mm run` passes, and refusals that name the field."""

import os

import pytest

from md_gateway.settings import GatewaySettings
from mm_runtime import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:

    for name in list(os.environ):
        if name.upper().startswith("MD_GATEWAY_"):
            monkeypatch.delenv(name)


def test_the_local_stack_environment_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MD_GATEWAY_NATS__URL", "nats://127.0.0.1:14222")
    monkeypatch.setenv("MD_GATEWAY_HTTP__PORT", "14240")
    monkeypatch.setenv("MD_GATEWAY_SYMBOLS", "BTCUSDT,ETHUSDT")
    monkeypatch.setenv("MD_GATEWAY_VENUE__REST_URL", "http://127.0.0.1:14230")
    monkeypatch.setenv("MD_GATEWAY_VENUE__WS_URL", "ws://127.0.0.1:14230")

    settings = load_settings(GatewaySettings)

    assert settings.symbols == ["BTCUSDT", "ETHUSDT"]
    assert settings.owned_symbols == ["BTCUSDT", "ETHUSDT"]
    assert settings.nats.url == "nats://127.0.0.1:14222"
    assert settings.http.port == 14240
    assert settings.venue.rest_url == "http://127.0.0.1:14230"
    assert settings.venue.public_ws_url == "ws://127.0.0.1:14230/v5/public/linear"


def test_symbols_may_also_be_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MD_GATEWAY_SYMBOLS", '["BTCUSDT", "ETHUSDT"]')

    assert load_settings(GatewaySettings).symbols == ["BTCUSDT", "ETHUSDT"]


def test_pointing_at_bybit_is_a_change_of_urls_only() -> None:
    settings = load_settings(
        GatewaySettings,
        symbols=["BTCUSDT"],
        venue={"rest_url": "https://api.bybit.com/", "ws_url": "wss://stream.bybit.com"},
    )

    assert settings.venue.rest_url == "https://api.bybit.com"
    assert settings.venue.public_ws_url == "wss://stream.bybit.com/v5/public/linear"


def test_a_shard_carries_only_its_share_of_the_symbols() -> None:
    first = load_settings(GatewaySettings, symbols="BTCUSDT,ETHUSDT", shard="0/2")
    second = load_settings(GatewaySettings, symbols="BTCUSDT,ETHUSDT", shard="1/2")

    assert sorted(first.owned_symbols + second.owned_symbols) == ["BTCUSDT", "ETHUSDT"]
    assert first.owned_symbols == ["ETHUSDT"]
    assert second.owned_symbols == ["BTCUSDT"]


def test_unknown_prefixed_variables_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MD_GATEWAY_SYMBOLS", "BTCUSDT")
    monkeypatch.setenv("MD_GATEWAY_SYMBOL", "BTCUSDT")

    with pytest.raises(SettingsError, match="MD_GATEWAY_SYMBOL"):
        load_settings(GatewaySettings)


@pytest.mark.parametrize(
    ("overrides", "field", "why"),
    [
        ({"depth": 25}, "MD_GATEWAY_DEPTH", "depth must be one of"),
        ({"shard": "2/2"}, "MD_GATEWAY_SHARD", "0 <= i < n"),
        ({"symbols": "BTCUSDT,BTCUSDT"}, "MD_GATEWAY_SYMBOLS", "listed once"),
        ({"symbols": "BTC.USDT"}, "MD_GATEWAY_SYMBOLS", "must not contain '.'"),
        ({"symbols": ""}, "MD_GATEWAY_SYMBOLS", "at least 1 item"),
        ({"stale_after_s": 0}, "MD_GATEWAY_STALE_AFTER_S", "greater than 0"),
        ({"venue": {"ws_url": "http://x"}}, "MD_GATEWAY_VENUE__WS_URL", "ws://"),
        ({"venue": {"rest_url": "ws://x"}}, "MD_GATEWAY_VENUE__REST_URL", "http://"),
    ],
)
def test_invalid_settings_are_refused_naming_the_field(
    overrides: dict[str, object], field: str, why: str
) -> None:
    overrides = {"symbols": "BTCUSDT", **overrides}

    with pytest.raises(SettingsError) as refused:
        load_settings(GatewaySettings, **overrides)

    assert field in str(refused.value)
    assert why in str(refused.value)


def test_a_shard_that_owns_no_symbol_is_refused() -> None:
    # crc32("BTCUSDT") % 2 == 1, so replica 0 of 2 would carry nothing.
    with pytest.raises(SettingsError, match="owns none of the 1 symbols"):
        load_settings(GatewaySettings, symbols="BTCUSDT", shard="0/2")
