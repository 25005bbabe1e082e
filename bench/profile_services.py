"""Flame summaries of the fast-path services at the issue's load, with py-spy (a dev dependency).

Starts the stack as `bench_latency.py` does (10 symbols x 50 book frames/s), waits out the
warm-up, then samples md_gateway, quoter, risk and executor at once with `py-spy record --format
raw` (collapsed stacks, 200 Hz, idle frames left out) for PROFILE_S seconds and prints, per
service, the functions with the most samples on top of the stack (own time) and the most samples
anywhere in the stack (inclusive), as a share of that service's busy samples. Not part of
`make bench`; py-spy needs ptrace rights over the children (it runs them as their parent's user).

With `--handlers` it profiles `bench_service_cpu.py`'s one-process run of the four services'
handlers instead (no stack, no bus; ~20 s) and prints the same summary under each handler: on a
shared machine the at-load profile is mostly the kernel's socket writes and wake-ups, while this
one shows only the services' own work.

    .venv/bin/python bench/profile_services.py          # ~60 s; MM_PROFILE_S=30 for longer
    .venv/bin/python bench/profile_services.py --handlers
"""

from __future__ import annotations

import asyncio
import collections
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_latency import LOADS, stack_env

from mm_soak.running import start_stack, stop_stack

PROFILE_S = int(os.environ.get("MM_PROFILE_S", "20"))
SERVICES = ("md_gateway", "quoter", "risk", "executor")
TOP = 12
PY_SPY = Path(sys.executable).with_name("py-spy")


async def record(pid: int, out: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        str(PY_SPY), "record", "--pid", str(pid), "--duration", str(PROFILE_S), "--rate", "200",
        "--format", "raw", "--output", str(out), "--nonblocking",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, error = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"py-spy on {pid} ended {process.returncode}: {error.decode()[-500:]}")


HANDLERS = {  # bench_service_cpu's entry per service (service_handlers)
    "md_gateway": "service_handlers.Gateway.on_frame",
    "quoter": "service_handlers.Quoter.on_book",
    "risk, book top": "service_handlers.Risk.on_book",
    "risk, intent": "service_handlers.Risk.on_intent",
    "executor": "service_handlers.Executor.on_target_message",
}


def summarize(name: str, raw: Path, under: str = "") -> None:
    """Own and inclusive time of the samples (those below the frame `under`, if given)."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = [_short(frame) for frame in stack.split(";") if frame]
        if under:
            frames = frames[frames.index(under) + 1 :] if under in frames else []
        if not frames:
            continue
        count = int(count_text)
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    seconds = total / 200
    span = f"{PROFILE_S} s" if not under else "the run"
    print(f"\n#### {name}: {total} busy samples ({seconds:.1f} CPU-s of {span})\n")
    print("| own time | % | inclusive | % |\n|---|---|---|---|")
    own_top, incl_top = own.most_common(TOP), _interesting(inclusive).most_common(TOP)
    for (own_name, own_count), (incl_name, incl_count) in zip(own_top, incl_top, strict=False):
        print(f"| `{own_name}` | {100 * own_count / total:.1f} | `{incl_name}` | "
              f"{100 * incl_count / total:.1f} |")  # fmt: skip


def _short(frame: str) -> str:
    """`func (path/to/module.py:12)` -> `module.func`."""
    function, _, where = frame.partition(" (")
    module = where.split(":")[0].rsplit("/", 1)[-1].removesuffix(".py")
    return f"{module}.{function}" if module else function


def _interesting(inclusive: collections.Counter[str]) -> collections.Counter[str]:
    """Inclusive counts without the event loop's own frames, which contain everything."""
    skip = ("base_events.", "runners.", "events._run", "__main__.", "<module>")
    return collections.Counter(
        {name: count for name, count in inclusive.items() if not name.startswith(skip)}
    )


async def main(work: Path) -> int:
    load = LOADS[0]
    running = await start_stack(
        work / "run", symbols=load.symbols, env=stack_env(work / "x.jsonl", load)
    )
    try:
        await asyncio.sleep(load.warm_up_s)
        pids = running.stack.pids()
        await asyncio.gather(*(record(pids[name], work / f"{name}.raw") for name in SERVICES))
    finally:
        await stop_stack(running)
    print(f"### py-spy at {load.label}, {PROFILE_S} s, 200 Hz, idle frames left out")
    for name in SERVICES:
        summarize(name, work / f"{name}.raw")
    return 0


def handlers(work: Path) -> int:
    """py-spy over bench_service_cpu's one-process run, summarised per handler."""
    raw = work / "handlers.raw"
    bench = Path(__file__).with_name("bench_service_cpu.py")
    command = [str(PY_SPY), "record", "--rate", "200", "--format", "raw", "--output", str(raw),
               "--", sys.executable, str(bench), "--child"]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    print("### py-spy over bench_service_cpu.py --child, 200 Hz")
    for name, entry in HANDLERS.items():
        summarize(name, raw, under=entry)
    return 0


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="profile-") as directory:
        if sys.argv[1:] == ["--handlers"]:
            sys.exit(handlers(Path(directory)))
        sys.exit(asyncio.run(main(Path(directory))))
