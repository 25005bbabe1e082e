"""The REST transport: one pooled httpx client, exact signing, budgets, breaker and typed errors."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, NoReturn, TypeVar

import httpx
import msgspec

from mm_bybit.circuit import CircuitBreaker
from mm_bybit.credentials import ApiCredentials
from mm_bybit.errors import (
    AuthError,
    BybitError,
    RateLimited,
    RequestTimeout,
    ServerBusy,
    TimestampError,
    TransportError,
    error_from_http_status,
    error_from_ret_code,
)
from mm_bybit.rate_budget import Priority, RateBudget, parse_limit_headers
from mm_bybit.raw import RestEnvelope, ServerTime, decoder
from mm_bybit.send_gate import check_send_gate
from mm_bybit.signing import QueryValue, encode_body, encode_query, signed_headers

log = logging.getLogger(__name__)

Result = TypeVar("Result")

_ENVELOPE = decoder(RestEnvelope)
_SERVER_TIME = decoder(ServerTime)


class RestResponse(msgspec.Struct, frozen=True, kw_only=True):
    """A successful envelope with the response headers the caller may want (Traceid, limits)."""

    envelope: RestEnvelope
    headers: dict[str, str]


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class RestClient:
    """Sends signed requests to one Bybit REST host; build one per process and share it.

    Connect and read timeouts are separate: a connect timeout means the request never left and is
    safe to repeat; a read timeout leaves the outcome unknown (`RequestTimeout`), which the caller
    must reconcile. A 10006 parks the endpoint's bucket until the venue's reset time and resends
    (the venue did not act on it); a 10002 resynchronises the clock once and resends.
    """

    def __init__(
        self,
        base_url: str,
        credentials: ApiCredentials | None = None,
        *,
        recv_window_ms: int = 5000,
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 10.0,
        budget: RateBudget | None = None,
        circuit: CircuitBreaker | None = None,
        max_rate_limit_retries: int = 3,
        wall_clock_ms: Callable[[], int] = _wall_clock_ms,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = credentials
        self.recv_window_ms = recv_window_ms
        self.budget = budget or RateBudget()
        self.circuit = circuit or CircuitBreaker()
        self._max_rate_limit_retries = max_rate_limit_retries
        self._wall_clock_ms = wall_clock_ms
        self.clock_offset_ms = 0
        self._owns_http = http_client is None
        # Direct connections (trust_env=False): a proxy picked up from the environment would sit
        # between us and the venue unnoticed, as the WebSocket clients refuse too.
        self._http = http_client or httpx.AsyncClient(
            timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            trust_env=False,
        )

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    def timestamp_ms(self) -> int:
        """Local wall time corrected by the offset measured against the venue."""
        return self._wall_clock_ms() + self.clock_offset_ms

    async def sync_clock(self) -> int:
        """Measure the venue's clock against ours at the round trip's midpoint; return it."""
        sent = self._wall_clock_ms()
        response = await self.get("/v5/market/time", {}, signed=False)
        received = self._wall_clock_ms()
        server = _SERVER_TIME.decode(response.envelope.result)
        server_ms = int(server.time_nano) // 1_000_000 if server.time_nano else 0
        server_ms = server_ms or int(server.time_second) * 1000
        self.clock_offset_ms = server_ms - (sent + received) // 2
        return self.clock_offset_ms

    async def get(
        self,
        path: str,
        params: Mapping[str, QueryValue],
        *,
        signed: bool = True,
        priority: Priority | None = None,
    ) -> RestResponse:
        """GET `path`; the query string is signed exactly as it appears in the URL."""
        query = encode_query(params)
        return await self._send("GET", path, query, None, signed, priority, 1)

    async def post(
        self, path: str, body: object, *, priority: Priority | None = None, count: int = 1
    ) -> RestResponse:
        """POST a signed JSON body; `count` is how many budget slots it takes (batch size)."""
        return await self._send("POST", path, "", encode_body(body), True, priority, count)

    async def get_result(
        self, path: str, params: Mapping[str, QueryValue], result_type: type[Result], **kw: Any
    ) -> Result:
        """GET and decode `result` into `result_type`."""
        response = await self.get(path, params, **kw)
        return self._decode_result(path, response, result_type)

    async def post_result(
        self, path: str, body: object, result_type: type[Result], **kw: Any
    ) -> Result:
        """POST and decode `result` into `result_type`."""
        response = await self.post(path, body, **kw)
        return self._decode_result(path, response, result_type)

    @staticmethod
    def _decode_result(path: str, response: RestResponse, result_type: type[Result]) -> Result:
        try:
            return msgspec.json.decode(response.envelope.result, type=result_type, strict=False)
        except msgspec.ValidationError as error:
            raise BybitError(
                f"{path}: result did not match {result_type.__name__}: {error}"
            ) from None

    def _headers(self, payload: str | bytes, has_body: bool) -> dict[str, str]:
        headers = {"Content-Type": "application/json"} if has_body else {}
        if self._credentials is None:
            raise AuthError("this endpoint needs credentials, but the client has none")
        headers |= signed_headers(
            self._credentials.api_key,
            self._credentials.secret(),
            self.timestamp_ms(),
            self.recv_window_ms,
            payload,
        )
        return headers

    async def _send(
        self,
        method: str,
        path: str,
        query: str,
        body: bytes | None,
        signed: bool,
        priority: Priority | None,
        count: int,
    ) -> RestResponse:
        rate_limited = 0
        synced = False
        while True:
            try:
                return await self._send_once(method, path, query, body, signed, priority, count)
            except RateLimited:
                # The venue did not act on it; the bucket is parked until the reset time.
                rate_limited += 1
                log.warning("rate limited on %s (%d time(s))", path, rate_limited)
                if rate_limited > self._max_rate_limit_retries:
                    raise
            except TimestampError:
                if synced:
                    raise
                synced = True
                await self.sync_clock()

    async def _send_once(
        self,
        method: str,
        path: str,
        query: str,
        body: bytes | None,
        signed: bool,
        priority: Priority | None,
        count: int,
    ) -> RestResponse:
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        self.circuit.before_call()
        try:
            async with self.budget.slot(path, priority, count) as bucket:
                payload: str | bytes = body if body is not None else query
                headers = self._headers(payload, body is not None) if signed else {}
                check_send_gate(path)  # after the slot was granted, before the write
                response = await self._transmit(method, path, url, body, headers)
                limit, remaining, reset_ms = parse_limit_headers(response.headers)
                bucket.update_from_headers(limit, remaining)
        except BaseException:  # cancelled mid-probe included: never leave a probe in flight
            self.circuit.record_abandoned()
            raise
        if response.status_code != 200:
            self._fail(error_from_http_status(response.status_code, response.text))
        try:
            envelope = _ENVELOPE.decode(response.content)
        except (msgspec.DecodeError, UnicodeDecodeError):  # msgspec raises the latter on bad UTF-8
            self._fail(
                ServerBusy(f"{path}: expected a JSON envelope, received {response.text[:120]!r}")
            )
        if envelope.ret_code != 0:
            error = error_from_ret_code(envelope.ret_code, envelope.ret_msg, reset_ms or 0)
            if isinstance(error, RateLimited):
                bucket.block_until(error.reset_timestamp_ms or self._wall_clock_ms() + 1000)
            self._fail(error)
        self.circuit.record_success()
        return RestResponse(envelope=envelope, headers=dict(response.headers))

    async def _transmit(
        self, method: str, path: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> httpx.Response:
        try:
            return await self._http.request(method, url, content=body, headers=headers)
        except httpx.ConnectError as error:
            self.circuit.record_failure()
            raise TransportError(f"{method} {path}: could not connect ({error})") from None
        except httpx.ConnectTimeout:
            self.circuit.record_failure()
            raise TransportError(f"{method} {path}: connect timed out") from None
        except httpx.TimeoutException:
            self.circuit.record_failure()
            raise RequestTimeout(f"{method} {path}: no answer in time; outcome unknown") from None
        except httpx.TransportError as error:
            self.circuit.record_failure()
            raise TransportError(f"{method} {path}: {type(error).__name__} {error}") from None

    def _fail(self, error: BybitError) -> NoReturn:
        """Count venue-health failures on the breaker, then raise."""
        if isinstance(error, ServerBusy | TransportError):
            self.circuit.record_failure()
        else:
            self.circuit.record_success()
        raise error
