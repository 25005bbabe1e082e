"""KV config entries: live fields apply, restart-only and unknown fields are refused with why."""

from __future__ import annotations

from executor.live_config import DEFAULT_KEY, read_entry


def test_live_fields_apply() -> None:
    change = read_entry(DEFAULT_KEY, b'{"watchdog_timeout_s": 2.5, "cancel_on_shutdown": false}')
    assert change.applied == {"watchdog_timeout_s": 2.5, "cancel_on_shutdown": False}
    assert change.refused == {}


def test_restart_only_unknown_and_invalid_fields_are_refused_each_with_a_reason() -> None:
    change = read_entry(
        DEFAULT_KEY,
        b'{"symbols": ["ETHUSDT"], "colour": 1, "watchdog_timeout_s": -1, "cancel_on_shutdown": 1}',
    )
    assert change.applied == {}
    assert change.refused["symbols"] == "needs a restart: set it in the environment"
    assert change.refused["colour"].startswith("unknown field")
    assert change.refused["watchdog_timeout_s"] == "must be seconds in (0, 300.0], was -1"
    assert change.refused["cancel_on_shutdown"] == "must be true or false, was 1"


def test_per_symbol_keys_and_non_objects_are_refused() -> None:
    assert "use key" in read_entry("executor.BTCUSDT", b"{}").refused["*"]
    assert "JSON object" in read_entry(DEFAULT_KEY, b"[1, 2]").refused["*"]
    assert "not JSON" in read_entry(DEFAULT_KEY, b"\xff{").refused["*"]


def test_a_deleted_entry_asks_for_nothing() -> None:
    change = read_entry(DEFAULT_KEY, None)
    assert change.applied == {}
    assert change.refused == {}
