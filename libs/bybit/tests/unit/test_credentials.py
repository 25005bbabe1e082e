"""Credentials come from *_FILE or the environment, and the secret never shows in text."""

from pathlib import Path

import pytest

from mm_bybit.credentials import CredentialsError, load_credentials


def test_file_variables_win_over_plain_variables(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("file-secret\n")
    credentials = load_credentials(
        environ={
            "BYBIT_API_KEY": "env-key",
            "BYBIT_API_SECRET": "env-secret",
            "BYBIT_API_SECRET_FILE": str(secret_file),
        }
    )
    assert credentials.api_key == "env-key"
    assert credentials.secret() == "file-secret"


def test_the_secret_is_masked_in_repr_and_str() -> None:
    credentials = load_credentials(
        environ={"BYBIT_API_KEY": "k", "BYBIT_API_SECRET": "super-secret-value"}
    )
    assert "super-secret-value" not in repr(credentials)
    assert "super-secret-value" not in str(credentials)


def test_missing_secret_names_both_variables() -> None:
    with pytest.raises(CredentialsError, match="BYBIT_API_SECRET_FILE or BYBIT_API_SECRET"):
        load_credentials(environ={"BYBIT_API_KEY": "k"})


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="readable file"):
        load_credentials(
            environ={"BYBIT_API_KEY": "k", "BYBIT_API_SECRET_FILE": str(tmp_path / "missing")}
        )
