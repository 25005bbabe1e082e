"""Where recorded files live: `<root>/<venue>/<category>/<symbol>/<YYYY-MM-DD>/<HH>.jsonl.zst`.

The hour is the UTC hour of the receive time. Frames that belong to no configured symbol (a
malformed frame, a topic nobody asked for, a bus subject without a symbol) go under the symbol
`_unrouted`, which no venue symbol can be (venue symbols have no lowercase or `_`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

SUFFIX = ".jsonl.zst"
UNROUTED = "_unrouted"
HOUR_NS = 3_600_000_000_000
_HOUR_FILE = re.compile(r"^(\d{2})\.jsonl(\.zst)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SymbolKey(NamedTuple):
    venue: str
    category: str
    symbol: str


# Files outside the layout (plain venue frames, as `MM_SIM_REPLAY_FILE` takes): the symbol of each
# line comes from its topic.
FOREIGN = SymbolKey("", "", "")


def hour_start_ns(ts_ns: int) -> int:
    return ts_ns - ts_ns % HOUR_NS


def path_for(root: Path, key: SymbolKey, ts_ns: int) -> Path:
    """The file that holds a frame received at `ts_ns`."""
    moment = dt.datetime.fromtimestamp(ts_ns // 1_000_000_000, dt.UTC)
    return (
        root / key.venue / key.category / key.symbol / f"{moment:%Y-%m-%d}" / f"{moment:%H}{SUFFIX}"
    )


def file_hour_ns(path: Path) -> int | None:
    """The UTC hour a file in the layout covers (its start, ns), or None outside the layout."""
    match = _HOUR_FILE.match(path.name)
    if match is None or not _DATE.match(path.parent.name):
        return None
    day = dt.datetime.strptime(path.parent.name, "%Y-%m-%d").replace(tzinfo=dt.UTC)
    return int(day.timestamp()) * 1_000_000_000 + int(match.group(1)) * HOUR_NS


def key_of(path: Path) -> SymbolKey:
    """The venue, category and symbol of a file in the layout (from its path)."""
    if file_hour_ns(path) is None:
        raise ValueError(
            f"expected a path ending <venue>/<category>/<symbol>/<YYYY-MM-DD>/<HH>{SUFFIX}, "
            f"got {path}"
        )
    symbol_dir = path.parent.parent
    return SymbolKey(symbol_dir.parent.parent.name, symbol_dir.parent.name, symbol_dir.name)


def may_overlap(path: Path, start_ns: int | None, end_ns: int | None) -> bool:
    """False only when the file's hour lies wholly outside [start_ns, end_ns)."""
    hour = file_hour_ns(path)
    if hour is None:
        return True
    if start_ns is not None and hour + HOUR_NS <= start_ns:
        return False
    return end_ns is None or hour < end_ns


def recorded_files(root: Path) -> list[Path]:
    """Every file of the layout under `root` (at any depth), oldest hour first."""
    found = [path for path in root.rglob(f"*{SUFFIX}") if file_hour_ns(path) is not None]
    return sorted(found, key=lambda path: (file_hour_ns(path), str(path)))


def find(
    source: str | Path | Iterable[str | Path],
    *,
    symbols: Iterable[str] | None = None,
    venue: str | None = None,
    category: str | None = None,
) -> dict[SymbolKey, list[Path]]:
    """The files to read, by symbol, each symbol's files in hour order."""
    sources = [Path(source)] if isinstance(source, str | Path) else [Path(s) for s in source]
    chosen: dict[SymbolKey, list[Path]] = {}
    for item in sources:
        if item.is_dir():
            files = recorded_files(item)
        elif item.is_file():
            files = [item]
        else:
            raise FileNotFoundError(f"expected a recording directory or file, got {item}")
        for path in files:
            key = key_of(path) if file_hour_ns(path) is not None else FOREIGN
            chosen.setdefault(key, []).append(path)
    wanted = frozenset(symbols) if symbols is not None else None
    return {
        key: sorted(set(paths), key=lambda p: (file_hour_ns(p) or 0, str(p)))
        for key, paths in chosen.items()
        if key == FOREIGN
        or (
            (wanted is None or key.symbol in wanted)
            and venue in (None, key.venue)
            and category in (None, key.category)
        )
    }
