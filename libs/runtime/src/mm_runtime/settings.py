"""The settings base every service builds on: nested sections, env prefixes, secrets from files.

A service subclasses `ServiceSettings`, sets its own `env_prefix` (for example `QUOTER_`) and adds
sections. Nested fields use `__` in environment names (`QUOTER_NATS__URL`). Any field may instead
be given as a file path through the same name with a `_FILE` suffix
(`EXECUTOR_VENUE__API_SECRET_FILE`), which is how Kubernetes and compose mount secrets; giving both
forms is refused as ambiguous, and so no field name may itself end in `_file`.
`load_settings` turns pydantic's validation error into a `SettingsError` that names each field and
the reason, and never echoes the offending value (it may be a secret).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from mm_proto import subjects

FILE_SUFFIX = "_FILE"


def _split_commas(value: Any) -> Any:
    """`A, B` or a JSON list `["A"]` from the environment; a list passes as it is."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


def _unique_tokens(value: list[str]) -> list[str]:
    repeated = sorted({item for item in value if value.count(item) > 1})
    if repeated:
        raise ValueError(f"each symbol must be listed once, {repeated} repeat")
    return [subjects.token(item) for item in value]


# A list of names given in the environment as `BTCUSDT,ETHUSDT` (or as a list in code).
CommaList = Annotated[list[str], NoDecode, BeforeValidator(_split_commas)]
# Symbols: a CommaList of distinct names that are each one subject token.
SymbolList = Annotated[
    list[str], NoDecode, BeforeValidator(_split_commas), AfterValidator(_unique_tokens)
]


class SettingsError(Exception):
    """Settings that cannot start a service; the message names every bad field and why."""


class Section(BaseModel):
    """A nested settings section: unknown keys are refused, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NatsSettings(Section):
    """How to reach the bus: `url` is one server or a cluster's servers separated by commas
    (the client reconnects to any of them); `replicas` is how many servers keep each stream and
    KV bucket this service creates (`mm_runtime.jetstream.ensure_layout`)."""

    url: str = "nats://127.0.0.1:4222"
    replicas: int = Field(default=1, ge=1, le=5)
    user: str = ""
    password: SecretStr = SecretStr("")
    connect_timeout_s: float = Field(default=2.0, gt=0)
    drain_timeout_s: float = Field(default=5.0, gt=0)
    max_reconnect_attempts: int = Field(default=-1, ge=-1)
    # A server that stops answering (frozen, or cut off) is given up after this many seconds
    # times `max_outstanding_pings` and the client moves to another; nats-py's default, 2 min,
    # would leave a service deaf that long on a frozen cluster node.
    ping_interval_s: float = Field(default=2.0, gt=0)
    max_outstanding_pings: int = Field(default=2, ge=1)


class HttpSettings(Section):
    """The side port serving /metrics, /healthz, /startedz, /readyz (port 0 picks a free one)."""

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)


class TelemetrySettings(Section):
    """Tracing: off, exported over OTLP/HTTP, to a JSON-lines file, or kept in memory."""

    exporter: str = Field(default="none", pattern="^(none|otlp|file|memory)$")
    otlp_endpoint: str = "http://127.0.0.1:4318/v1/traces"
    file_path: str = ""
    sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)


class LogSettings(Section):
    """Structured logging."""

    level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")


class LeaseSettings(Section):
    """Lease mode (`mm_runtime.symbol_lease`): several replicas share the symbol list, each writing
    only the symbols whose lease it holds. Off: this instance writes all its symbols."""

    enabled: bool = False
    # Instance ids of every replica of the service, this one's included (the sticky share).
    replicas: CommaList = []
    ttl_s: float = Field(default=3.0, gt=0, le=60)
    margin_s: float = Field(default=0.3, ge=0, le=10)

    def check(self, instance_id: str) -> None:
        """Refuse a combination that cannot work, naming the field."""
        if not self.enabled:
            return
        if instance_id not in self.replicas:
            raise ValueError(
                f"lease.replicas must list this instance_id {instance_id!r}, was {self.replicas}"
            )
        if self.margin_s >= self.ttl_s / 3:
            raise ValueError(
                f"lease.margin_s must be < lease.ttl_s / 3 ({self.ttl_s / 3:.3f}), "
                f"was {self.margin_s}"
            )


class ServiceSettings(BaseSettings):
    """Sections every service has; subclasses add their own and set `env_prefix`."""

    model_config = SettingsConfigDict(
        env_nested_delimiter="__", extra="forbid", case_sensitive=False, frozen=True
    )

    instance_id: str = Field(default="0", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    shutdown_timeout_s: float = Field(default=8.0, gt=0, le=60)
    nats: NatsSettings = NatsSettings()
    http: HttpSettings = HttpSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    log: LogSettings = LogSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, FileReferenceSource(settings_cls), PlainEnvSource(settings_cls))


class PlainEnvSource(EnvSettingsSource):
    """The environment without the `*_FILE` variables, which `FileReferenceSource` reads."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        variables = super()._load_env_vars()
        return {
            name: value
            for name, value in variables.items()
            if not name.upper().endswith(FILE_SUFFIX)
        }


class FileReferenceSource(EnvSettingsSource):
    """Reads `<NAME>_FILE` environment variables as the contents of the named file."""

    def __call__(self) -> dict[str, Any]:
        prefix = (self.env_prefix or "").upper()
        values: dict[str, Any] = {}
        if not prefix:
            return values
        for name, path in os.environ.items():
            upper = name.upper()
            if not (upper.startswith(prefix) and upper.endswith(FILE_SUFFIX)):
                continue
            plain = upper[: -len(FILE_SUFFIX)]
            if plain in {key.upper() for key in os.environ}:
                raise SettingsError(
                    f"{plain} and {upper} are both set; give the value one way only"
                )
            keys = plain[len(prefix) :].lower().split(self.env_nested_delimiter or "__")
            _insert(values, keys, _read_secret_file(upper, path))
        return values

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False


def _read_secret_file(variable: str, path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as error:
        raise SettingsError(f"{variable}: cannot read file {path!r}: {error.strerror}") from None


def _insert(values: dict[str, Any], keys: list[str], value: str) -> None:
    node = values
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def load_settings(settings_type: type[SettingsT], **overrides: Any) -> SettingsT:
    """Build settings from the environment (and overrides), or raise `SettingsError`."""
    unknown = unknown_variables(settings_type)
    if unknown:
        raise SettingsError(
            f"unknown settings for {settings_type.__name__}: {', '.join(unknown)} "
            "(a misspelt name would otherwise be ignored silently)"
        )
    try:
        return settings_type(**overrides)
    except ValidationError as error:
        raise SettingsError(describe_validation_error(settings_type, error)) from None


def unknown_variables(settings_type: type[BaseSettings]) -> list[str]:
    """Environment variables with the settings' prefix that name no top-level field."""
    prefix = str(settings_type.model_config.get("env_prefix", "")).upper()
    if not prefix:
        return []
    known = {name.upper() for name in settings_type.model_fields}
    unknown = []
    for name in os.environ:
        upper = name.upper()
        if not upper.startswith(prefix):
            continue
        plain = upper[len(prefix) :].removesuffix(FILE_SUFFIX)
        if plain.split("__", 1)[0] not in known:
            unknown.append(name)
    return sorted(unknown)


def describe_validation_error(settings_type: type[BaseSettings], error: ValidationError) -> str:
    """One line per bad field: the environment name, and the reason without the value."""
    prefix = str(settings_type.model_config.get("env_prefix", "")).upper()
    lines = [f"invalid settings for {settings_type.__name__}:"]
    for item in error.errors(include_input=False, include_url=False):
        path = "__".join(str(part) for part in item["loc"]).upper()
        lines.append(f"  {prefix}{path}: {item['msg']}")
    return "\n".join(lines)


def secret_values(settings: BaseModel) -> list[str]:
    """Every non-empty `SecretStr` value inside the settings tree, for the log redactor."""
    found: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and value.get_secret_value():
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            found.extend(secret_values(value))
    return found
