"""The weekly rollup: a week of KPI snapshots as one summary per UTC day, and its file name.

Pure: snapshots in, one JSON-ready dict out. Each day holds `report.summarise` of the snapshots
that started that day (per symbol: PnL attribution, per-color PnL, markouts, quoting KPIs) and
the day's traded notional, which is exactly the form `mm gate` judges, so a gate verdict per day
can be added by whoever holds the thresholds (`mm report --weekly`). A day without snapshots is
`null`: no data, never a zero day. Weeks are ISO weeks, Monday 00:00 UTC to the next Monday.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ledger.figures import plain
from ledger.report import summarise
from mm_proto import KpiSnapshot

DAY_NS = 86_400 * 10**9
WEEK_NS = 7 * DAY_NS


def day_of(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns / 1e9, UTC).strftime("%Y-%m-%d")


def week_start(ts_ns: int) -> int:
    """The Monday 00:00 UTC at or before `ts_ns`, in ns."""
    moment = datetime.fromtimestamp(ts_ns // 10**9, UTC)
    monday = (moment - timedelta(days=moment.weekday())).replace(hour=0, minute=0, second=0)
    return int(monday.timestamp()) * 10**9


def week_label(start_ns: int) -> str:
    year, week, _ = datetime.fromtimestamp(start_ns / 1e9, UTC).isocalendar()
    return f"{year}-W{week:02d}"


def file_name(start_ns: int) -> str:
    """`weekly-2026-W49.json` for the week starting at `start_ns`."""
    return f"weekly-{week_label(start_ns)}.json"


def traded_notional(snapshots: list[KpiSnapshot]) -> Decimal:
    return sum((Decimal(s.notional) for s in snapshots if s.side != "all"), Decimal(0))


def rollup(snapshots: list[KpiSnapshot], from_ns: int, to_ns: int) -> dict[str, Any]:
    """Each UTC day from `from_ns` (rounded down to midnight) to `to_ns`: its summary or None."""
    days: dict[str, dict[str, Any] | None] = {}
    day = from_ns - from_ns % DAY_NS
    while day < to_ns:
        mine = [s for s in snapshots if day <= s.ts_start_ns < day + DAY_NS]
        if mine:
            days[day_of(day)] = summarise(mine) | {"notional": plain(traded_notional(mine))}
        else:
            days[day_of(day)] = None
        day += DAY_NS
    inside = [s for s in snapshots if from_ns <= s.ts_start_ns < to_ns]
    return {
        "week": {"from_ns": from_ns, "to_ns": to_ns, "label": week_label(from_ns)},
        "days": days,
        "whole_week": summarise(inside) | {"notional": plain(traded_notional(inside))},
    }
