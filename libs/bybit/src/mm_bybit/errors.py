"""The venue's retCodes and HTTP failures as typed exceptions that say what is retryable."""

# The exception names (RateLimited, OrderNotFound, ...) are the ones the services were promised;
# an "Error" suffix on each would only add noise at every `except`.
# ruff: noqa: N818

from __future__ import annotations

import re


class BybitError(Exception):
    """A request to Bybit failed; `retryable` says whether sending it again may succeed."""

    retryable: bool = False

    def __init__(self, message: str, ret_code: int | None = None, http_status: int | None = None):
        super().__init__(message)
        self.message = message
        self.ret_code = ret_code
        self.http_status = http_status


class RateLimited(BybitError):
    """retCode 10006: the per-UID budget for this endpoint is spent until `reset_timestamp_ms`."""

    retryable = True

    def __init__(self, message: str, ret_code: int | None = 10006, reset_timestamp_ms: int = 0):
        super().__init__(message, ret_code)
        self.reset_timestamp_ms = reset_timestamp_ms


class IpBanned(BybitError):
    """HTTP 403 "access too frequent": the IP is banned for at least ten minutes; stop sending."""


class AuthError(BybitError):
    """The key, signature, permission or IP whitelist was refused."""


class TimestampError(BybitError):
    """retCode 10002: the request timestamp fell outside recv_window; resync the clock and retry."""

    retryable = True


class OrderNotFound(BybitError):
    """The order does not exist, or it is too late to cancel or amend it."""


class InsufficientBalance(BybitError):
    """The wallet or available balance does not cover the order."""


class DuplicateClientOrderId(BybitError):
    """The orderLinkId was already used; the first request with it reached the venue."""


class PostOnlyCancelled(BybitError):
    """A post-only order would have taken liquidity and the venue killed it."""


class ServerBusy(BybitError):
    """The venue timed out, is restarting or is shedding load; retry later."""

    retryable = True


class ParameterError(BybitError):
    """The venue rejected a parameter (price tick, quantity step, position index, ...)."""


class TransportError(BybitError):
    """The request did not complete on the wire (connect, read or write failure)."""

    retryable = True


class RequestTimeout(BybitError):
    """No answer arrived within the deadline; the outcome is unknown and must be reconciled."""

    retryable = True


class CircuitOpen(BybitError):
    """The local circuit breaker refuses requests until its reset period has passed."""

    retryable = True


class Fenced(BybitError):
    """Not sent: the caller's send gate (`mm_bybit.send_gate`) refused it at the last moment."""


_BY_RET_CODE: dict[int, type[BybitError]] = {
    10000: ServerBusy,
    10001: ParameterError,
    10002: TimestampError,
    10003: AuthError,
    10004: AuthError,
    10005: AuthError,
    10007: AuthError,
    10008: AuthError,
    10009: AuthError,
    10010: AuthError,
    10016: ServerBusy,
    10019: ServerBusy,
    10429: ServerBusy,
    110001: OrderNotFound,
    110008: OrderNotFound,
    110010: OrderNotFound,
    170213: OrderNotFound,
    110004: InsufficientBalance,
    110007: InsufficientBalance,
    110012: InsufficientBalance,
    170131: InsufficientBalance,
    110072: DuplicateClientOrderId,
    170141: DuplicateClientOrderId,
    110079: ServerBusy,
    110003: ParameterError,
    110094: ParameterError,
    170134: ParameterError,
    170135: ParameterError,
    170136: ParameterError,
    170137: ParameterError,
    170140: ParameterError,
    170193: ParameterError,
    170194: ParameterError,
}

# A 10004 message echoes the string the venue signed, which holds the API key: keep it out of logs.
_ORIGIN_STRING = re.compile(r"origin_string\[[^\]]*\]")
# A missing-auth-header answer echoes the headers it did get ("apiKey[...] apiSignature[...]").
_ECHOED_HEADERS = re.compile(r"\b(apiKey|apiSignature)\[[^\]]*\]")


def redact_venue_message(message: str) -> str:
    """Remove the echoed signing input and auth headers from a venue error message."""
    message = _ORIGIN_STRING.sub("origin_string[redacted]", message)
    return _ECHOED_HEADERS.sub(lambda match: f"{match.group(1)}[redacted]", message)


def error_from_ret_code(ret_code: int, ret_message: str, reset_timestamp_ms: int = 0) -> BybitError:
    """Map a non-zero retCode and its retMsg to the matching exception."""
    text = f"Bybit retCode {ret_code}: {redact_venue_message(ret_message)}"
    if ret_code == 10006:
        return RateLimited(text, ret_code, reset_timestamp_ms)
    error_type = _BY_RET_CODE.get(ret_code, BybitError)
    return error_type(text, ret_code)


def error_from_http_status(status: int, body_text: str) -> BybitError:
    """Map a non-200 HTTP status (sent before any envelope) to the matching exception."""
    text = f"Bybit HTTP {status}: {redact_venue_message(body_text[:200])}"
    if status == 403:
        return IpBanned(text, http_status=status)
    if status == 401:
        return AuthError(text, http_status=status)
    if status == 429 or status >= 500:
        return ServerBusy(text, http_status=status)
    return BybitError(text, http_status=status)


def error_from_reject_reason(reject_reason: str, order_link_id: str = "") -> BybitError | None:
    """The typed error an order push's rejectReason stands for, or None when it is no error.

    A crossing PostOnly is accepted with retCode 0 and killed afterwards; this is how a caller
    that waits for the outcome on the order stream turns that kill into PostOnlyCancelled.
    """
    if reject_reason in ("", "EC_NoError"):
        return None
    text = f"order {order_link_id or '(no link id)'}: {reject_reason}"
    if reject_reason == "EC_PostOnlyWillTakeLiquidity":
        return PostOnlyCancelled(text)
    if reject_reason == "EC_OrigClOrdIDDoesNotExist":
        return OrderNotFound(text)
    return BybitError(text)
