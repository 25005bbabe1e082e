"""The policy against the real quoter: writes through its config-set, pins, holds, dry run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mm_runtime.testing import eventually
from policy.service import PolicyService

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Rig

SYMBOL = "BTCUSDT"


async def rounds_pass(service: PolicyService, count: int) -> None:
    """Wait until `count` more rounds have run."""
    target = service.decider.rounds + count
    await eventually(lambda: service.decider.rounds >= target, timeout=10, interval=0.25)


async def test_toxic_flow_widens_the_spread_and_shrinks_the_size_through_the_quoter(
    rig: Rig,
) -> None:
    await rig.start_policy()
    await rig.kpi(rig.toxic_row())
    entry = await eventually(rig.quoter_entry, timeout=10, interval=0.25)
    assert entry == {"min_spread_bps": 2.5, "level_size_lots": 3}
    decided, applied = await rig.stage("decided"), await rig.stage("applied")
    assert decided[0].decision_id == applied[0].decision_id == f"{SYMBOL}-1"
    assert applied[0].rule == "toxic_edge"
    assert applied[0].old_values == {"min_spread_bps": "2.0", "level_size_lots": "4"}
    assert float(applied[0].inputs["markout_bps"]) == -5.0


async def test_the_spread_keeps_widening_only_to_its_ceiling(rig: Rig) -> None:
    spread = {"floor": 1, "home": 2, "ceiling": 3, "max_step": 1, "min_interval_s": 0}
    service = await rig.start_policy(spread=spread)
    for _ in range(4):
        await rig.kpi(rig.toxic_row())
        await rounds_pass(service, 2)
    entry = await rig.quoter_entry()
    assert entry["min_spread_bps"] == 3
    assert entry["level_size_lots"] == 1  # the size floor


async def test_a_field_set_by_hand_is_pinned_and_left_alone(rig: Rig) -> None:
    await rig.set_by_hand({"min_spread_bps": 6.0})
    service = await rig.start_policy()
    await rig.kpi(rig.toxic_row())
    entry = await eventually(
        lambda: _with_field(rig, "level_size_lots"),
        timeout=10,
        interval=0.25,
        message="size shrunk",
    )
    assert entry["min_spread_bps"] == 6.0
    status = await rig.status()
    assert status[f"{SYMBOL}.pinned"] == "min_spread_bps"
    assert "min_spread_bps pinned" in status[f"{SYMBOL}.skipped"]
    await rounds_pass(service, 3)
    assert (await rig.quoter_entry())["min_spread_bps"] == 6.0


async def test_a_halt_stops_every_write_until_it_is_lifted(rig: Rig) -> None:
    await rig.halt(True)
    service = await rig.start_policy()
    await rig.kpi(rig.toxic_row())
    held = await eventually(lambda: rig.stage("held"), timeout=10, interval=0.25)
    assert [h.detail for h in held] == ["kill switch on: drill (by alice)"]
    await rounds_pass(service, 3)
    assert await rig.quoter_entry() == {}
    await rig.halt(False)
    await rig.kpi(rig.toxic_row())
    entry = await eventually(rig.quoter_entry, timeout=10, interval=0.25)
    assert entry["min_spread_bps"] == 2.5


async def test_a_halt_is_held_at_once_not_at_the_next_round(rig: Rig) -> None:
    service = await rig.start_policy(interval_s=3600)  # one round at start, the next in an hour
    await eventually(lambda: service.decider.rounds >= 1, timeout=10, interval=0.1)
    await rig.halt(True)

    async def held_for_the_halt() -> list[str]:
        details = [held.detail for held in await rig.stage("held")]
        return [detail for detail in details if detail.startswith("kill switch on")]

    held = await eventually(held_for_the_halt, timeout=10, interval=0.1)
    assert held == ["kill switch on: drill (by alice)"]
    assert service.decider.rounds == 2


async def test_stale_inputs_hold_and_write_nothing(rig: Rig) -> None:
    service = await rig.start_policy()
    held = await eventually(lambda: rig.stage("held"), timeout=10, interval=0.25)
    assert held[0].detail.startswith("no KPI within")
    old = rig.toxic_row()
    await rig.kpi(old.__class__(**{**_fields(old), "ts_end_ns": old.ts_end_ns - 600 * 10**9}))
    await rounds_pass(service, 3)
    assert await rig.quoter_entry() == {}
    assert await rig.stage("decided") == []


async def test_dry_run_publishes_the_decision_and_writes_nothing(rig: Rig) -> None:
    service = await rig.start_policy(mode="dry_run")
    await rig.kpi(rig.toxic_row())
    dry = await eventually(lambda: rig.stage("dry_run"), timeout=10, interval=0.25)
    assert dry[0].new_values == {"min_spread_bps": "2.5", "level_size_lots": "3"}
    await rounds_pass(service, 3)
    assert await rig.quoter_entry() == {}


async def test_a_negative_markout_the_rebate_covers_leaves_the_quoter_alone(rig: Rig) -> None:
    service = await rig.start_policy()
    await rig.kpi(rig.toxic_row(markout="-0.03"))  # -0.3 bps, with a 0.5 bps rebate
    await rounds_pass(service, 3)
    assert await rig.quoter_entry() == {}
    assert await rig.stage("decided") == []


async def test_a_nan_kpi_row_is_refused_and_counted(rig: Rig) -> None:
    service = await rig.start_policy()
    await rig.kpi(rig.toxic_row(markout="NaN"))
    await eventually(
        lambda: service.metrics.dropped.labels("not_finite")._value.get() == 1, timeout=10
    )
    await rounds_pass(service, 3)
    assert await rig.quoter_entry() == {}


async def _with_field(rig: Rig, name: str) -> dict[str, object] | None:
    entry = await rig.quoter_entry()
    return entry if name in entry else None


def _fields(row: object) -> dict[str, object]:
    return {name: getattr(row, name) for name in row.__struct_fields__}  # type: ignore[attr-defined]


async def test_a_field_changes_no_faster_than_its_interval(rig: Rig) -> None:
    spread = {"floor": 1, "home": 2, "ceiling": 8, "max_step": 1, "min_interval_s": 3600}
    service = await rig.start_policy(spread=spread)
    for _ in range(3):
        await rig.kpi(rig.toxic_row())
        await rounds_pass(service, 2)
    assert (await rig.quoter_entry())["min_spread_bps"] == 2.5
    moves = [d for d in await rig.stage("applied") if "min_spread_bps" in d.new_values]
    assert len(moves) == 1


async def test_a_write_the_quoter_refuses_is_recorded_with_its_reason_and_changes_nothing(
    rig: Rig,
) -> None:
    # Bounds narrowed above the running size: the policy brings it to the floor in one move,
    # more than the quoter lets one live change grow a size (2x), so the quoter refuses it.
    size = {"floor": 9, "home": 9, "ceiling": 10, "max_step": 2, "min_interval_s": 3600}
    service = await rig.start_policy(size=size)
    await rig.kpi(rig.toxic_row())
    refused = await eventually(lambda: rig.stage("refused"), timeout=10, interval=0.25)
    assert refused[0].new_values["level_size_lots"] == "9"
    assert refused[0].detail.startswith("refused: ")
    assert "level_size_lots" in refused[0].detail
    await rounds_pass(service, 3)
    entry = await rig.quoter_entry()
    assert "level_size_lots" not in entry
    assert len(await rig.stage("refused")) == 1  # the interval holds for a refused attempt too
