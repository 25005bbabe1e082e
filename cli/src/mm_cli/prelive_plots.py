"""The pre-live pack's plots (inline SVG): time per step against the bound, each drill's time to
resume quoting, and cumulative net PnL of the backtest and of the stack rehearsal."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from matplotlib.axes import Axes

from mm_cli.inline_svg import svg
from mm_cli.prelive_pack import Step
from mm_proto import KpiSnapshot


def _steps(steps: list[Step], budget_s: float) -> Callable[[Axes], None]:
    def draw(axes: Axes) -> None:
        colours = {"PASS": "tab:green", "FAIL": "tab:red"}
        names = [step.name for step in steps]
        axes.barh(
            names, [s.seconds for s in steps], color=[colours.get(s.verdict, "grey") for s in steps]
        )
        axes.set_xlabel(f"seconds (bound {budget_s:g} s for the whole pack)")
        axes.invert_yaxis()
        axes.set_title("time per step (green pass, red fail, grey skipped)")

    return draw


def _drills(drills: list[dict[str, object]]) -> Callable[[Axes], None]:
    def draw(axes: Axes) -> None:
        names = [str(d["name"]) for d in drills]
        resumed = [float(d["resumed_after_s"] or 0.0) for d in drills]  # type: ignore[arg-type]
        colours = ["tab:green" if d["passed"] else "tab:red" for d in drills]
        axes.barh(names, resumed, color=colours)
        axes.set_xlabel("seconds from the fault until quoting resumed")
        axes.set_title("drills")

    return draw


def cumulative_net(snapshots: list[KpiSnapshot]) -> tuple[list[float], list[float]]:
    """(minutes from the first, net PnL) of the `all` rows, summed over symbols and colors."""
    by_end: dict[int, dict[tuple[str, str], Decimal]] = {}
    for s in snapshots:
        if s.side == "all":
            by_end.setdefault(s.ts_end_ns, {})[(s.symbol, s.color)] = Decimal(s.cumulative_net_pnl)
    latest: dict[tuple[str, str], Decimal] = {}
    times, values = [], []
    for end in sorted(by_end):
        latest.update(by_end[end])
        times.append(end)
        values.append(float(sum(latest.values(), Decimal(0))))
    return [(t - times[0]) / 60e9 for t in times], values


def _pnl(runs: dict[str, list[KpiSnapshot]]) -> Callable[[Axes], None]:
    def draw(axes: Axes) -> None:
        for name, snapshots in runs.items():
            minutes, values = cumulative_net(snapshots)
            axes.plot(minutes, values, label=name, marker=".")
        axes.set_xlabel("minutes from the run's start")
        axes.set_ylabel("cumulative net PnL (quote)")
        axes.legend()
        axes.set_title("net PnL: backtest and stack rehearsal")

    return draw


def plots(steps: list[Step], budget_s: float, runs: dict[str, list[KpiSnapshot]]) -> dict[str, str]:
    """Each plot's SVG by its figure id."""
    found = {"steps": svg(_steps(steps, budget_s))}
    drills: list[dict[str, object]] = next(
        (s.details.get("drills", []) for s in steps if s.name == "drills"), []
    )
    if drills:
        found["drills"] = svg(_drills(drills))
    if any(runs.values()):
        found["pnl"] = svg(_pnl({k: v for k, v in runs.items() if v}))
    return found
