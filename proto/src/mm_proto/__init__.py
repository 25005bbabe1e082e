"""The bus contract: every message between services, the subject names and the codecs."""

from mm_proto.codec import DecodeError, UnsupportedVersion, decode, encode, from_json, to_json
from mm_proto.control import (
    CancelAllRequest,
    ConfigGetRequest,
    ConfigSetRequest,
    ConfigUnsetRequest,
    CtlReply,
    CtlRequestMessage,
    FlattenRequest,
    HaltRequest,
    Heartbeat,
    ResumeRequest,
    StatusRequest,
)
from mm_proto.economics import KpiSnapshot
from mm_proto.gate import ObligationSummary, ReconciliationResult, TickToOrderSummary
from mm_proto.instrument import TRADING_STATUS, FeeSchedule, Grid, InstrumentDefinition
from mm_proto.market import BookDepth, BookTop, FeedState, FeedStatus, Trade
from mm_proto.message import DEFAULT_COLOR, Message, Side
from mm_proto.orders import (
    Fill,
    FundingSettlement,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderTarget,
    Position,
)
from mm_proto.policy import PolicyDecision
from mm_proto.quoting import QuoteIntent, QuoteLevel
from mm_proto.registry import MESSAGE_TYPES, SUPPORTED_VERSIONS
from mm_proto.risk import HaltState, RiskEvent
from mm_proto.rollout import RolloutEvent, RolloutState

__all__ = [
    "DEFAULT_COLOR",
    "MESSAGE_TYPES",
    "SUPPORTED_VERSIONS",
    "TRADING_STATUS",
    "BookDepth",
    "BookTop",
    "CancelAllRequest",
    "ConfigGetRequest",
    "ConfigSetRequest",
    "ConfigUnsetRequest",
    "CtlReply",
    "CtlRequestMessage",
    "DecodeError",
    "FeeSchedule",
    "FeedState",
    "FeedStatus",
    "Fill",
    "FlattenRequest",
    "FundingSettlement",
    "Grid",
    "HaltRequest",
    "HaltState",
    "Heartbeat",
    "InstrumentDefinition",
    "KpiSnapshot",
    "Message",
    "ObligationSummary",
    "OrderAccepted",
    "OrderAmended",
    "OrderCancelled",
    "OrderEvent",
    "OrderFilled",
    "OrderRejected",
    "OrderTarget",
    "PolicyDecision",
    "Position",
    "QuoteIntent",
    "QuoteLevel",
    "ReconciliationResult",
    "ResumeRequest",
    "RiskEvent",
    "RolloutEvent",
    "RolloutState",
    "Side",
    "StatusRequest",
    "TickToOrderSummary",
    "Trade",
    "UnsupportedVersion",
    "decode",
    "encode",
    "from_json",
    "to_json",
]
