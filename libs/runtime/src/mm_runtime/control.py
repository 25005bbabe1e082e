"""Answering operator commands on `ctl.<service>.<verb>`: one way for every service.

The server subscribes to the service's command subjects, and for each request: parses the verb,
refuses verbs the service does not answer (naming the service the operator's command goes to, per
the registry `mm_proto.services`), decodes the request, then
charges the requester's budget for the verb, calls the service's `dispatch`, and always replies
with a `CtlReply`, so an operator never waits for a timeout on a bad request. Decoding before
charging means a flood of garbage costs nobody a real `halt`. `ControlServer.of` serves exactly the
verbs the registry lists for a service. A dispatch that raises is logged and
answered as failed; it never reaches the NATS client. Refusals are bounded (`bounded`): one that
quotes its input never echoes more than `MAX_REPLY_TEXT` characters of it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from mm_proto import CtlReply, DecodeError, Message, decode, encode, subjects
from mm_proto.services import REGISTRY, Registry
from mm_proto.subjects import CtlVerb
from mm_runtime.ctl_limits import CtlRateLimiter, requester_of

_log = logging.getLogger("mm_runtime.control")

Dispatch = Callable[[Message], Awaitable[CtlReply]]
MAX_REPLY_TEXT = 1_000  # characters of a refusal's message, and of each of its data values


def bounded(reply: CtlReply, limit: int = MAX_REPLY_TEXT) -> CtlReply:
    """A refusal with its message and data values cut to `limit` characters (saying so)."""

    def cut(text: str) -> str:
        return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"

    texts = [reply.message, *reply.data, *reply.data.values()]
    if reply.ok or all(len(text) <= limit for text in texts):
        return reply
    data = {key[:limit]: cut(value) for key, value in reply.data.items()}
    return CtlReply(ok=reply.ok, message=cut(reply.message), data=data)


class ControlServer:
    """Serves one service's ctl verbs."""

    def __init__(
        self,
        service: str,
        verbs: Collection[CtlVerb],
        dispatch: Dispatch,
        limiter: CtlRateLimiter | None = None,
        registry: Registry = REGISTRY,
    ) -> None:
        self._service = service
        self._verbs = frozenset(verbs)
        self._dispatch = dispatch
        self.limiter = limiter or CtlRateLimiter()
        self._registry = registry
        self._subscription: Subscription | None = None

    @classmethod
    def of(
        cls,
        service: str,
        dispatch: Dispatch,
        limiter: CtlRateLimiter | None = None,
        registry: Registry = REGISTRY,
    ) -> ControlServer:
        """The server of a registered service: it answers the verbs its registry entry lists."""
        return cls(service, registry[service].verbs, dispatch, limiter, registry)

    async def start(self, client: Client) -> None:
        self._subscription = await client.subscribe(
            subjects.ctl_pattern(self._service), cb=self.on_request
        )

    async def on_request(self, msg: Msg) -> None:
        reply = await self.answer(msg.subject, msg.data, requester_of(msg.reply))
        if msg.reply:
            await msg.respond(encode(reply))

    async def answer(self, subject: str, data: bytes, requester: str = "") -> CtlReply:
        """The reply to one request from `requester` (see `requester_of`); never raises."""
        return bounded(await self._answer(subject, data, requester))

    async def _answer(self, subject: str, data: bytes, requester: str) -> CtlReply:
        try:
            parsed = subjects.parse(subject)
        except ValueError as error:
            return CtlReply(ok=False, message=str(error))
        verb = parsed.verb
        if verb is None or verb not in self._verbs:
            return CtlReply(ok=False, message=self._not_here(verb, subject))
        try:
            request = decode(data, parsed.message_type)
        except DecodeError as error:
            expected = getattr(parsed.message_type, "__name__", "a control request")
            return CtlReply(ok=False, message=f"expected {expected}, received: {error}")
        admission = self.limiter.admit(verb, requester)
        if not admission.allowed:
            return self.limiter.refusal(verb, admission)
        try:
            return await self._dispatch(request)
        except Exception as error:
            _log.exception("control request failed", extra={"subject": subject})
            return CtlReply(ok=False, message=f"failed: {error}")

    def _not_here(self, verb: CtlVerb | None, subject: str) -> str:
        """A refusal naming where the operator's command goes, when one service takes it."""
        name = verb.value if verb is not None else subject
        owner = self._registry.command_owner(verb) if verb is not None else None
        if verb is None or owner is None:
            return f"{self._service} has no {name}; another service owns it"
        return (
            f"{self._service} has no {name}; {owner.name} owns it: {subjects.ctl(owner.name, verb)}"
        )
