"""Bybit v5 request signing: the exact bytes of a query or body and their HMAC-SHA256 signatures."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

import msgspec

QueryValue = str | int | bool | None

_JSON_ENCODER = msgspec.json.Encoder()


def hmac_sha256_hex(secret: str, message: str | bytes) -> str:
    """Return the lowercase hex HMAC-SHA256 of `message` under `secret`."""
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def rest_signature(
    secret: str, timestamp_ms: int, api_key: str, recv_window_ms: int, payload: str | bytes
) -> str:
    """Sign `timestamp + apiKey + recvWindow + payload`, where payload is exactly what is sent."""
    prefix = f"{timestamp_ms}{api_key}{recv_window_ms}".encode()
    body = payload.encode() if isinstance(payload, str) else payload
    return hmac_sha256_hex(secret, prefix + body)


def websocket_auth_signature(secret: str, expires_ms: int) -> str:
    """Sign `GET/realtime + expires` for the private and trade WebSocket `auth` op."""
    return hmac_sha256_hex(secret, f"GET/realtime{expires_ms}")


def _query_text(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_UNSAFE_QUERY_CHARACTERS = frozenset("&=#? \t\r\n+")


def encode_query(params: Mapping[str, QueryValue]) -> str:
    """Build the query string that is both sent and signed: keys in given order, None dropped.

    Values go out verbatim, as pybit sends them: the venue hands back cursors already
    percent-encoded, and encoding them again would change the cursor. A value that would change
    the meaning of the query is refused instead.
    """
    parts: list[str] = []
    for key, value in params.items():
        if value is None:
            continue
        text = _query_text(value)
        bad = sorted(_UNSAFE_QUERY_CHARACTERS.intersection(key + text))
        if bad:
            raise ValueError(
                f"query parameter {key!r} must not contain any of {bad!r}, was {text!r}"
            )
        parts.append(f"{key}={text}")
    return "&".join(parts)


def encode_body(body: object) -> bytes:
    """Serialise a POST body compactly; these bytes are both signed and sent."""
    return _JSON_ENCODER.encode(body)


def signed_headers(
    api_key: str, secret: str, timestamp_ms: int, recv_window_ms: int, payload: str | bytes
) -> dict[str, str]:
    """Return the X-BAPI-* authentication headers for one request."""
    return {
        "X-BAPI-API-KEY": api_key,
        "X-BAPI-TIMESTAMP": str(timestamp_ms),
        "X-BAPI-RECV-WINDOW": str(recv_window_ms),
        "X-BAPI-SIGN": rest_signature(secret, timestamp_ms, api_key, recv_window_ms, payload),
        "X-BAPI-SIGN-TYPE": "2",
    }
