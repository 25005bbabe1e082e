"""A started stack with the bus client, quote watch, venue audit and probe that judge it, as one
handle. Drills pass `quoter_fault_hook=True` (`mm_soak.quoter_fault`, test-only)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from mm_cli.stack import free_base_port
from mm_proto import CtlReply, StatusRequest, decode, encode, subjects
from mm_proto.subjects import CtlVerb
from mm_soak.quote_watch import QuoteWatch
from mm_soak.stack import LocalStack, StackOptions
from mm_soak.stack_probe import StackProbe
from mm_soak.venue_audit import VenueAudit


@dataclass
class RunningStack:
    stack: LocalStack
    client: Client
    watch: QuoteWatch
    audit: VenueAudit
    probe: StackProbe

    async def status(self, service: str) -> dict[str, str] | None:
        """The service's `ctl status` reply; None while nobody answers (e.g. it is restarting)."""
        try:
            reply = await self.client.request(
                subjects.ctl(service, CtlVerb.STATUS), encode(StatusRequest()), timeout=5
            )
        except (NoRespondersError, NatsTimeoutError):
            return None
        return decode(reply.data, CtlReply).data


async def start_stack(run_dir: Path, **options: Any) -> RunningStack:
    """Start a stack on a free block of ports (`options` go to `StackOptions`) and attach to it."""
    stack = LocalStack(StackOptions(run_dir=run_dir, base_port=free_base_port(), **options))
    await stack.start()
    try:
        client = await stack.connect()
        watch = QuoteWatch()
        await watch.attach(client)
        stack.watch = watch
    except BaseException:
        await stack.stop()
        raise
    key, secret = stack.credentials()
    symbols, headers = list(stack.options.symbols), stack.layout.sim_admin_headers()
    audit = VenueAudit(stack.layout.sim_url, key, secret, client, symbols, headers)
    probe = StackProbe(stack, audit, client)
    probe.start()
    return RunningStack(stack, client, watch, audit, probe)


async def stop_stack(running: RunningStack) -> None:
    """Detach and stop. Every step runs even when one before it fails: a close skipped would leave
    its socket open (an unraisable ResourceWarning that then fails whichever test runs next in the
    worker), and the stack stops even when the task is cancelled. Once it has stopped, a failure
    is raised as it was, or several as one ExceptionGroup."""
    errors: list[Exception] = []
    try:
        for step in (
            running.probe.stop,
            running.watch.detach,
            running.audit.close,
            running.client.drain,
            *(client.drain for client in running.stack.watch_clients),
        ):
            try:
                await step()
            except Exception as error:
                errors.append(error)
    finally:
        try:
            await running.stack.stop()
        except Exception as error:
            errors.append(error)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ExceptionGroup("stopping the stack failed", errors)
