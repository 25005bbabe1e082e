"""/sim/admin is off unless a token protects it or a test opens it on loopback."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from pydantic import ValidationError

from mm_sim.settings import SimSettings
from mm_sim.testing import running_simulator, simulator_settings


async def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as reply:
        return reply.status, await reply.text()


async def test_admin_endpoints_are_off_by_default_and_say_how_to_turn_them_on() -> None:
    async with running_simulator(SimSettings(port=0)) as sim:
        status, text = await _get(f"{sim.rest_url}/sim/admin/executions?uid=1001")
        assert status == 403
        assert "MM_SIM_ADMIN_TOKEN_FILE" in text
        with pytest.raises(RuntimeError, match="403"):
            await sim.admin.set_faults({"rate_limit_storm": True})
        assert not sim.venue.faults.config.rate_limit_storm


async def test_a_token_protects_them_and_only_the_right_token_passes(tmp_path: Path) -> None:
    settings = simulator_settings(admin_open=False, admin_token="s3cret-token")
    async with running_simulator(settings) as sim:
        url = f"{sim.rest_url}/sim/admin/faults"
        assert (await _get(url))[0] == 401
        assert (await _get(url, {"Authorization": "Bearer wrong"}))[0] == 401
        assert (await _get(url, {"Authorization": "Bearer s3cret-token"}))[0] == 200
        await sim.admin.set_faults({"rate_limit_storm": True})  # the handle sends the token
        assert sim.venue.faults.config.rate_limit_storm


def test_the_token_is_read_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token_file = tmp_path / "admin_token"
    token_file.write_text("from-a-file\n")
    monkeypatch.setenv("MM_SIM_ADMIN_TOKEN_FILE", str(token_file))
    settings = SimSettings()
    assert settings.admin_token.get_secret_value() == "from-a-file"
    assert "from-a-file" not in repr(settings)


def test_open_admin_endpoints_are_refused_on_a_public_host() -> None:
    with pytest.raises(ValidationError, match="host must be loopback"):
        SimSettings(host="0.0.0.0", admin_open=True)
