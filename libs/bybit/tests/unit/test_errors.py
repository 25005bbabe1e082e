"""retCodes and HTTP statuses map to typed exceptions that say whether a retry may help."""

import pytest

from mm_bybit.errors import (
    AuthError,
    BybitError,
    DuplicateClientOrderId,
    InsufficientBalance,
    IpBanned,
    OrderNotFound,
    ParameterError,
    PostOnlyCancelled,
    RateLimited,
    ServerBusy,
    TimestampError,
    error_from_http_status,
    error_from_reject_reason,
    error_from_ret_code,
)


@pytest.mark.parametrize(
    ("ret_code", "expected_type", "retryable"),
    [
        (10001, ParameterError, False),
        (10002, TimestampError, True),
        (10003, AuthError, False),
        (10004, AuthError, False),
        (10005, AuthError, False),
        (10007, AuthError, False),
        (10010, AuthError, False),
        (10000, ServerBusy, True),
        (10016, ServerBusy, True),
        (110001, OrderNotFound, False),
        (170213, OrderNotFound, False),
        (110004, InsufficientBalance, False),
        (110007, InsufficientBalance, False),
        (110012, InsufficientBalance, False),
        (170131, InsufficientBalance, False),
        (110072, DuplicateClientOrderId, False),
        (170141, DuplicateClientOrderId, False),
        (999999, BybitError, False),
    ],
)
def test_ret_code_maps_to_its_exception(
    ret_code: int, expected_type: type[BybitError], retryable: bool
) -> None:
    error = error_from_ret_code(ret_code, "some message")
    assert type(error) is expected_type
    assert error.retryable is retryable
    assert error.ret_code == ret_code
    assert str(ret_code) in str(error)


def test_rate_limit_carries_its_reset_timestamp() -> None:
    error = error_from_ret_code(10006, "Too many visits!", reset_timestamp_ms=1700000000999)
    assert isinstance(error, RateLimited)
    assert error.retryable
    assert error.reset_timestamp_ms == 1700000000999


def test_signature_error_does_not_echo_the_signed_string_with_the_key() -> None:
    error = error_from_ret_code(
        10004, "error sign! origin_string[1700000000000test-key5000category=linear]"
    )
    assert "test-key" not in str(error)
    assert "redacted" in str(error)


@pytest.mark.parametrize(
    ("status", "expected_type", "retryable"),
    [
        (403, IpBanned, False),
        (401, AuthError, False),
        (429, ServerBusy, True),
        (502, ServerBusy, True),
        (404, BybitError, False),
    ],
)
def test_http_status_maps_to_its_exception(
    status: int, expected_type: type[BybitError], retryable: bool
) -> None:
    error = error_from_http_status(status, "body")
    assert type(error) is expected_type
    assert error.retryable is retryable
    assert error.http_status == status


def test_post_only_kill_on_the_order_stream_maps_to_post_only_cancelled() -> None:
    error = error_from_reject_reason("EC_PostOnlyWillTakeLiquidity", "mm-1")
    assert isinstance(error, PostOnlyCancelled)
    assert "mm-1" in str(error)
    assert error_from_reject_reason("EC_NoError") is None
    assert isinstance(error_from_reject_reason("EC_OrigClOrdIDDoesNotExist"), OrderNotFound)
    assert type(error_from_reject_reason("EC_CancelByMMP")) is BybitError
