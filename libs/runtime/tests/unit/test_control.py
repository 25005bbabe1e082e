"""Every ctl request gets a reply: refused verbs, rate limits, bad payloads and failures."""

from __future__ import annotations

from mm_proto import (
    ConfigSetRequest,
    CtlReply,
    HaltRequest,
    Message,
    StatusRequest,
    encode,
    subjects,
)
from mm_proto.services import REGISTRY, Registry, Service
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


async def test_a_flood_of_garbage_halts_does_not_lock_out_a_valid_halt() -> None:
    server = ControlServer("risk", [CtlVerb.HALT], ok)  # the default limits
    subject = subjects.ctl("risk", "halt")
    garbage = [await server.answer(subject, b"\xc1" * 64, "_INBOX.operator.A") for _ in range(200)]
    assert not any(reply.ok for reply in garbage)
    halt = encode(HaltRequest(reason="drill", operator="alice"))
    assert (await server.answer(subject, halt, "_INBOX.operator.A")).ok
    assert server.limiter.refused[CtlVerb.HALT] == 0


async def test_one_requester_spending_its_budget_leaves_another_requesters_intact() -> None:
    now = [0.0]
    server = ControlServer("risk", [CtlVerb.STATUS], ok, CtlRateLimiter(limits(2), lambda: now[0]))
    subject, payload = subjects.ctl("risk", "status"), encode(StatusRequest())
    noisy = [await server.answer(subject, payload, "_INBOX.operator.noisy") for _ in range(5)]
    assert [reply.ok for reply in noisy] == [True, True, False, False, False]
    assert (await server.answer(subject, payload, "_INBOX.operator.calm")).ok


async def test_a_refusal_never_echoes_a_huge_input() -> None:
    async def echo(request: Message) -> CtlReply:
        assert isinstance(request, ConfigSetRequest)
        return CtlReply(ok=False, message=f"refused: {request.value!r}", data={"v": request.value})

    server = ControlServer("quoter", [CtlVerb.CONFIG_SET], echo)
    huge = ConfigSetRequest(key="quoter.default", value="9" * 500_000)
    reply = await server.answer(subjects.ctl("quoter", "config-set"), encode(huge))
    assert not reply.ok
    assert reply.message.startswith("refused: '999")
    assert len(reply.message) < 1_100
    assert len(reply.data["v"]) < 1_100


async def test_a_registered_service_answers_exactly_the_verbs_its_entry_lists() -> None:
    for service in REGISTRY:
        server = ControlServer.of(service.name, ok)
        for verb in CtlVerb:
            reply = await server.answer(subjects.ctl(service.name, verb), b"\xc1")
            # Past the verb check a garbage payload is a decode error; before it, a refusal.
            assert ("expected" in reply.message) is (verb in service.verbs), (service, verb)


async def test_a_toy_service_gets_its_verbs_and_refusals_from_its_registry_entry() -> None:
    toy = Service("toy", verbs=frozenset({CtlVerb.STATUS, CtlVerb.FLATTEN}))
    server = ControlServer.of("toy", ok, registry=REGISTRY.with_service(toy))
    status = await server.answer(subjects.ctl("toy", "status"), encode(StatusRequest()))
    assert status == CtlReply(ok=True, message="StatusRequest")
    halt = HaltRequest(reason="x", operator="y")
    refused = await server.answer(subjects.ctl("toy", "halt"), encode(halt))
    assert refused.message == "toy has no halt; risk owns it: ctl.risk.halt"
    config = await server.answer(subjects.ctl("toy", "config-get"), b"")
    assert config.message == "toy has no config-get; another service owns it"


async def test_a_refusal_names_whichever_service_the_registry_routes_the_command_to() -> None:
    panic = Service("panic", verbs=frozenset({CtlVerb.HALT}), commands=(CtlVerb.HALT,))
    registry = Registry((Service("quiet", verbs=frozenset({CtlVerb.STATUS})), panic))
    server = ControlServer.of("quiet", ok, registry=registry)
    halt = HaltRequest(reason="x", operator="y")
    refused = await server.answer(subjects.ctl("quiet", "halt"), encode(halt))
    assert refused.message == "quiet has no halt; panic owns it: ctl.panic.halt"
