"""The generated nats-server config, enforced by a real server: each user publishes only its own.

A publish the server refuses is reported asynchronously (`-ERR 'Permissions Violation ...'`, which
nats-py hands to the error callback) and never delivered. To prove "never delivered" without a
sleep, the same connection then publishes a subject it owns, which the watcher also receives: a
connection's messages are delivered in order, so once the allowed one arrives the refused one
would already have arrived.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.errors import APIError

from mm_proto import subjects
from mm_runtime.barrier import round_trip
from mm_runtime.bus_auth import PERMISSIONS, BusCredentials, inbox_prefix, render_nats_config
from mm_runtime.jetstream import ensure_layout, key_value, publish_fact
from mm_runtime.nats_server import NatsServer
from mm_runtime.settings import load_settings
from mm_runtime.testing import eventually
from quoter.settings import QuoterSettings

VENUE, CATEGORY, SYMBOL = "bybit", "linear", "BTCUSDT"
ConnectAs = Callable[[str], Awaitable[Any]]  # the `connect_as` fixture (conftest.py)


class Probe(msgspec.Struct):
    note: str


async def _watch(connect_as: ConnectAs, pattern: str, user: str = "operator") -> list[Msg]:
    """A subscriber on `pattern` (as `user`); returns the list that fills as messages arrive."""
    watcher = await connect_as(user)
    received: list[Msg] = []

    async def on_message(msg: Msg) -> None:
        received.append(msg)

    await watcher.client.subscribe(pattern, cb=on_message)
    await watcher.client.flush()  # not proof the SUB is applied: publishers below retry
    return received


async def test_quoter_refused_publishing_order_targets(connect_as: ConnectAs) -> None:
    targets = await _watch(connect_as, subjects.order_target_pattern())
    intents = await _watch(connect_as, subjects.quote_intent_pattern())
    quoter = await connect_as("quoter")

    await quoter.client.publish(subjects.order_target(VENUE, CATEGORY, SYMBOL), b"forged")
    await quoter.client.flush()
    violations = await eventually(quoter.violations, message="no permissions violation reported")
    assert "order.target.bybit.linear.btcusdt" in violations[0]  # nats-py lowercases

    async def own_intent_arrived() -> list[Msg]:
        await quoter.client.publish(subjects.quote_intent(VENUE, CATEGORY, SYMBOL), b"own")
        return intents

    await eventually(
        own_intent_arrived, interval=0.05, message="the own quote intent never arrived"
    )
    assert {msg.data for msg in intents} == {b"own"}
    assert targets == []


@pytest.mark.parametrize(
    ("user", "subject"),
    [
        ("quoter", subjects.order_target(VENUE, CATEGORY, SYMBOL)),
        ("quoter", subjects.exec_fill(VENUE, CATEGORY, SYMBOL)),
        ("quoter", subjects.ctl("risk", "halt")),
        ("quoter", subjects.heartbeat("risk")),
        ("md_gateway", subjects.exec_order(VENUE, CATEGORY, SYMBOL)),
        ("md_gateway", subjects.quote_intent(VENUE, CATEGORY, SYMBOL)),
        ("risk", subjects.exec_position(VENUE, CATEGORY, SYMBOL)),
        ("risk", subjects.book(VENUE, CATEGORY, SYMBOL)),
        ("executor", subjects.order_target(VENUE, CATEGORY, SYMBOL)),
        ("executor", subjects.ctl("executor", "cancel-all")),
        ("operator", subjects.exec_fill(VENUE, CATEGORY, SYMBOL)),
        ("operator", subjects.order_target(VENUE, CATEGORY, SYMBOL)),
        ("quoter", f"$KV.{subjects.RISK_BUCKET}.{subjects.HALT_KEY}"),
        ("quoter", f"$KV.{subjects.CONFIG_BUCKET}.risk.default"),
        ("executor", f"$JS.API.STREAM.DELETE.{subjects.EXEC_STREAM}"),
        ("risk", f"$JS.API.STREAM.PURGE.{subjects.EXEC_STREAM}"),
        ("operator", f"$KV.{subjects.CONFIG_BUCKET}.risk.default"),
        ("operator", f"$KV.{subjects.CONFIG_BUCKET}.quoter.BTCUSDT"),
        ("quoter", f"{inbox_prefix('risk')}.AbCdEfGhIjKlMnOpQrStUv.1"),
        ("md_gateway", f"{inbox_prefix('operator')}.AbCdEfGhIjKlMnOpQrStUv"),
        ("operator", f"{inbox_prefix('executor')}.x"),
        ("quoter", "_INBOX.AbCdEfGhIjKlMnOpQrStUv.1"),
    ],
)
async def test_publishing_a_subject_not_owned_is_refused(
    connect_as: ConnectAs, user: str, subject: str
) -> None:
    client = await connect_as(user)
    await client.client.publish(subject, b"x")
    await client.client.flush()
    violations = await eventually(client.violations, message=f"{user} published {subject}")
    assert subject.lower() in violations[0]


@pytest.mark.parametrize(
    ("user", "subject", "watcher"),
    [
        ("md_gateway", subjects.book(VENUE, CATEGORY, SYMBOL), "quoter"),
        ("md_gateway", subjects.heartbeat("md_gateway"), "operator"),
        ("quoter", subjects.quote_intent(VENUE, CATEGORY, SYMBOL), "risk"),
        ("risk", subjects.order_target(VENUE, CATEGORY, SYMBOL), "executor"),
        ("risk", subjects.risk_event(VENUE, CATEGORY, SYMBOL), "operator"),
        ("executor", subjects.heartbeat("executor"), "risk"),
        ("operator", subjects.ctl("risk", "halt"), "risk"),
    ],
)
async def test_each_user_publishes_its_own_subjects(
    connect_as: ConnectAs, user: str, subject: str, watcher: str
) -> None:
    received = await _watch(connect_as, subject, watcher)
    client = await connect_as(user)

    async def published() -> list[Msg]:
        await client.client.publish(subject, b"own")
        return received

    await eventually(published, interval=0.05, message=f"{user} could not publish {subject}")
    assert client.violations() == []


async def _refused_connect(url: str, **options: Any) -> list[Exception]:
    """Connect with `options`, expect the server to refuse; returns the errors reported."""
    errors: list[Exception] = []

    async def on_error(error: Exception) -> None:
        errors.append(error)

    client = Client()
    try:
        with pytest.raises(NatsError):
            await client.connect(
                url,
                allow_reconnect=False,
                max_reconnect_attempts=0,
                connect_timeout=2,
                error_cb=on_error,
                **options,
            )
    finally:
        await client.close()  # a refused connect leaves its socket open otherwise
    return errors


async def test_wrong_password_is_refused_at_connect(secured_nats: NatsServer) -> None:
    wrong = "not-the-password"
    errors = await _refused_connect(secured_nats.url, user="quoter", password=wrong)
    assert any("authorization violation" in str(error).lower() for error in errors)


async def test_user_without_password_is_refused(secured_nats: NatsServer) -> None:
    errors = await _refused_connect(secured_nats.url)
    assert any("authorization violation" in str(error).lower() for error in errors)


async def test_service_settings_connect_from_password_file(
    secured_nats: NatsServer,
    bus_credentials: BusCredentials,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The env names handed to services are the ones their settings read."""
    for name, value in bus_credentials.service_environment["quoter"].items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("QUOTER_NATS__URL", secured_nats.url)
    monkeypatch.setenv("QUOTER_SYMBOLS", SYMBOL)
    settings = load_settings(QuoterSettings)
    assert settings.nats.user == "quoter"
    client = await nats.connect(
        settings.nats.url,
        user=settings.nats.user,
        password=settings.nats.password.get_secret_value(),
        allow_reconnect=False,
    )
    assert client.is_connected
    await client.close()


async def test_only_the_executor_stores_execution_facts(connect_as: ConnectAs) -> None:
    executor = await connect_as("executor")
    quoter = await connect_as("quoter")
    executor_js, quoter_js = executor.client.jetstream(), quoter.client.jetstream()
    await ensure_layout(executor_js)
    await ensure_layout(quoter_js)  # existing layout: lookups only
    subject = subjects.exec_fill(VENUE, CATEGORY, SYMBOL)

    assert await publish_fact(executor_js, subject, Probe("real"), "fill-1")
    with pytest.raises(TimeoutError):  # refused: no stream ever acks it
        await publish_fact(quoter_js, subject, Probe("forged"), "fill-2", timeout_s=0.5)
    await eventually(quoter.violations, message="forged exec fact not reported")

    stored = await quoter_js.get_last_msg(subjects.EXEC_STREAM, subject)
    assert stored.headers is not None
    assert stored.headers["Nats-Msg-Id"] == "fill-1"
    assert executor.violations() == []


async def test_only_the_quoter_stores_obligation_summaries(connect_as: ConnectAs) -> None:
    quoter = await connect_as("quoter")
    executor = await connect_as("executor")
    quoter_js, executor_js = quoter.client.jetstream(), executor.client.jetstream()
    await ensure_layout(quoter_js)
    subject = subjects.obligation(VENUE, CATEGORY, SYMBOL)

    assert await publish_fact(quoter_js, subject, Probe("real"), "obligation-1")
    with pytest.raises(TimeoutError):  # refused: no stream ever acks it
        await publish_fact(executor_js, subject, Probe("forged"), "obligation-2", timeout_s=0.5)
    await eventually(executor.violations, message="forged obligation summary not reported")

    stored = await executor_js.get_last_msg(subjects.QUOTER_STREAM, subject)
    assert stored.headers is not None
    assert stored.headers["Nats-Msg-Id"] == "obligation-1"
    assert quoter.violations() == []


async def test_risk_owns_the_kill_switch_and_quoter_follows_it(connect_as: ConnectAs) -> None:
    risk = await connect_as("risk")
    quoter = await connect_as("quoter")
    await ensure_layout(risk.client.jetstream())
    risk_bucket = await key_value(risk.client.jetstream(), subjects.RISK_BUCKET)
    quoter_bucket = await key_value(quoter.client.jetstream(), subjects.RISK_BUCKET)
    watcher = await quoter_bucket.watch(subjects.HALT_KEY)

    await risk_bucket.put(subjects.HALT_KEY, b"halted")
    entry = await watcher.updates(timeout=5)  # type: ignore[no-untyped-call]
    while entry is None:  # the initial-values marker comes first when the key was empty
        entry = await watcher.updates(timeout=5)  # type: ignore[no-untyped-call]
    assert entry.value == b"halted"
    with pytest.raises((TimeoutError, APIError)):
        await asyncio.wait_for(quoter_bucket.put(subjects.HALT_KEY, b"resumed"), timeout=1)
    await watcher.stop()  # type: ignore[no-untyped-call]
    assert (await quoter_bucket.get(subjects.HALT_KEY)).value == b"halted"
    assert risk.violations() == []


async def test_risk_consumes_executions_durably(connect_as: ConnectAs) -> None:
    executor = await connect_as("executor")
    risk = await connect_as("risk")
    await ensure_layout(executor.client.jetstream())
    subject = subjects.exec_order(VENUE, CATEGORY, "ETHUSDT")
    await publish_fact(executor.client.jetstream(), subject, Probe("order"), "order-durable-1")
    subscription = await risk.client.jetstream().pull_subscribe(
        subject, durable="risk-test", stream=subjects.EXEC_STREAM
    )
    messages = await subscription.fetch(1, timeout=5)
    assert messages[0].subject == subject
    await messages[0].ack()
    await risk.client.flush()
    assert risk.violations() == []


async def test_operator_ctl_request_is_answered_by_the_service(connect_as: ConnectAs) -> None:
    risk = await connect_as("risk")
    operator = await connect_as("operator")

    async def answer(msg: Msg) -> None:
        await msg.respond(b"ok:" + msg.subject.encode())

    await risk.client.subscribe(subjects.ctl_pattern("risk"), cb=answer)
    await round_trip(risk.client)  # flush() alone does not wait for the SUB to be applied
    reply = await operator.client.request(subjects.ctl("risk", "status"), b"{}", timeout=5)
    assert reply.data == b"ok:ctl.risk.status"
    assert risk.violations() == []


async def test_service_cannot_subscribe_to_another_services_commands(
    connect_as: ConnectAs,
) -> None:
    quoter = await connect_as("quoter")
    await quoter.client.subscribe(subjects.ctl_pattern("risk"))
    await quoter.client.flush()
    violations = await eventually(quoter.violations, message="subscription was not refused")
    assert "ctl.risk.*" in violations[0]


def test_config_refuses_plain_passwords_and_missing_users() -> None:
    hashes = dict.fromkeys(PERMISSIONS, "$2b$11$" + "a" * 53)
    with pytest.raises(ValueError, match="must be a bcrypt hash"):
        render_nats_config({**hashes, "quoter": "plain-text"})
    with pytest.raises(ValueError, match=r"missing \['risk'\]"):
        render_nats_config({user: value for user, value in hashes.items() if user != "risk"})


def test_no_user_may_publish_everything() -> None:
    for user, permissions in PERMISSIONS.items():
        assert ">" not in permissions.publish, user
        assert not any(item.startswith("$JS.API.>") for item in permissions.publish), user
        forged = [item for item in permissions.publish if item.startswith("$JS.API.STREAM.DELETE")]
        assert forged == [], user


async def test_a_forged_reply_into_another_users_inbox_is_refused_and_never_delivered(
    connect_as: ConnectAs,
) -> None:
    risk = await connect_as("risk")
    quoter = await connect_as("quoter")
    forged: list[Msg] = []
    intents: list[Msg] = []

    async def on_forged(msg: Msg) -> None:
        forged.append(msg)

    async def on_intent(msg: Msg) -> None:
        intents.append(msg)

    risk_inbox = risk.client.new_inbox()
    await risk.client.subscribe(risk_inbox, cb=on_forged)
    await risk.client.subscribe(subjects.quote_intent_pattern(), cb=on_intent)
    await round_trip(risk.client)  # both subscriptions are applied
    await quoter.client.publish(risk_inbox, b"forged")
    await quoter.client.flush()
    violations = await eventually(quoter.violations, message="forged reply not refused")
    assert risk_inbox.lower() in violations[0]

    async def own_intent_arrived() -> list[Msg]:
        await quoter.client.publish(subjects.quote_intent(VENUE, CATEGORY, SYMBOL), b"own")
        return intents

    # The quoter's messages reach risk's connection in order: the intent after the forgery.
    await eventually(own_intent_arrived, interval=0.05, message="the quoter's intent never came")
    assert forged == []
    assert risk.violations() == []


@pytest.mark.parametrize(
    ("user", "pattern"),
    [
        ("quoter", f"{inbox_prefix('risk')}.>"),
        ("md_gateway", "_INBOX.>"),
        ("executor", f"{inbox_prefix('operator')}.*.*"),
        ("operator", f"{inbox_prefix('quoter')}.>"),
    ],
)
async def test_no_user_can_read_another_users_replies(
    connect_as: ConnectAs, user: str, pattern: str
) -> None:
    client = await connect_as(user)
    await client.client.subscribe(pattern)
    await client.client.flush()
    violations = await eventually(client.violations, message=f"{user} subscribed {pattern}")
    assert pattern.lower() in violations[0]


async def test_operator_cannot_write_config_around_the_owning_service(
    connect_as: ConnectAs,
) -> None:
    operator = await connect_as("operator")
    risk = await connect_as("risk")
    await ensure_layout(risk.client.jetstream())
    owned = await key_value(risk.client.jetstream(), subjects.CONFIG_BUCKET)
    await owned.put("risk.default", b"{}")
    bucket = await key_value(operator.client.jetstream(), subjects.CONFIG_BUCKET)
    with pytest.raises((TimeoutError, APIError)):
        await asyncio.wait_for(bucket.put("risk.default", b'{"max_drawdown": "1e15"}'), 1)
    await eventually(operator.violations, message="direct config write not reported")
    assert (await bucket.get("risk.default")).value == b"{}"  # reading is still allowed
    assert risk.violations() == []
