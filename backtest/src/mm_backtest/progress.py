"""Progress of a run or a sweep: a bar with rate and ETA on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

PLAIN_EVERY_S = 5.0


class Reporter:
    """`update(done)` as work advances; a rich bar on a TTY, a line every few seconds if not."""

    def __init__(self, what: str, total: int, stream: TextIO | None = None) -> None:
        self.what = what
        self.total = total
        self.stream = stream or sys.stderr
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._started = time.monotonic()
        self._last_line = 0.0

    def __enter__(self) -> Reporter:
        if self.stream.isatty():
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.what, total=self.total, rate="")
        return self

    def update(self, done: int, unit: str = "frames") -> None:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = f"{done / elapsed:,.0f} {unit}/s"
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done, rate=rate)
            return
        now = time.monotonic()
        if now - self._last_line >= PLAIN_EVERY_S or done >= self.total:
            self._last_line = now
            share = f" ({done / self.total:.0%})" if self.total else ""
            print(f"{self.what}: {done:,}/{self.total:,}{share}, {rate}", file=self.stream)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
