"""API credentials read from `*_FILE` paths or the environment, with the secret never printable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr


class CredentialsError(ValueError):
    """The API key or secret is missing or unreadable."""


class ApiCredentials(BaseModel):
    """A Bybit API key and its secret; `repr` and `str` mask the secret."""

    model_config = ConfigDict(frozen=True)

    api_key: str
    api_secret: SecretStr

    def secret(self) -> str:
        """Return the secret text, for signing only."""
        return self.api_secret.get_secret_value()


def _read_value(name: str, environ: Mapping[str, str]) -> str:
    file_variable = f"{name}_FILE"
    path_text = environ.get(file_variable)
    if path_text:
        try:
            value = Path(path_text).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise CredentialsError(
                f"{file_variable} must name a readable file, was {path_text!r} ({error.strerror})"
            ) from None
        if not value:
            raise CredentialsError(f"{file_variable} must name a non-empty file, was {path_text!r}")
        return value
    value = environ.get(name, "").strip()
    if not value:
        raise CredentialsError(f"expected {file_variable} or {name} to be set, found neither")
    return value


def load_credentials(
    prefix: str = "BYBIT", environ: Mapping[str, str] | None = None
) -> ApiCredentials:
    """Read `<prefix>_API_KEY` and `<prefix>_API_SECRET`, each preferring its `_FILE` variant."""
    source = os.environ if environ is None else environ
    return ApiCredentials(
        api_key=_read_value(f"{prefix}_API_KEY", source),
        api_secret=SecretStr(_read_value(f"{prefix}_API_SECRET", source)),
    )
