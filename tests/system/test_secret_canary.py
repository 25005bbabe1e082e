"""A full run with a canary API secret leaves no trace of it in any log, metric, trace or store.

The canary is the account's real secret for the run (the executor signs every order with it, so
orders resting at the venue prove it was in use). Every service logs at DEBUG and exports its
spans to a JSON-lines file; venue faults exercise the error paths, where secrets most often leak.
Afterwards every file under the run directory except the secrets themselves is searched, as is
each service's /metrics page taken while running.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import aiohttp
import pytest

from mm_proto.services import REGISTRY
from mm_runtime.testing import eventually
from mm_soak.drills import NO_FAULTS, drop_venue_sockets, set_faults
from mm_soak.running import start_stack, stop_stack
from mm_soak.secret_canary import canary_hits
from mm_soak.stack import TRADING_ENV

pytestmark = [pytest.mark.system, pytest.mark.beside_others]


def _service_env(run_dir: Path) -> dict[str, dict[str, str]]:
    env = {name: dict(values) for name, values in TRADING_ENV.items()}
    for service in REGISTRY.names:
        prefix = service.upper() + "_"
        env.setdefault(service, {}).update(
            {
                prefix + "LOG__LEVEL": "DEBUG",
                prefix + "TELEMETRY__EXPORTER": "file",
                prefix + "TELEMETRY__FILE_PATH": str(run_dir / "traces" / f"{service}.jsonl"),
            }
        )
    env["md_gateway"]["MD_GATEWAY_TICK_TRACE_INTERVAL"] = "1"  # every tick's spans searched
    return env


async def test_a_canary_secret_appears_in_no_log_metric_trace_or_store(tmp_path: Path) -> None:
    canary = "canary" + secrets.token_hex(20)
    run_dir = tmp_path / "run"
    (run_dir / "traces").mkdir(parents=True)
    running = await start_stack(run_dir, api_secret=canary, env=_service_env(run_dir))
    metrics: dict[str, str] = {}
    try:
        await eventually(lambda: running.watch.activity_at, timeout=30, message="orders placed")
        await set_faults(running.stack, {"rest_error": "10016", "rest_error_count": 3})
        await drop_venue_sockets(running.stack)
        await set_faults(running.stack, NO_FAULTS)
        seen = len(running.watch.activity_at)
        await eventually(lambda: len(running.watch.activity_at) > seen + 2, timeout=30)
        async with aiohttp.ClientSession() as session:
            for service in REGISTRY.names:
                async with session.get(f"{running.stack.http_url(service)}/metrics") as reply:
                    metrics[service] = await reply.text()
    finally:
        await stop_stack(running)
    assert running.stack.credentials()[1] == canary, "expected the run to use the canary secret"
    traces = list((run_dir / "traces").glob("*.jsonl"))
    assert sum(path.stat().st_size for path in traces) > 0, "expected exported spans to search"
    assert (run_dir / "logs" / "executor.log").stat().st_size > 0, "expected logs to search"
    assert all(metrics.values()), "expected a /metrics page from every service"
    control = canary_hits(run_dir, canary.encode())
    assert "secrets/api_secret" in control, (
        f"expected the search to find the secret file: {control}"
    )
    file_hits = canary_hits(run_dir, canary.encode(), skip=run_dir / "secrets")
    metric_hits = [service for service, text in metrics.items() if canary in text]
    assert not file_hits, f"expected no file to hold the canary secret, found it in {file_hits}"
    assert not metric_hits, f"expected no /metrics page to hold the canary, found {metric_hits}"
