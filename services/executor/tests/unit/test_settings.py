"""ExecutorSettings from the local stack's environment names; bad combinations are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from executor.settings import ExecutorSettings
from mm_runtime.settings import SettingsError, load_settings


@pytest.fixture
def key_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "key").write_text("the-key\n")
    (tmp_path / "secret").write_text("the-secret\n")
    monkeypatch.setenv("EXECUTOR_VENUE__API_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.setenv("EXECUTOR_VENUE__API_SECRET_FILE", str(tmp_path / "secret"))


@pytest.mark.usefixtures("key_files")
def test_the_local_stacks_environment_names_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXECUTOR_NATS__URL", "nats://127.0.0.1:4333")
    monkeypatch.setenv("EXECUTOR_HTTP__PORT", "9101")
    monkeypatch.setenv("EXECUTOR_SYMBOLS", "BTCUSDT, ETHUSDT")
    monkeypatch.setenv("EXECUTOR_VENUE__REST_URL", "http://127.0.0.1:8099")
    monkeypatch.setenv("EXECUTOR_VENUE__WS_URL", "ws://127.0.0.1:8099")
    settings = load_settings(ExecutorSettings)
    assert settings.symbols == ["BTCUSDT", "ETHUSDT"]
    assert settings.venue.api_key.get_secret_value() == "the-key"
    assert settings.venue.api_secret.get_secret_value() == "the-secret"
    assert "the-secret" not in repr(settings)
    assert settings.http.port == 9101


@pytest.mark.usefixtures("key_files")
@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("EXECUTOR_SYMBOLS", "BTCUSDT,BTCUSDT", "SYMBOLS"),
        ("EXECUTOR_SYMBOLS", "BTC.USDT", "SYMBOLS"),
        ("EXECUTOR_SHUTDOWN_TIMEOUT_S", "12", "SHUTDOWN_TIMEOUT_S"),
        ("EXECUTOR_VENUE__DCP_WINDOW_S", "400", "VENUE__DCP_WINDOW_S"),
        ("EXECUTOR_ORDER_PREFIX", "far-too-long-prefix", "ORDER_PREFIX"),
        ("EXECUTOR_RECONCILIATION_INTERVAL_S", "3", "RECONCILIATION_INTERVAL_S"),
        ("EXECUTOR_RECONCILIATION_INTERVAL_S", "-1", "RECONCILIATION_INTERVAL_S"),
        ("EXECUTOR_RECONCILIATION_INTERVAL_S", "nan", "RECONCILIATION_INTERVAL_S"),
    ],
)
def test_invalid_values_are_refused_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str
) -> None:
    monkeypatch.setenv("EXECUTOR_SYMBOLS", "BTCUSDT")
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=field):
        load_settings(ExecutorSettings)


def test_missing_credentials_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXECUTOR_SYMBOLS", "BTCUSDT")
    with pytest.raises(SettingsError, match="api_secret must be set"):
        load_settings(ExecutorSettings)


@pytest.mark.usefixtures("key_files")
def test_unknown_prefixed_variables_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXECUTOR_SYMBOLS", "BTCUSDT")
    monkeypatch.setenv("EXECUTOR_WATCHDOG_TIMEOUT", "3")
    with pytest.raises(SettingsError, match="EXECUTOR_WATCHDOG_TIMEOUT"):
        load_settings(ExecutorSettings)
