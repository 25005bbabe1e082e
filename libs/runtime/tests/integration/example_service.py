"""A minimal service on the runtime, run as a real OS process by the runtime's integration tests.

It answers a `Heartbeat` on `heartbeat.example-in` by publishing one on `heartbeat.echo` inside a
child span of the sender's trace, logs its whole settings object at start (to prove redaction)
with the module of the event loop it runs on, and on a heartbeat whose service is "explode"
raises an exception carrying its API secret. Its one background task (`example-keeper`, exit on
end) returns when a heartbeat's service is "end-task", which takes the whole process down.
"""

from __future__ import annotations

import asyncio
import logging
import time

from opentelemetry.context import Context
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from mm_proto import Heartbeat, subjects
from mm_runtime import Runtime, ServiceSettings, main, serve
from mm_runtime.tasks import OnEnd

_log = logging.getLogger("example")


class ExampleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EXAMPLE_")

    api_secret: SecretStr = SecretStr("")


class ExampleService:
    name = "example"

    def __init__(self, settings: ExampleSettings) -> None:
        self._settings = settings
        self._runtime: Runtime | None = None
        self._end_task = asyncio.Event()

    async def start(self, runtime: Runtime) -> None:
        self._runtime = runtime
        loop = type(asyncio.get_running_loop()).__module__
        _log.info("settings", extra={"settings": self._settings, "event_loop": loop})
        await runtime.bus.subscribe(subjects.heartbeat("example-in"), Heartbeat, self.on_heartbeat)
        runtime.tasks.spawn("example-keeper", self._end_task.wait, OnEnd.EXIT)

    async def on_heartbeat(self, message: Heartbeat, context: Context, _msg: object) -> None:
        assert self._runtime is not None
        if message.service == "end-task":
            self._end_task.set()
            return
        if message.service == "explode":
            secret = self._settings.api_secret.get_secret_value()
            raise RuntimeError(f"venue refused key {secret}")
        with self._runtime.telemetry.tracer.start_as_current_span("example.echo", context=context):
            reply = Heartbeat(service="echo", instance_id="0", ts_sent_ns=time.time_ns())
            await self._runtime.bus.publish(subjects.heartbeat("echo"), reply)

    async def stop(self) -> None:
        _log.info("flushing")

    def readiness(self) -> tuple[bool, str]:
        return True, "ok"


async def run(
    settings: ExampleSettings,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    await serve(ExampleService(settings), settings, stop, ready)


if __name__ == "__main__":
    main(ExampleSettings, run)
