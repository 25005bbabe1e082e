"""Every ctl request gets a reply: refused verbs, rate limits, bad payloads and failures."""

from __future__ import annotations

from mm_proto import CtlReply, HaltRequest, Message, StatusRequest, encode, subjects
from mm_proto.subjects import CtlVerb
from mm_runtime.control import ControlServer
from mm_runtime.ctl_limits import CtlRateLimiter, VerbLimit


async def ok(request: Message) -> CtlReply:
    return CtlReply(ok=True, message=type(request).__name__)


def limits(status_burst: int = 20) -> dict[CtlVerb, VerbLimit]:
    every = {verb: VerbLimit(per_second=1.0, burst=5) for verb in CtlVerb}
    every[CtlVerb.STATUS] = VerbLimit(per_second=0.001, burst=status_burst)
    return every


async def test_a_known_verb_is_decoded_and_dispatched() -> None:
    server = ControlServer("quoter", [CtlVerb.STATUS], ok)
    reply = await server.answer(subjects.ctl("quoter", "status"), encode(StatusRequest()))
    assert reply == CtlReply(ok=True, message="StatusRequest")


async def test_a_verb_the_service_does_not_own_names_its_owner() -> None:
    server = ControlServer("quoter", [CtlVerb.STATUS], ok)
    halt = HaltRequest(reason="x", operator="y")
    reply = await server.answer(subjects.ctl("quoter", "halt"), encode(halt))
    assert not reply.ok
    assert "ctl.risk.halt" in reply.message


async def test_requests_past_the_verbs_budget_are_refused_with_when_to_retry() -> None:
    now = [0.0]
    limiter = CtlRateLimiter(limits(status_burst=2), clock=lambda: now[0])
    server = ControlServer("risk", [CtlVerb.STATUS], ok, limiter)
    subject, payload = subjects.ctl("risk", "status"), encode(StatusRequest())
    replies = [await server.answer(subject, payload) for _ in range(3)]
    assert [reply.ok for reply in replies] == [True, True, False]
    assert replies[2].message.startswith("rate limited: status")
    assert float(replies[2].data["retry_after_s"]) > 0


async def test_an_undecodable_request_and_a_failing_dispatch_are_answered() -> None:
    async def broken(_request: Message) -> CtlReply:
        raise RuntimeError("venue unreachable")

    server = ControlServer("executor", [CtlVerb.STATUS], broken)
    garbage = await server.answer(subjects.ctl("executor", "status"), b"\xc1")
    assert not garbage.ok
    assert "expected StatusRequest" in garbage.message
    failed = await server.answer(subjects.ctl("executor", "status"), encode(StatusRequest()))
    assert failed == CtlReply(ok=False, message="failed: venue unreachable")
