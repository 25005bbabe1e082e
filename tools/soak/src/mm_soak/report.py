"""The soak report: a JSON document with every sample, verdict and drill, and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server

import matplotlib.pyplot as plt  # after use(): the backend is fixed at import

from mm_soak.budgets import SlopeVerdict, series
from mm_soak.nats_memory import CeilingVerdict
from mm_soak.sampler import Sample

PLOTS: dict[str, tuple[str, str]] = {
    "rss_mib": ("Resident memory per child", "MiB"),
    "fds": ("Open file descriptors per child", "descriptors"),
    "asyncio_tasks": ("asyncio tasks per service", "tasks"),
    "nats_pending": ("JetStream consumer pending", "messages"),
    "disk_mib": ("Log and run directory size", "MiB"),
}


def write_report(
    out_dir: Path,
    meta: dict[str, Any],
    samples: list[Sample],
    verdicts: list[SlopeVerdict | CeilingVerdict],
    fault_marks: list[tuple[float, str]],
) -> Path:
    """Write `soak-report.json` and one PNG per plotted group into `out_dir`; returns the JSON."""
    out_dir.mkdir(parents=True, exist_ok=True)
    document = {
        **meta,
        "passed": meta.get("passed", True) and all(verdict.ok for verdict in verdicts),
        "verdicts": [verdict.as_dict() for verdict in verdicts],
        "faults": [{"at_s": round(at, 2), "drill": name} for at, name in fault_marks],
        "samples": [{"t": sample.elapsed_s, **sample.values} for sample in samples],
    }
    path = out_dir / "soak-report.json"
    path.write_text(json.dumps(document, indent=1))
    all_series = series(samples)
    for prefix, (title, unit) in PLOTS.items():
        chosen = {key: points for key, points in all_series.items() if key.startswith(prefix)}
        if chosen:
            _plot(out_dir / f"soak-{prefix}.png", title, unit, chosen, fault_marks)
    return path


def _plot(
    path: Path,
    title: str,
    unit: str,
    chosen: dict[str, list[tuple[float, float]]],
    fault_marks: list[tuple[float, str]],
) -> None:
    figure, axes = plt.subplots(figsize=(10, 4.5))
    for key, points in sorted(chosen.items()):
        axes.plot([x / 60 for x, _ in points], [y for _, y in points], label=key.split(".", 1)[1])
    for at, _ in fault_marks:
        axes.axvline(at / 60, color="grey", alpha=0.25, linewidth=0.8)
    axes.set_title(f"{title} (grey lines: injected faults)")
    axes.set_xlabel("minutes")
    axes.set_ylabel(unit)
    axes.legend(fontsize="small", loc="upper left", ncol=3)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
