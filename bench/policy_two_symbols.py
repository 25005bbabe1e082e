"""The policy's value on the simulator: pairs of stacks side by side, one tended by the policy, one
on the static defaults, same simulator seed within a pair; prints per-pair and mean tables.

    nice -n 19 .venv/bin/python bench/policy_two_symbols.py --seeds 7,8,9 --duration 300

The two symbols get different flow through the simulator's per-instrument market model
(`InstrumentConfig.market`, see `FLOWS`): ETHUSDT heavy informed, BTCUSDT benign; everything else
is the default model. The choice and why are in docs/policy.md. Both arms run the demo quoter
settings of `mm run`; the static arm has the policy in dry run with the same parameters (it
publishes what it would do and writes nothing), the policy arm turns it on. Figures come from
`mm report --json`, the spread and budget moves from `mm policy explain` (stream POLICY).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from mm_cli.local_stack import StackLayout
from mm_sim.settings import default_instruments

MM = [sys.executable, "-m", "mm_cli"]
SYMBOLS = ("BTCUSDT", "ETHUSDT")
# The market model's meaning, not fitted to the policy (docs/policy.md, run 4, says why each):
# ETHUSDT's informed trader sweeps about 30 ETH (3 000 lots, six times the touch's displayed size)
# every 2 s on average and the price keeps 2 bps (60 ticks at 3 000) of it, absorbed over 2 s;
# BTCUSDT's flow is nearly all uninformed, of the default size, and leaves no impact.
FLOWS = {
    "ETHUSDT": {
        "informed_trade_probability": 0.05,
        "informed_trade_size_lots": 3000,
        "informed_impact_ticks": 60.0,
        "informed_impact_steps": 20,
        "uninformed_trade_probability": 0.3,
    },
    "BTCUSDT": {"informed_trade_probability": 0.02, "uninformed_trade_probability": 0.3},
}
POLICY_ON = {
    "mode": "on",
    "spread": {"floor": 0.1, "home": 0.1, "ceiling": 5, "max_step": 0.5, "min_interval_s": 30},
    "size": {"floor": 1, "home": 1, "ceiling": 5, "max_step": 1, "min_interval_s": 30},
    "refresh": {"floor": 1, "home": 2, "ceiling": 10, "max_step": 2, "min_interval_s": 30},
    "inventory": {"floor": 2, "home": 10, "ceiling": 40, "max_step": 10, "min_interval_s": 60},
    "window_s": 120,
    "stale_after_s": 60,
    "min_fills": 3,
    # Toxicity thresholds are the defaults, from first principles (edge_enter_bps 0: a fill
    # whose markout plus fees is negative loses money; edge_exit_bps 0.25: half the 0.5 bps
    # spread step, what one tightening gives back per fill), not fitted to this comparison.
    "spread_step_bps": 0.5,
    "allocator": True,
    "budget_notional": 1500,
    "symbol_floor_notional": 150,
    "symbol_cap_notional": 1350,
    "rebalance_interval_s": 60,
    "rebalance_share": 0.5,
}
ARMS = {"static": {**POLICY_ON, "mode": "dry_run"}, "policy": POLICY_ON}
STAGE = {"static": "dry_run", "policy": "applied"}  # what each arm's policy does with a decision
DECISION = re.compile(r"^\S+-(\d+) \[(\w+)\] ([\w+]+): (.*)$")
MOVE = r"{} (\S+) -> (\S+?),?(?: |$)"


def mm(*arguments: str, layout: StackLayout) -> subprocess.CompletedProcess[str]:
    bus = ["--nats", layout.nats_url, "--bus-dir", str(layout.bus_dir)]
    return subprocess.run([*MM, *arguments, *bus], capture_output=True, text=True, check=False)


def sim_instruments() -> str:
    """`MM_SIM_INSTRUMENTS`: the default instruments with `FLOWS` on the linear ones."""
    configs = [
        config.model_copy(update={"market": FLOWS[config.symbol]})
        if config.category == "linear" and config.symbol in FLOWS
        else config
        for config in default_instruments()
    ]
    return json.dumps([config.model_dump(mode="json") for config in configs])


def start(out: Path, base_port: int, seed: int) -> dict[str, tuple[StackLayout, Any]]:
    env = os.environ | {"MM_SIM_INSTRUMENTS": sim_instruments(), "MM_SIM_SEED": str(seed)}
    stacks = {}
    for offset, arm in enumerate(ARMS):
        run_dir, port = out / arm, base_port + 40 * offset
        run_dir.mkdir(parents=True, exist_ok=True)
        with (run_dir / "mm-run.log").open("wb") as log:
            process = subprocess.Popen(
                ["nice", "-n", "19", *MM, "run", "--headless", "--base-port", str(port),
                 "--run-dir", str(run_dir)],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        stacks[arm] = (StackLayout(run_dir=run_dir, base_port=port), process)
    return stacks


def wait_for_policy(layout: StackLayout, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while mm("policy", "status", layout=layout).returncode != 0:
        if time.monotonic() > deadline:
            raise SystemExit(f"the policy of {layout.run_dir} did not answer in {timeout_s} s")
        time.sleep(2)


def run_pair(out: Path, base_port: int, seed: int, duration: float) -> dict[str, Any]:
    """One pair: both arms at once, the policy set, `duration` s of trading, then the figures."""
    stacks = start(out, base_port, seed)
    set_after = {}
    try:
        for arm, (layout, _) in stacks.items():
            wait_for_policy(layout)
            set_after[arm] = {symbol: len(explain(layout, symbol)) for symbol in SYMBOLS}
            done = mm("config", "set", "policy.default", json.dumps(ARMS[arm]), layout=layout)
            if done.returncode != 0:
                raise SystemExit(f"policy.default refused on {arm}: {done.stderr.strip()}")
        time.sleep(duration)
        results = {arm: collect(layout) for arm, (layout, _) in stacks.items()}
        return {arm: result | {"set_after": set_after[arm]} for arm, result in results.items()}
    finally:
        for _, process in stacks.values():
            process.terminate()  # `mm run` stops every child on SIGTERM
        for _, process in stacks.values():
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()  # its children die with it (the supervisor's parent-death signal)
                process.wait()


def collect(layout: StackLayout) -> dict[str, Any]:
    args = ["report", "--json", "--since", "2h", "--run-dir", str(layout.run_dir)]
    done = mm(*args, layout=layout)
    if done.returncode != 0:
        raise SystemExit(f"mm report failed for {layout.run_dir}: {done.stderr}")
    report = json.loads(done.stdout)
    return {"report": report, "decisions": {symbol: explain(layout, symbol) for symbol in SYMBOLS}}


def explain(layout: StackLayout, symbol: str) -> list[str]:
    """The symbol's decisions in words, oldest first (stream POLICY)."""
    explained = mm("policy", "explain", symbol, "--last", "0", layout=layout)
    return [line for line in explained.stdout.splitlines() if DECISION.match(line)]


def figures(report: dict[str, Any], symbol: str) -> dict[str, float]:
    """Net, fills, rebate (fees, + earned), 10 s markout and edge (markout + fees) in bps."""
    data = report["symbols"].get(symbol)
    if data is None:
        return {}
    pnl, quoting = data["pnl"], data["quoting"]
    sides = [data["markouts"][side].get("10s", {}) for side in ("buy", "sell")]
    quote = sum(float(side.get("quote", 0)) for side in sides)
    notional = sum(abs(float(side.get("quote", 0)) * 1e4 / side["bps"]) for side in sides
                   if side.get("bps"))  # fmt: skip
    markout = quote * 1e4 / notional if notional else float("nan")
    fees = float(pnl["fees"])
    return {
        "net": float(pnl["net"]),
        "fills": float(quoting["fills"]),
        "rebate": fees,
        "markout": markout,
        "edge": markout + fees * 1e4 / notional if notional else float("nan"),
        "presence": float(quoting["presence"]),
    }


def moves(result: dict[str, Any], arm: str, symbol: str) -> dict[str, Any]:
    """What the arm's policy did (applied) or would do (dry run) once its parameters were set:
    rules, spread and budget paths."""
    rules: Counter[str] = Counter()
    paths: dict[str, list[str]] = {"min_spread_bps": [], "max_inventory_lots": []}
    after = result.get("set_after", {}).get(symbol, 0)
    for line in result["decisions"][symbol]:
        found = DECISION.match(line)
        if found is None or int(found.group(1)) <= after or found.group(2) != STAGE[arm]:
            continue
        rules[found.group(3)] += 1
        for field, path in paths.items():
            move = re.search(MOVE.format(field), found.group(4))
            if move:
                path.extend([move.group(1)] if not path else [])
                path.append(move.group(2))
    return {"rules": dict(rules), **paths}


def path_text(path: list[str]) -> str:
    if not path:
        return "-"
    values = [float(value) for value in path]
    return f"{path[0]}->{path[-1]} ({len(path) - 1} moves, {min(values):g}..{max(values):g})"


COLUMNS = ("net", "fills", "rebate", "markout", "edge", "presence")
HEADER = (f"{'symbol':<8} {'arm':<7} {'net':>8} {'fills':>6} {'rebate':>8} {'mk10s bps':>9} "
          f"{'edge bps':>8} {'presence':>8}  spread bps / inventory lots / rules")  # fmt: skip


def row(symbol: str, arm: str, values: dict[str, float], notes: str) -> str:
    if not values:
        return f"{symbol:<8} {arm:<7} (no figures)"
    net, fills, rebate, markout, edge, presence = (values[name] for name in COLUMNS)
    return (f"{symbol:<8} {arm:<7} {net:>8.4f} {fills:>6.0f} {rebate:>8.4f} {markout:>9.3f} "
            f"{edge:>8.3f} {presence:>8.3f}  {notes}")  # fmt: skip


def print_pair(seed: int, pair: dict[str, Any]) -> None:
    print(f"\npair seed {seed}\n{HEADER}")
    for symbol in SYMBOLS:
        for arm, result in pair.items():
            did = moves(result, arm, symbol)
            notes = (f"{path_text(did['min_spread_bps'])} / {path_text(did['max_inventory_lots'])}"
                     f" / {did['rules'] or '-'}")  # fmt: skip
            print(row(symbol, arm, figures(result["report"], symbol), notes))


def margins(pairs: dict[int, dict[str, Any]]) -> dict[str, list[float]]:
    """Per pair: policy net minus static net, per symbol and over both."""
    found: dict[str, list[float]] = {symbol: [] for symbol in (*SYMBOLS, "both")}
    for pair in pairs.values():
        total = 0.0
        for symbol in SYMBOLS:
            arms = [figures(pair[arm]["report"], symbol).get("net", 0.0) for arm in ARMS]
            found[symbol].append(arms[1] - arms[0])
            total += arms[1] - arms[0]
        found["both"].append(total)
    return found


def print_seeds(pairs: dict[int, dict[str, Any]]) -> None:
    """One line per pair: both symbols' net per arm, the margin, the policy arm's paths."""
    print("\nper pair (net over both symbols, USDT; paths: the policy arm's applied moves)")
    print(f"{'seed':>4} {'static':>8} {'policy':>8} {'margin':>8}  "
          + "  ".join(f"{symbol} spread bps / budget lots" for symbol in SYMBOLS))  # fmt: skip
    for seed, pair in pairs.items():
        nets = [
            sum(figures(pair[arm]["report"], s).get("net", 0.0) for s in SYMBOLS) for arm in ARMS
        ]
        paths = []
        for symbol in SYMBOLS:
            did = moves(pair["policy"], "policy", symbol)
            paths.append(f"{compact(did['min_spread_bps'])} / {compact(did['max_inventory_lots'])}")
        print(f"{seed:>4} {nets[0]:>8.4f} {nets[1]:>8.4f} {nets[1] - nets[0]:>+8.4f}  "
              + "  ".join(paths))  # fmt: skip


def compact(path: list[str]) -> str:
    """A parameter's path, every value it took: 0.1>0.6>1.1 (`-`: it never moved)."""
    return ">".join(f"{float(value):g}" for value in path) if path else "-"


def print_summary(pairs: dict[int, dict[str, Any]]) -> None:
    print(f"\nmean over {len(pairs)} pairs (seeds {', '.join(map(str, pairs))})\n{HEADER}")
    for symbol in SYMBOLS:
        for arm in ARMS:
            each = [figures(pair[arm]["report"], symbol) for pair in pairs.values()]
            each = [values for values in each if values]
            mean = (
                {name: statistics.fmean(v[name] for v in each) for name in COLUMNS} if each else {}
            )
            finals = [moves(pair[arm], arm, symbol) for pair in pairs.values()]
            spreads = "/".join(
                f["min_spread_bps"][-1] if f["min_spread_bps"] else "-" for f in finals
            )
            budgets = "/".join(
                f["max_inventory_lots"][-1] if f["max_inventory_lots"] else "-" for f in finals
            )
            print(row(symbol, arm, mean, f"last {spreads} / last {budgets}"))
    print_seeds(pairs)
    print("\nmargin, policy net - static net (USDT): mean [min, max] over pairs")
    for name, values in margins(pairs).items():
        spread = f"[{min(values):+.4f}, {max(values):+.4f}]"
        print(f"  {name:<8} {statistics.fmean(values):+.4f} {spread}"
              f"  pairs: {' '.join(f'{value:+.4f}' for value in values)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="7,8,9", help="one pair per seed (default 7,8,9)")
    parser.add_argument("--duration", type=float, default=300, help="s of trading per pair")
    parser.add_argument("--base-port", type=int, default=15400)
    parser.add_argument("--out", type=Path, default=Path(".run/policy-compare"))
    parser.add_argument("--reprint", action="store_true", help="print the tables of --out again")
    arguments = parser.parse_args()
    pairs = {}
    if arguments.reprint:
        for seed in (int(text) for text in arguments.seeds.split(",")):
            pairs[seed] = json.loads((arguments.out / f"seed-{seed}" / "results.json").read_text())
            print_pair(seed, pairs[seed])
        print_summary(pairs)
        return
    for index, seed in enumerate(int(text) for text in arguments.seeds.split(",")):
        out = arguments.out / f"seed-{seed}"
        pairs[seed] = run_pair(out, arguments.base_port + 100 * index, seed, arguments.duration)
        (out / "results.json").write_text(json.dumps(pairs[seed], indent=2))
        print_pair(seed, pairs[seed])
        sys.stdout.flush()
    print_summary(pairs)


if __name__ == "__main__":
    main()
