"""The Bybit v5 protocol client: signing, REST, WebSocket streams, parsing into proto types."""

from mm_bybit.api import BatchOutcome, BybitRestApi
from mm_bybit.backoff import Backoff
from mm_bybit.circuit import CircuitBreaker, CircuitState
from mm_bybit.connection_events import (
    BackingOff,
    Connected,
    Connecting,
    ConnectionEvent,
    Disconnected,
    Subscribed,
    SubscriptionRejected,
)
from mm_bybit.convert import (
    ConversionError,
    fill_from_execution,
    instrument_definition,
    order_event_from_order,
    position_from_raw,
    trades_from_message,
)
from mm_bybit.credentials import ApiCredentials, CredentialsError, load_credentials
from mm_bybit.errors import (
    AuthError,
    BybitError,
    CircuitOpen,
    DuplicateClientOrderId,
    InsufficientBalance,
    IpBanned,
    OrderNotFound,
    ParameterError,
    PostOnlyCancelled,
    RateLimited,
    RequestTimeout,
    ServerBusy,
    TimestampError,
    TransportError,
    error_from_reject_reason,
)
from mm_bybit.executions import ExecutionFilter
from mm_bybit.instruments import (
    FeeRates,
    VenueReference,
    load_fee_rates,
    load_instruments,
    load_reference,
)
from mm_bybit.order_requests import (
    AmendOrder,
    CancelOrder,
    CreateOrder,
    NewOrder,
    OrderRequest,
    amend_request,
    cancel_request,
    create_request,
)
from mm_bybit.pushes import OrderPush, PositionPush, VenueOrder, order_push, position_push
from mm_bybit.rate_budget import Priority, RateBudget
from mm_bybit.rest import RestClient
from mm_bybit.ws_private import PrivateHandlers, PrivateStream
from mm_bybit.ws_public import PublicFrame, PublicStream
from mm_bybit.ws_trade import TradeStream

__all__ = [
    "AmendOrder",
    "ApiCredentials",
    "AuthError",
    "BackingOff",
    "Backoff",
    "BatchOutcome",
    "BybitError",
    "BybitRestApi",
    "CancelOrder",
    "CircuitBreaker",
    "CircuitOpen",
    "CircuitState",
    "Connected",
    "Connecting",
    "ConnectionEvent",
    "ConversionError",
    "CreateOrder",
    "CredentialsError",
    "Disconnected",
    "DuplicateClientOrderId",
    "ExecutionFilter",
    "FeeRates",
    "InsufficientBalance",
    "IpBanned",
    "NewOrder",
    "OrderNotFound",
    "OrderPush",
    "OrderRequest",
    "ParameterError",
    "PositionPush",
    "PostOnlyCancelled",
    "Priority",
    "PrivateHandlers",
    "PrivateStream",
    "PublicFrame",
    "PublicStream",
    "RateBudget",
    "RateLimited",
    "RequestTimeout",
    "RestClient",
    "ServerBusy",
    "Subscribed",
    "SubscriptionRejected",
    "TimestampError",
    "TradeStream",
    "TransportError",
    "VenueOrder",
    "VenueReference",
    "amend_request",
    "cancel_request",
    "create_request",
    "error_from_reject_reason",
    "fill_from_execution",
    "instrument_definition",
    "load_credentials",
    "load_fee_rates",
    "load_instruments",
    "load_reference",
    "order_event_from_order",
    "order_push",
    "position_from_raw",
    "position_push",
    "trades_from_message",
]
