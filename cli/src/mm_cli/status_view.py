"""The live terminal view of a running local stack, sized for an 80-column terminal."""

from __future__ import annotations

import time

from rich.console import Group
from rich.table import Table
from rich.text import Text

from mm_cli.local_stack import StackLayout
from mm_cli.supervisor import Child, ChildState

_STATE_STYLE = {
    ChildState.RUNNING: "green",
    ChildState.STARTING: "yellow",
    ChildState.BACKING_OFF: "red",
    ChildState.STOPPING: "yellow",
    ChildState.STOPPED: "dim",
}


def render(children: list[Child], layout: StackLayout, health: dict[str, str]) -> Group:
    """Processes with their state, restarts, health and side port; then where things live."""
    table = Table(title="mm local stack", title_justify="left", expand=False, width=78)
    table.add_column("process", width=11)
    table.add_column("state", width=11)
    table.add_column("pid", justify="right", width=7)
    table.add_column("up", justify="right", width=7)
    table.add_column("restarts", justify="right", width=8)
    table.add_column("health", width=9)
    table.add_column("port", justify="right", width=6)
    now = time.monotonic()
    for child in children:
        uptime = _duration(now - child.started_at) if child.state is ChildState.RUNNING else "-"
        table.add_row(
            child.spec.name,
            Text(child.state.value, style=_STATE_STYLE[child.state]),
            str(child.pid or "-"),
            uptime,
            str(child.restarts),
            health.get(child.spec.name, "-"),
            str(child.spec.http_port or "-"),
        )
    footer = Text(
        f"NATS {layout.nats_url}   simulator {layout.sim_url}\n"
        f"logs {layout.log_dir}/<process>.log   metrics http://127.0.0.1:<port>/metrics\n"
        "Ctrl-C stops everything.",
        style="dim",
    )
    return Group(table, footer)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
