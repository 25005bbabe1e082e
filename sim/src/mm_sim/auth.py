"""Request authentication: HMAC-SHA256 signatures, API keys and the recv_window clock check."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from mm_sim import errors
from mm_sim.clock import Clock
from mm_sim.errors import BybitError
from mm_sim.settings import ApiKey

DEFAULT_RECV_WINDOW = 5000
FUTURE_TOLERANCE_MS = 1000


def sign(secret: str, text: str) -> str:
    """Lowercase hex HMAC-SHA256, as Bybit signs REST payloads and WS auth."""
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


class Authenticator:
    """Knows the configured keys and checks REST headers and WS auth arguments against them."""

    def __init__(self, keys: list[ApiKey], clock: Clock) -> None:
        self._keys = {key.key: key for key in keys}
        self._clock = clock

    def verify_rest(self, headers: Mapping[str, str], payload: str) -> int:
        """Return the UID of a correctly signed request, or raise the retCode Bybit gives."""
        api_key = headers.get("X-BAPI-API-KEY", "")
        stamp, signature = headers.get("X-BAPI-TIMESTAMP", ""), headers.get("X-BAPI-SIGN", "")
        if not (api_key and stamp and signature):
            # Missing auth headers: HTTP 401 (reference §3.2) with the text Bybit sends for them.
            raise BybitError(
                errors.PARAMETER_ERROR,
                f"empty value: apiTimestamp[{stamp}] apiKey[{api_key}] "
                f"apiSignature[{signature}]: openapi sign params error!",
                http_status=401,
            )
        key = self._keys.get(api_key)
        if key is None:
            raise BybitError(errors.INVALID_API_KEY)
        timestamp_text = headers.get("X-BAPI-TIMESTAMP", "")
        recv_text = headers.get("X-BAPI-RECV-WINDOW", "") or str(DEFAULT_RECV_WINDOW)
        if not timestamp_text.isdigit() or not recv_text.isdigit():
            raise BybitError(
                errors.PARAMETER_ERROR,
                f"params error: X-BAPI-TIMESTAMP and X-BAPI-RECV-WINDOW must be integers, "
                f"received {timestamp_text!r} and {recv_text!r}",
            )
        self.check_window(int(timestamp_text), int(recv_text))
        origin = f"{timestamp_text}{api_key}{recv_text}{payload}"
        expected = sign(key.secret.get_secret_value(), origin)
        if not hmac.compare_digest(expected, headers.get("X-BAPI-SIGN", "").lower()):
            raise BybitError(errors.SIGNATURE_ERROR, f"error sign! origin_string[{origin}]")
        return key.uid

    def check_window(self, timestamp: int, recv_window: int) -> None:
        now = self._clock.now_ms()
        if not now - recv_window <= timestamp < now + FUTURE_TOLERANCE_MS:
            raise BybitError(
                errors.TIMESTAMP_OUT_OF_WINDOW,
                "invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{timestamp}],server_timestamp[{now}],recv_window[{recv_window}]",
            )

    def verify_ws(self, args: object) -> int:
        """Check `["apiKey", expires, "signature"]` from a WS auth op; return the UID."""
        if not isinstance(args, list) or len(args) != 3:
            raise BybitError(errors.PARAMETER_ERROR, "Params Error")
        api_key, expires, signature = args
        key = self._keys.get(api_key) if isinstance(api_key, str) else None
        if key is None:
            raise BybitError(errors.INVALID_API_KEY, "Invalid apikey")
        if isinstance(expires, bool) or not isinstance(expires, int | str):
            raise BybitError(errors.PARAMETER_ERROR, "Params Error")
        expires_text = str(expires)
        if not expires_text.isdigit() or int(expires_text) <= self._clock.now_ms():
            raise BybitError(errors.PARAMETER_ERROR, "error:request expired")
        expected = sign(key.secret.get_secret_value(), f"GET/realtime{expires_text}")
        if not isinstance(signature, str) or not hmac.compare_digest(expected, signature.lower()):
            raise BybitError(errors.SIGNATURE_ERROR, "Invalid sign")
        return key.uid
