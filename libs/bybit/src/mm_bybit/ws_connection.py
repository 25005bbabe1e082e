"""One WebSocket kept open: connect, open the session, read, ping; back off and reconnect.

No task of a connection ends unobserved. The reader and ping tasks of one socket are watched by
the connection's loop: the first to end closes the socket, is reported (`Disconnected` with the
reason; an end that is not the peer closing or a missed pong is also logged with its exception)
and the loop reconnects. The loop itself (`ws-<name>`) ends only on a bug: it logs, emits
`Disconnected("stopped: …")` and raises. A service runs it through `supervised()` under its own
task supervisor (this library does not import the runtime), which logs the end, turns readiness
false and restarts it; `start()` is for scripts and tests that watch the returned task.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from mm_bybit.backoff import Backoff
from mm_bybit.connection_events import (
    BackingOff,
    Connected,
    Connecting,
    ConnectionEvent,
    Disconnected,
    StateListener,
)
from mm_bybit.raw import Frame

log = logging.getLogger(__name__)

_FRAME = msgspec.json.Decoder(Frame)

FrameHandler = Callable[[bytes, Frame, int], None]
# Bytes that are not a JSON frame, with their receive time (a recorder keeps them raw).
UndecodableHandler = Callable[[bytes, int], None]
SessionOpener = Callable[[], Coroutine[Any, Any, None]]


# These two are internal signals between tasks of one connection, never raised to callers.
class SessionFailed(Exception):  # noqa: N818
    """Opening the session (auth, subscribe) failed; the connection is dropped and retried."""


class PongTimeout(Exception):  # noqa: N818
    """No pong arrived within the deadline after a ping."""


def is_pong(frame: Frame) -> bool:
    """Spot/linear/inverse answer with op=ping and ret_msg=pong; the others with op=pong."""
    return frame.op == "pong" or (frame.op == "ping" and frame.ret_msg == "pong")


class ReconnectingWebSocket:
    """Runs one logical connection until stopped, reporting every state change.

    `open_session` runs after each connect while frames are already being read (the venue can
    send the first snapshot before the subscribe ack), so a client can send auth and subscribe
    requests and await their replies. Frames that are not pongs go to `on_frame` with their
    receive time; a handler that raises is logged and counted, never fatal to the connection.
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        on_frame: FrameHandler,
        open_session: SessionOpener,
        on_state: StateListener | None = None,
        backoff: Backoff | None = None,
        ping_interval_s: float = 20.0,
        pong_timeout_s: float = 10.0,
        session_timeout_s: float = 10.0,
        on_undecodable: UndecodableHandler | None = None,
    ) -> None:
        self.name = name
        self._on_undecodable = on_undecodable
        self.url = url
        self._on_frame = on_frame
        self._open_session = open_session
        self._listeners: list[StateListener] = [on_state] if on_state else []
        self.backoff = backoff or Backoff()
        self.ping_interval_s = ping_interval_s
        self.pong_timeout_s = pong_timeout_s
        self.session_timeout_s = session_timeout_s
        self._socket: ClientConnection | None = None
        self._session_open = False
        self._pong = asyncio.Event()
        self._request_ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.handler_errors = 0
        self.undecodable_frames = 0

    @property
    def connected(self) -> bool:
        """True while a socket is open and its session (auth, subscriptions) is set up."""
        return self._socket is not None and self._session_open

    def add_listener(self, listener: StateListener) -> None:
        self._listeners.append(listener)

    def emit(self, event: ConnectionEvent) -> None:
        """Report a state change to every listener; a listener that raises is logged."""
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("%s: state listener failed on %s", self.name, type(event).__name__)

    def next_request_id(self) -> str:
        return f"{self.name}-{next(self._request_ids)}"

    async def send(self, text: str) -> None:
        """Send one text frame on the current socket; raises ConnectionError when there is none."""
        socket = self._socket
        if socket is None:
            raise ConnectionError(f"{self.name}: not connected")
        try:
            await socket.send(text)
        except ConnectionClosed as error:
            raise ConnectionError(
                f"{self.name}: connection closed while sending ({error})"
            ) from None

    def start(self) -> asyncio.Task[None]:
        """Run in the background until `close`."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name=f"ws-{self.name}")
        return self._task

    async def supervised(self) -> None:
        """Run the connection loop and end only when it ends: raising its exception, or returning
        when `close` stopped it. For a service's task supervisor to observe and restart."""
        self._closing = False
        task = self.start()
        await asyncio.wait({task})  # a cancel of this call leaves the loop to `close`
        if self._closing:
            return  # closed on purpose
        if task.cancelled():
            raise RuntimeError(f"{self.name}: connection task cancelled unexpectedly")
        task.result()  # raises what ended the loop
        raise RuntimeError(f"{self.name}: connection loop returned")

    async def close(self) -> None:
        """Stop reconnecting and close the socket."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        """Connect, serve, and reconnect with backoff, forever (cancel to stop)."""
        try:
            await self._run_forever()
        except Exception as error:
            # Only a bug or a malformed URL gets here; say so loudly rather than go quiet.
            log.exception("%s: connection loop stopped", self.name)
            self.emit(Disconnected(connection=self.name, reason=f"stopped: {error!r}"))
            raise

    async def _run_forever(self) -> None:
        while True:
            attempt = self.backoff.attempt + 1
            self.emit(Connecting(connection=self.name, url=self.url, attempt=attempt))
            reason = await self._serve_once()
            self.emit(Disconnected(connection=self.name, reason=reason))
            self.backoff.on_disconnected()
            delay = self.backoff.next_delay()
            self.emit(BackingOff(connection=self.name, delay_s=delay, attempt=attempt))
            await asyncio.sleep(delay)

    async def _serve_once(self) -> str:
        try:
            # Direct connections: a proxy from the environment must not sit between us and the
            # venue unnoticed; our own pings replace the library's (the venue wants op=ping).
            socket = await connect(
                self.url,
                ping_interval=None,
                open_timeout=self.session_timeout_s,
                max_size=2**24,
                proxy=None,
            )
        except (OSError, InvalidHandshake, TimeoutError) as error:
            return f"connect failed: {type(error).__name__}: {error}"
        self._socket = socket
        self.emit(Connected(connection=self.name))
        try:
            return await self._serve(socket)
        finally:
            self._socket = None
            self._session_open = False
            await socket.close()

    async def _serve(self, socket: ClientConnection) -> str:
        reader = asyncio.create_task(self._read(socket), name=f"ws-{self.name}-reader")
        tasks = {reader}
        try:
            setup_failure = await self._open(reader)
            if setup_failure is not None:
                return f"session setup failed: {setup_failure}"
            self._session_open = True
            self.backoff.on_connected()
            tasks.add(asyncio.create_task(self._ping(socket), name=f"ws-{self.name}-ping"))
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return self._describe_end(socket, self._failure(next(iter(done))))
        finally:
            # Also on cancellation (close): no task of this connection may outlive it.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _failure(self, task: asyncio.Task[None]) -> BaseException:
        """Why a reader or ping task ended; anything but the peer closing or a missed pong is
        unexpected and logged with its exception."""
        if task.cancelled():
            failure: BaseException = RuntimeError("reader or ping task cancelled")
        else:
            failure = task.exception() or RuntimeError("reader or ping task returned")
        if not isinstance(failure, ConnectionClosed | PongTimeout):
            log.error(
                "%s: connection task ended unexpectedly; reconnecting",
                self.name,
                exc_info=(type(failure), failure, failure.__traceback__),
            )
        return failure

    @staticmethod
    def _describe_end(socket: ClientConnection, failure: BaseException | None) -> str:
        if isinstance(failure, ConnectionClosed):
            return f"closed by peer: code {socket.close_code} {socket.close_reason or ''}".strip()
        if isinstance(failure, PongTimeout):
            return str(failure)
        return f"connection ended: {type(failure).__name__}: {failure}"

    async def _open(self, reader: asyncio.Task[None]) -> str | None:
        """Run the session opener while reading; return why it failed, or None."""
        opener = asyncio.create_task(self._open_session())
        done, _ = await asyncio.wait(
            {opener, reader}, timeout=self.session_timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        if opener not in done:
            opener.cancel()
            await asyncio.gather(opener, return_exceptions=True)
            if reader in done:
                return "connection closed before the session was set up"
            return f"no session within {self.session_timeout_s}s"
        error = opener.exception()
        if error is not None:
            return f"{type(error).__name__}: {error}"
        return None

    async def _read(self, socket: ClientConnection) -> None:
        while True:
            # Text frames stay the venue's bytes: no UTF-8 decode to str and encode back. The
            # parsers validate what they read, so bad UTF-8 is one counted, dropped frame here
            # rather than a protocol error that closes the connection. Raises ConnectionClosed.
            payload = await socket.recv(decode=False)
            received_ns = time.time_ns()
            try:
                frame = _FRAME.decode(payload)
            except (
                msgspec.DecodeError,
                UnicodeDecodeError,
            ):  # msgspec: bad UTF-8 raises the latter
                self.undecodable_frames += 1
                self._report_undecodable(payload, received_ns)
                if self.undecodable_frames == 1 or self.undecodable_frames % 1000 == 0:
                    log.warning(
                        "%s: dropped undecodable frame %r (%d so far)",
                        self.name,
                        payload[:200],
                        self.undecodable_frames,
                    )
                continue
            if is_pong(frame):
                self._pong.set()
                continue
            try:
                self._on_frame(payload, frame, received_ns)
            except Exception:
                self.handler_errors += 1
                log.exception("%s: frame handler failed on topic %r", self.name, frame.topic)

    def _report_undecodable(self, payload: bytes, received_ns: int) -> None:
        if self._on_undecodable is None:
            return
        try:
            self._on_undecodable(payload, received_ns)
        except Exception:
            self.handler_errors += 1
            log.exception("%s: undecodable-frame handler failed", self.name)

    async def _ping(self, socket: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.ping_interval_s)
            self._pong.clear()
            request_id = self.next_request_id()
            await socket.send(msgspec.json.encode({"req_id": request_id, "op": "ping"}).decode())
            try:
                await asyncio.wait_for(self._pong.wait(), self.pong_timeout_s)
            except TimeoutError:
                raise PongTimeout(
                    f"no pong within {self.pong_timeout_s}s of ping {request_id}"
                ) from None
