"""Operator commands on `ctl.<service>.<verb>` (request/reply), their reply, and heartbeats."""

import msgspec

from mm_proto.message import Message, TimestampNs


class HaltRequest(Message, frozen=True, kw_only=True, tag="halt_request"):
    """Trip the kill switch."""

    reason: str
    operator: str


class ResumeRequest(Message, frozen=True, kw_only=True, tag="resume_request"):
    """Clear the kill switch."""

    reason: str
    operator: str


class CancelAllRequest(Message, frozen=True, kw_only=True, tag="cancel_all_request"):
    """Cancel every resting order, or only one symbol's."""

    symbol: str = ""  # "" means every symbol


class FlattenRequest(Message, frozen=True, kw_only=True, tag="flatten_request"):
    """Reduce one symbol's position to zero with reduce-only orders; allowed while halted.

    `max_slippage_bps` 0 rests post-only orders at the touch; above 0 sends IOC orders priced at
    most that many basis points through the mid."""

    symbol: str
    operator: str
    max_slippage_bps: int = 0


class StatusRequest(Message, frozen=True, kw_only=True, tag="status_request"):
    """Ask a service to describe its state in the reply's `data`."""


class ConfigGetRequest(Message, frozen=True, kw_only=True, tag="config_get_request"):
    """Read one configuration value."""

    key: str


class ConfigSetRequest(Message, frozen=True, kw_only=True, tag="config_set_request"):
    """Change one configuration value; the reply says whether it applies live."""

    key: str
    value: str


class ConfigUnsetRequest(Message, frozen=True, kw_only=True, tag="config_unset_request"):
    """Remove one configuration entry; the values beneath it (default, settings) apply again."""

    key: str


CtlRequestMessage = (
    HaltRequest
    | ResumeRequest
    | CancelAllRequest
    | FlattenRequest
    | StatusRequest
    | ConfigGetRequest
    | ConfigSetRequest
    | ConfigUnsetRequest
)
"""Every control request, decodable as one tagged union."""


class CtlReply(Message, frozen=True, kw_only=True, tag="ctl_reply"):
    """The answer to any control request; `ok=False` carries the reason in `message`."""

    ok: bool
    message: str
    data: dict[str, str] = msgspec.field(default_factory=dict)


class Heartbeat(Message, frozen=True, kw_only=True, tag="heartbeat"):
    """A service instance saying it is alive (the executor halts when risk's stop)."""

    service: str
    instance_id: str
    ts_sent_ns: TimestampNs
