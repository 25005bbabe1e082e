"""Injected faults: settable at start (settings) and at run time (admin endpoint), read by the wire.

Modes: REST delay, REST errors (HTTP 5xx or retCode 10016, optionally for the next N requests), a
rate-limit storm (every signed request gets 10006), paused public topics, skipped / duplicated /
reordered public book deltas (the next N), private WS silence, plus one-shot actions the admin
endpoint triggers directly (drop WS connections, DCP trigger).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from mm_sim.settings import FaultConfig


class FaultError(ValueError):
    """A fault request that names an unknown field or a bad value."""


class Faults:
    """The live fault settings; `update` merges a partial JSON object into them."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config

    def update(self, changes: dict[str, Any]) -> FaultConfig:
        unknown = set(changes) - set(FaultConfig.model_fields)
        if unknown:
            raise FaultError(
                f"expected fault fields among {sorted(FaultConfig.model_fields)}, "
                f"received unknown {sorted(unknown)}"
            )
        merged = self.config.model_dump() | changes
        try:
            self.config = FaultConfig.model_validate(merged)
        except ValidationError as error:
            raise FaultError(f"invalid fault values: {error.errors(include_input=False)}") from None
        return self.config

    def take_rest_error(self) -> str:
        """The REST error to answer this request with ('none', 'http_5xx' or '10016')."""
        config = self.config
        if config.rest_error == "none" or config.rest_error_count == 0:
            return "none"
        if config.rest_error_count > 0:
            remaining = config.rest_error_count - 1
            mode = config.rest_error
            self.config = config.model_copy(
                update={"rest_error_count": remaining, "rest_error": mode if remaining else "none"}
            )
            return mode
        return config.rest_error

    def take_delta_fault(self) -> str:
        """The fault to apply to the next public book delta ('none', 'skip', ...)."""
        config = self.config
        if config.delta_fault == "none" or config.delta_fault_count == 0:
            return "none"
        mode = config.delta_fault
        if config.delta_fault_count > 0:
            remaining = config.delta_fault_count - 1
            self.config = config.model_copy(
                update={
                    "delta_fault_count": remaining,
                    "delta_fault": mode if remaining else "none",
                }
            )
        return mode

    def topic_paused(self, topic: str) -> bool:
        paused = self.config.paused_topics
        return topic in paused or "*" in paused
