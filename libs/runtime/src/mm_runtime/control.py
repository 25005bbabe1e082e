"""Answering operator commands on `ctl.<service>.<verb>`: one way for every service.

The server subscribes to the service's command subjects, and for each request: parses the verb,
refuses verbs the service does not own (naming the owner when asked), applies the per-verb rate
limit, decodes the request, calls the service's `dispatch`, and always replies with a `CtlReply`,
so an operator never waits for a timeout on a bad request. A dispatch that raises is logged and
answered as failed; it never reaches the NATS client.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from mm_proto import CtlReply, DecodeError, Message, decode, encode, subjects
from mm_proto.subjects import CtlVerb
from mm_runtime.ctl_limits import CtlRateLimiter

_log = logging.getLogger("mm_runtime.control")

Dispatch = Callable[[Message], Awaitable[CtlReply]]
RISK_VERBS = frozenset({CtlVerb.HALT, CtlVerb.RESUME, CtlVerb.CANCEL_ALL, CtlVerb.FLATTEN})


class ControlServer:
    """Serves one service's ctl verbs."""

    def __init__(
        self,
        service: str,
        verbs: Collection[CtlVerb],
        dispatch: Dispatch,
        limiter: CtlRateLimiter | None = None,
    ) -> None:
        self._service = service
        self._verbs = frozenset(verbs)
        self._dispatch = dispatch
        self.limiter = limiter or CtlRateLimiter()
        self._subscription: Subscription | None = None

    async def start(self, client: Client) -> None:
        self._subscription = await client.subscribe(
            subjects.ctl_pattern(self._service), cb=self.on_request
        )

    async def on_request(self, msg: Msg) -> None:
        reply = await self.answer(msg.subject, msg.data)
        if msg.reply:
            await msg.respond(encode(reply))

    async def answer(self, subject: str, data: bytes) -> CtlReply:
        """The reply to one request; never raises."""
        try:
            parsed = subjects.parse(subject)
        except ValueError as error:
            return CtlReply(ok=False, message=str(error))
        verb = parsed.verb
        if verb is None or verb not in self._verbs:
            if verb in RISK_VERBS:
                where = f"risk owns it: {subjects.ctl('risk', verb)}"
            else:
                where = "another service owns it"
            name = verb.value if verb else subject
            return CtlReply(ok=False, message=f"{self._service} has no {name}; {where}")
        admission = self.limiter.admit(verb)
        if not admission.allowed:
            return self.limiter.refusal(verb, admission)
        try:
            request = decode(data, parsed.message_type)
        except DecodeError as error:
            expected = getattr(parsed.message_type, "__name__", "a control request")
            return CtlReply(ok=False, message=f"expected {expected}, received: {error}")
        try:
            return await self._dispatch(request)
        except Exception as error:
            _log.exception("control request failed", extra={"subject": subject})
            return CtlReply(ok=False, message=f"failed: {error}")
