"""The autopolicy's rules: from one symbol's signals and current values to proposed targets.

Pure: no NATS, no clock. Each rule proposes a target for a field and says why; the first rule
that speaks for a field wins, safety first (the feed, then toxicity, then rejects, then
coverage, then the way home). A proposal is only a wish: `policy.bounds.bounded_move` decides how
far the value actually moves, and nothing moves a field the operator pinned. Between a rule's
enter and exit thresholds no rule speaks (hysteresis); without enough fills to measure, the
toxicity rules stay silent rather than guess. Toxicity is judged on a fill's net edge (markout
plus fees), not on the markout alone: a fill whose markout is negative but smaller than the
rebate it earned still makes money, and widening against it gives that money up. A volatility
regime (when the operator turns it on) widens and shrinks like toxicity; spread and size go back
home only when the edge is benign and the regime calm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from policy.bounds import Number, as_number
from policy.params import PolicyParams
from policy.signals import Signals


@dataclass(frozen=True)
class Proposal:
    """A rule's wish for one field."""

    rule: str
    field: str
    target: Number | bool
    detail: str


@dataclass(frozen=True)
class FeedView:
    """The symbol's feed over the window, and whether the policy is the one that pulled it."""

    events: int
    quiet_s: float | None
    pulled_by_policy: bool


def autopolicy(
    params: PolicyParams,
    signals: Signals | None,
    current: Mapping[str, object],
    feed: FeedView,
) -> list[Proposal]:
    """The proposals for one symbol; `signals` None means the KPI inputs are stale (hold)."""
    proposals = _feed(params, current, feed)
    if signals is None:
        return proposals
    spread, size = (
        as_number(current.get("min_spread_bps")),
        as_number(current.get("level_size_lots")),
    )
    toxic, benign = _toxicity(params, signals)
    edge = _edge_text(params, signals)
    volatile, calm = _regime(params, signals)
    widen = _widen(params, signals, toxic, volatile, edge)
    if spread is not None:
        if widen is not None:
            rule, detail = widen
            target = spread + params.spread_step_bps
            proposals.append(Proposal(rule, "min_spread_bps", target, f"{detail}: widen"))
        elif benign and calm and spread != params.spread.home:
            detail = f"{edge} above {params.edge_exit_bps}: back toward {params.spread.home}"
            target = _toward(spread, params.spread.home, params.spread_step_bps)
            proposals.append(Proposal("edge_recovered", "min_spread_bps", target, detail))
    if size is not None:
        proposals += _size(params, signals, current, size, widen, benign and calm, edge)
    proposals += _refresh(params, signals, current)
    return proposals


def _toxicity(params: PolicyParams, signals: Signals) -> tuple[bool, bool]:
    """(toxic, benign): a fill's net edge below the enter threshold, or above the exit one."""
    edge = signals.edge_bps
    if edge is None or signals.markout_fills < params.min_fills:
        return False, False
    return edge < params.edge_enter_bps, edge > params.edge_exit_bps


def _regime(params: PolicyParams, signals: Signals) -> tuple[bool, bool]:
    """(volatile, calm): the window's volatility against its baseline; calm when unmeasured."""
    short, base = signals.volatility_bps, signals.volatility_baseline_bps
    if params.vola_enter_ratio is None or short is None or base is None or base <= 0:
        return False, True
    ratio = short / base
    return ratio > params.vola_enter_ratio, ratio < params.vola_exit_ratio


def _widen(
    params: PolicyParams, signals: Signals, toxic: bool, volatile: bool, edge: str
) -> tuple[str, str] | None:
    """The rule that asks for a wider, smaller quote and why, toxicity first."""
    if toxic:
        return "toxic_edge", f"{edge} below {params.edge_enter_bps}"
    if volatile:
        short, base = signals.volatility_bps or 0.0, signals.volatility_baseline_bps or 0.0
        return "volatility_regime", (
            f"volatility {short:.2f} bps/min over {params.window_s:.0f} s, "
            f"{short / base:.2f}x its {params.vola_baseline_s:.0f} s baseline, "
            f"above {params.vola_enter_ratio}"
        )
    return None


def _edge_text(params: PolicyParams, signals: Signals) -> str:
    return (
        f"{params.markout_horizon} edge {signals.edge_bps or 0:.2f} bps "
        f"(markout {signals.markout_bps or 0:.2f} + fees {signals.fee_bps or 0:.2f})"
    )


def _size(
    params: PolicyParams,
    signals: Signals,
    current: Mapping[str, object],
    size: Number,
    widen: tuple[str, str] | None,
    benign: bool,
    edge: str,
) -> list[Proposal]:
    field, step, home = "level_size_lots", params.size_step_lots, params.size.home
    if widen is not None:
        rule, detail = widen
        return [Proposal(rule, field, size - step, f"{detail}: shrink size")]
    limit = as_number(current.get("max_inventory_lots"))
    room = limit is not None and abs(signals.position_lots) < params.inventory_room_share * limit
    presence = signals.presence
    if presence is not None and presence < params.coverage_target and room:
        detail = f"presence {presence:.3f} below {params.coverage_target} with inventory room"
        return [Proposal("obligation_coverage", field, size + step, detail)]
    covered = presence is None or presence >= params.coverage_exit
    if benign and covered and size != home:
        detail = f"{edge} above {params.edge_exit_bps}: size back toward {home}"
        return [Proposal("edge_recovered", field, _toward(size, home, step), detail)]
    return []


def _refresh(
    params: PolicyParams, signals: Signals, current: Mapping[str, object]
) -> list[Proposal]:
    refresh, share = as_number(current.get("refresh_price_ticks")), signals.reject_share
    if refresh is None or share is None:
        return []
    field, step, home = "refresh_price_ticks", params.refresh_step_ticks, params.refresh.home
    figures = f"rejects {share:.3f} per action ({signals.amend_failures} amend failures)"
    if share > params.reject_enter_share:
        detail = f"{figures} above {params.reject_enter_share}: refresh less often"
        return [Proposal("amend_failures", field, refresh + step, detail)]
    if share < params.reject_exit_share and refresh != home:
        detail = f"{figures} below {params.reject_exit_share}: refresh back toward {home}"
        return [Proposal("rejects_recovered", field, _toward(refresh, home, step), detail)]
    return []


def _feed(params: PolicyParams, current: Mapping[str, object], feed: FeedView) -> list[Proposal]:
    enabled = current.get("enabled")
    if enabled is True and feed.events >= params.feed_events_to_pull:
        detail = f"{feed.events} stale/resync events within {params.window_s:.0f} s: pull"
        return [Proposal("feed_unreliable", "enabled", False, detail)]
    quiet = feed.quiet_s is None or feed.quiet_s >= params.feed_quiet_s
    if enabled is False and feed.pulled_by_policy and quiet:
        detail = f"no stale/resync event for {params.feed_quiet_s:.0f} s: quote again"
        return [Proposal("feed_recovered", "enabled", True, detail)]
    return []


def _toward(value: Number, home: float, step: float) -> float:
    return max(home, value - step) if value > home else min(home, value + step)
