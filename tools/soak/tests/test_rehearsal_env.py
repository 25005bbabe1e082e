"""The pre-live rehearsal's stack runs the parameter file's quoter, not `mm run`'s demo one."""

from __future__ import annotations

from mm_cli.local_stack import DEMO_SETTINGS
from mm_soak.rehearsal import quoter_params_env
from quoter.params import QuoterParams


def test_every_demo_quoter_setting_is_replaced_by_the_files_value_or_the_default() -> None:
    env = quoter_params_env({"min_spread_bps": 0.05, "obligation_enabled": True})
    demo = DEMO_SETTINGS["quoter"]
    assert set(demo) <= set(env)  # each nested demo variable is overridden
    assert env["QUOTER_PARAMS__MIN_SPREAD_BPS"] == "0.05"
    assert env["QUOTER_PARAMS__OBLIGATION_ENABLED"] == "true"
    floor = QuoterParams.model_fields["min_requote_interval_ms"].default
    assert env["QUOTER_PARAMS__MIN_REQUOTE_INTERVAL_MS"] == str(floor)
    assert (
        env["QUOTER_PARAMS__MIN_REQUOTE_INTERVAL_MS"]
        != demo["QUOTER_PARAMS__MIN_REQUOTE_INTERVAL_MS"]
    )
