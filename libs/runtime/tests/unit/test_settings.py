"""Settings: nested sections from the environment, secrets from files, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from mm_runtime.settings import ServiceSettings, SettingsError, load_settings, secret_values


class ExampleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EXAMPLE_")

    api_secret: SecretStr = SecretStr("")
    symbols: list[str] = ["BTCUSDT"]


def test_nested_sections_are_read_with_double_underscore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_NATS__URL", "nats://127.0.0.1:4999")
    monkeypatch.setenv("EXAMPLE_HTTP__PORT", "9123")
    settings = load_settings(ExampleSettings)
    assert settings.nats.url == "nats://127.0.0.1:4999"
    assert settings.http.port == 9123


def test_a_secret_is_read_from_the_file_named_by_the_file_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cr3t-value\n")
    monkeypatch.setenv("EXAMPLE_API_SECRET_FILE", str(secret_file))
    monkeypatch.setenv("EXAMPLE_NATS__PASSWORD_FILE", str(secret_file))
    settings = load_settings(ExampleSettings)
    assert settings.api_secret.get_secret_value() == "s3cr3t-value"
    assert settings.nats.password.get_secret_value() == "s3cr3t-value"
    assert "s3cr3t" not in repr(settings)
    assert sorted(secret_values(settings)) == ["s3cr3t-value", "s3cr3t-value"]


def test_giving_a_value_both_inline_and_as_a_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("one")
    monkeypatch.setenv("EXAMPLE_API_SECRET_FILE", str(secret_file))
    monkeypatch.setenv("EXAMPLE_API_SECRET", "two")
    with pytest.raises(SettingsError, match="EXAMPLE_API_SECRET and EXAMPLE_API_SECRET_FILE"):
        load_settings(ExampleSettings)


def test_a_missing_secret_file_is_refused_with_its_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EXAMPLE_API_SECRET_FILE", str(tmp_path / "absent"))
    with pytest.raises(SettingsError, match="EXAMPLE_API_SECRET_FILE: cannot read file"):
        load_settings(ExampleSettings)


def test_invalid_values_name_each_field_and_reason_but_not_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EXAMPLE_HTTP__PORT", "70000")
    monkeypatch.setenv("EXAMPLE_TELEMETRY__SAMPLE_RATIO", "not-a-number-zzz")
    with pytest.raises(SettingsError) as raised:
        load_settings(ExampleSettings)
    text = str(raised.value)
    assert "EXAMPLE_HTTP__PORT: Input should be less than or equal to 65535" in text
    assert "EXAMPLE_TELEMETRY__SAMPLE_RATIO" in text
    assert "not-a-number-zzz" not in text


def test_unknown_fields_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="EXAMPLE_NOT_A_FIELD: Extra inputs are not permitted"):
        load_settings(ExampleSettings, not_a_field=1)


def test_a_misspelt_variable_with_the_prefix_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_SYMBOLZ", "ETHUSDT")
    with pytest.raises(
        SettingsError, match="unknown settings for ExampleSettings: EXAMPLE_SYMBOLZ"
    ):
        load_settings(ExampleSettings)


def test_a_misspelt_nested_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_NATS__ULR", "nats://127.0.0.1:1")
    with pytest.raises(SettingsError, match="EXAMPLE_NATS__ULR: Extra inputs are not permitted"):
        load_settings(ExampleSettings)
