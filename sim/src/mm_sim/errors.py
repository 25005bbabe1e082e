"""Bybit v5 retCodes and messages the simulator answers with, and the error that carries them."""

from __future__ import annotations

OK = 0
SERVER_TIMEOUT = 10000
PARAMETER_ERROR = 10001
TIMESTAMP_OUT_OF_WINDOW = 10002
INVALID_API_KEY = 10003
SIGNATURE_ERROR = 10004
TOO_MANY_VISITS = 10006
SERVER_ERROR = 10016
ROUTE_NOT_FOUND = 10017
ORDER_NOT_EXISTS = 110001
INSUFFICIENT_AVAILABLE_BALANCE = 110007
ORDER_ALREADY_FINISHED = 110008
REDUCE_ONLY_VIOLATION = 110017
TOO_MANY_ACTIVE_ORDERS = 110020
NOTIONAL_TOO_SMALL = 110094
DUPLICATE_ORDER_LINK_ID = 110072
SPOT_ORDER_NOT_EXISTS = 170213
SPOT_DUPLICATE_ORDER_LINK_ID = 170141
WS_REPEATED_AUTH = 20001
WS_DUPLICATE_REQ_ID = 20006
WS_UNKNOWN_OP = 10404

MESSAGES: dict[int, str] = {
    SERVER_TIMEOUT: "Server Timeout",
    TOO_MANY_VISITS: "Too many visits!",
    SERVER_ERROR: "Internal server error.",
    ROUTE_NOT_FOUND: "Request path not found or request method is invalid",
    ORDER_NOT_EXISTS: "order not exists or too late to cancel",
    INSUFFICIENT_AVAILABLE_BALANCE: "ab not enough for new order",
    ORDER_ALREADY_FINISHED: "The order has been filled or cancelled.",
    REDUCE_ONLY_VIOLATION: "current position is zero, cannot fix reduce-only order qty",
    TOO_MANY_ACTIVE_ORDERS: "Too many active orders",
    DUPLICATE_ORDER_LINK_ID: "OrderLinkedID is duplicate",
    SPOT_ORDER_NOT_EXISTS: "Order does not exist.",
    SPOT_DUPLICATE_ORDER_LINK_ID: "Duplicate clientOrderId",
    INVALID_API_KEY: "API key is invalid.",
    WS_REPEATED_AUTH: "Repeat auth",
    WS_DUPLICATE_REQ_ID: "Duplicate reqId",
    WS_UNKNOWN_OP: "Invalid op",
}


class BybitError(Exception):
    """A refusal the venue reports with a retCode and retMsg (HTTP 200 unless `http_status`)."""

    def __init__(self, code: int, message: str | None = None, http_status: int = 200) -> None:
        self.code = code
        self.message = message if message is not None else MESSAGES.get(code, "error")
        self.http_status = http_status
        super().__init__(f"{code}: {self.message}")


def parameter_error(detail: str) -> BybitError:
    """A 10001 with Bybit's `params error: ...` wording."""
    return BybitError(PARAMETER_ERROR, f"params error: {detail}")
