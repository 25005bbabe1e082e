"""Where one process hop's time goes inside the receiving service, stamp by stamp, on the stack.

Runs `bench_latency.run_stack` at the light load (2 symbols x 10 frames/s: nothing queues) with
every child loading `bench/hop_stamps/sitecustomize.py` (stamps at the loop's wake-up, nats-py's
message processing, the runtime `Bus`'s deliver / trace-context extraction / handler / publish,
nats-py's publish and the socket write; see that module), on the stock asyncio loop (the socket
stamps sit in its selector and transport). Then, per fast-path service, the chains from the
message that starts its work to the socket write of what it sends on:

- quoter: `md.book.*` received -> `quote.intent.*` written;
- risk: `quote.intent.*` received -> `order.target.*` written;
- executor: `order.target.*` received -> the first write that is neither NATS nor HTTP (the
  order request's WebSocket frame).

Printed per service: the chain's wall and CPU (thread time) p50, and each step between stamps
(wall and CPU p50). Wall close to CPU means the time is the process running, not waiting.

Run: `.venv/bin/python bench/where_hops_go.py` (about 1 minute).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

from bench_latency import LOADS, run_on_services_loop, run_stack

Stamp = tuple[str, int, int, str]
CHAINS = {  # service: (subject that starts the work, how the chain ends)
    "quoter": ("md.book.", "quote.intent."),
    "risk": ("quote.intent.", "order.target."),
    "executor": ("order.target.", ""),  # "": the first write that is neither NATS nor HTTP
}
NATS_OR_HTTP = ("HPUB", "PUB ", "PING", "PONG", "HTTP", "SUB ", "UNSUB", "CONNECT")


def read_stamps(directory: Path) -> dict[str, list[Stamp]]:
    by_service: dict[str, list[Stamp]] = defaultdict(list)
    for path in directory.glob("*.jsonl"):
        service = ""
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            if isinstance(entry, dict):
                argv0 = str(entry["argv"][0]) if entry["argv"] else ""
                service = next((name for name in CHAINS if f"/{name}/" in argv0), "")
            elif service:
                by_service[service].append(tuple(entry))  # type: ignore[arg-type]
    return by_service


def chains(stamps: list[Stamp], start: str, end: str) -> list[list[Stamp]]:
    found: list[list[Stamp]] = []
    current: list[Stamp] | None = None
    last_wake: Stamp | None = None
    published = False
    for entry in stamps:
        name, _wall, _cpu, detail = entry
        if name == "wake":
            last_wake = entry
            continue
        if current is None:
            if name == "process_msg" and detail.startswith(start):
                current, published = ([last_wake] if last_wake else []) + [entry], False
            continue
        current.append(entry)
        if end and name == "nats_publish" and detail.startswith(end):
            published = True
        finished = (end and published and name == "write_end") or (
            not end and name == "write" and not detail.startswith(NATS_OR_HTTP)
        )
        if finished:
            found.append(current)
            current = None
        elif entry[1] - current[0][1] > 50_000_000:  # 50 ms: this message led to nothing sent
            current = None
    return found


def report(service: str, found: list[list[Stamp]]) -> None:
    if not found:
        print(f"\n{service}: no complete chain")
        return
    wall = statistics.median((chain[-1][1] - chain[0][1]) / 1e3 for chain in found)
    cpu = statistics.median((chain[-1][2] - chain[0][2]) / 1e3 for chain in found)
    start, end = CHAINS[service]
    print(f"\n{service}: {start}* -> {end or 'order request'} written, {len(found)} chains, "
          f"wall p50 {wall:.0f} us, CPU p50 {cpu:.0f} us\n")  # fmt: skip
    print("| step | n | wall p50 (us) | CPU p50 (us) |\n|---|---|---|---|")
    steps: dict[str, list[tuple[float, float]]] = defaultdict(list)
    order: list[str] = []
    for chain in found:
        seen: dict[str, int] = defaultdict(int)
        for before, after in pairwise(chain):
            key = f"{before[0]} -> {after[0]}"
            seen[key] += 1
            label = key if seen[key] == 1 else f"{key} #{seen[key]}"
            if label not in steps:
                order.append(label)
            steps[label].append(((after[1] - before[1]) / 1e3, (after[2] - before[2]) / 1e3))
    for label in order:
        values = steps[label]
        if len(values) >= len(found) / 2:
            print(f"| {label} | {len(values)} | {statistics.median(v[0] for v in values):.1f} | "
                  f"{statistics.median(v[1] for v in values):.1f} |")  # fmt: skip


def main() -> int:
    load = LOADS[1]
    with tempfile.TemporaryDirectory(prefix="bench-hop-stamps-") as work:
        stamps_dir = Path(work) / "stamps"
        stamps_dir.mkdir()
        os.environ["PYTHONPATH"] = str(Path(__file__).parent / "hop_stamps")
        os.environ["MM_HOP_STAMPS_DIR"] = str(stamps_dir)
        os.environ["MM_EVENT_LOOP"] = "asyncio"
        samples, _parts, _info = run_on_services_loop(run_stack(Path(work) / "stack", load))
        by_service = read_stamps(stamps_dir)
    print(f"{load.label}: {len(samples)} tick->order samples; load average at the end "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    for service, (start, end) in CHAINS.items():
        report(service, chains(by_service.get(service, []), start, end))
    return 0


if __name__ == "__main__":
    sys.exit(main())
