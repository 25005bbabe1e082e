"""The list of every message type on the bus and the highest schema version this code reads."""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from mm_proto.control import (
    CancelAllRequest,
    ConfigGetRequest,
    ConfigSetRequest,
    ConfigUnsetRequest,
    CtlReply,
    FlattenRequest,
    HaltRequest,
    Heartbeat,
    ResumeRequest,
    StatusRequest,
)
from mm_proto.economics import KpiSnapshot
from mm_proto.gate import ObligationSummary, ReconciliationResult, TickToOrderSummary
from mm_proto.instrument import FeeSchedule, InstrumentDefinition
from mm_proto.market import BookDepth, BookTop, FeedStatus, Trade
from mm_proto.message import Message
from mm_proto.orders import (
    Fill,
    FundingSettlement,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderTarget,
    Position,
)
from mm_proto.policy import PolicyDecision
from mm_proto.quoting import QuoteIntent
from mm_proto.risk import HaltState, RiskEvent
from mm_proto.rollout import RolloutEvent, RolloutState

MESSAGE_TYPES: Final[tuple[type[Message], ...]] = (
    InstrumentDefinition,
    BookTop,
    BookDepth,
    Trade,
    FeedStatus,
    QuoteIntent,
    OrderTarget,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderRejected,
    OrderFilled,
    Fill,
    Position,
    RiskEvent,
    HaltState,
    HaltRequest,
    ResumeRequest,
    CancelAllRequest,
    FlattenRequest,
    StatusRequest,
    ConfigGetRequest,
    ConfigSetRequest,
    ConfigUnsetRequest,
    CtlReply,
    Heartbeat,
    FeeSchedule,
    FundingSettlement,
    KpiSnapshot,
    PolicyDecision,
    RolloutState,
    RolloutEvent,
    TickToOrderSummary,
    ObligationSummary,
    ReconciliationResult,
)


def tag_of(message_type: type[Message]) -> str:
    """The wire tag (value of `type`) of a message class."""
    tag = message_type.__struct_config__.tag
    if not isinstance(tag, str):
        raise TypeError(f"message type {message_type.__name__} needs an explicit string tag")
    return tag


MESSAGE_TYPES_BY_TAG: Final[Mapping[str, type[Message]]] = MappingProxyType(
    {tag_of(message_type): message_type for message_type in MESSAGE_TYPES}
)

# The highest major version of each message type this code can read. Bump a tag's number here,
# together with the type, only for a change older readers must refuse; additive changes (new fields
# with defaults) keep the version.
SUPPORTED_VERSIONS: Final[Mapping[str, int]] = MappingProxyType(
    {tag: 1 for tag in MESSAGE_TYPES_BY_TAG}
)
