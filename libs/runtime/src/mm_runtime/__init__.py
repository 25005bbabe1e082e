"""How a process lives on the bus: settings, lifecycle, health, metrics, logging and tracing."""

from mm_runtime.bus import Bus, connect
from mm_runtime.lifecycle import Runtime, Service, TaskFailedError, main, serve
from mm_runtime.settings import (
    HttpSettings,
    LogSettings,
    NatsSettings,
    ServiceSettings,
    SettingsError,
    TelemetrySettings,
    load_settings,
)
from mm_runtime.tasks import OnEnd, TaskSupervisor
from mm_runtime.telemetry import Telemetry, extract_context, inject_headers

__all__ = [
    "Bus",
    "HttpSettings",
    "LogSettings",
    "NatsSettings",
    "OnEnd",
    "Runtime",
    "Service",
    "ServiceSettings",
    "SettingsError",
    "TaskFailedError",
    "TaskSupervisor",
    "Telemetry",
    "TelemetrySettings",
    "connect",
    "extract_context",
    "inject_headers",
    "load_settings",
    "main",
    "serve",
]
