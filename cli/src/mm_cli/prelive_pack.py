"""The pre-live pack's record: each step's outcome, `pack.json` (GO / NO-GO and why) and the
HTML summary with its plots.

A step is PASS, FAIL or SKIPPED (a step that could not run because an earlier one failed, with
the reason); the pack is GO only when every step passed. `failed` names what failed as
`<step>` or `<step>.<check>` (a gate's failed or dataless required check), so a reader and a
test can see which checks stopped it. The HTML page is self-contained (inline SVG).
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PASS, FAIL, SKIPPED = "PASS", "FAIL", "SKIPPED"
GO, NO_GO = "GO", "NO-GO"


@dataclass
class Step:
    name: str
    verdict: str
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    failed_checks: list[str] = field(default_factory=list)  # names within the step


def skipped(name: str, why: str) -> Step:
    return Step(name, SKIPPED, [why])


def failed_names(steps: list[Step]) -> list[str]:
    """What stopped the pack: each failed step, or its failed checks by name."""
    names: list[str] = []
    for step in steps:
        if step.verdict != FAIL:
            continue
        if step.failed_checks:
            names += [f"{step.name}.{check}" for check in step.failed_checks]
        else:
            names.append(step.name)
    return names


def document(steps: list[Step], about: dict[str, Any]) -> dict[str, Any]:
    """The pack.json document."""
    failed = failed_names(steps)
    reasons = [f"{s.name}: {r}" for s in steps if s.verdict == FAIL for r in s.reasons]
    passed = bool(steps) and all(step.verdict == PASS for step in steps)
    return {
        "verdict": GO if passed else NO_GO,
        "failed": failed,
        "skipped": {s.name: s.reasons[0] for s in steps if s.verdict == SKIPPED},
        "reasons": reasons,
        **about,
        "steps": [asdict(step) for step in steps],
    }


def write(out: Path, pack: dict[str, Any], plots: dict[str, str]) -> None:
    """`pack.json` and `index.html` into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "pack.json").write_text(json.dumps(pack, indent=2, sort_keys=True) + "\n")
    (out / "index.html").write_text(render(pack, plots))


def _cell(value: object) -> str:
    return f"<td>{html.escape(str(value))}</td>"


def _gate_table(step: dict[str, Any]) -> str:
    checks = step["details"].get("checks")
    if not checks:
        return ""
    rows = "".join(
        "<tr>"
        + "".join(_cell(c[key]) for key in ("name", "figure", "threshold", "verdict"))
        + "</tr>"
        for c in checks
    )
    head = "<tr><th>check</th><th>figure</th><th>threshold</th><th>verdict</th></tr>"
    title = html.escape(step["name"])
    return f'<h2 id="{title}">{title}</h2><table>{head}{rows}</table>'


def render(pack: dict[str, Any], plots: dict[str, str]) -> str:
    """The summary page: the verdict and why, each step, each gate's checks, the plots."""
    verdict = pack["verdict"]
    colour = "green" if verdict == GO else "red"
    steps = "".join(
        "<tr>"
        + "".join(_cell(s[key]) for key in ("name", "verdict"))
        + _cell(f"{s['seconds']:.1f} s")
        + _cell("; ".join(s["reasons"]))
        + "</tr>"
        for s in pack["steps"]
    )
    gates = "".join(_gate_table(s) for s in pack["steps"])
    figures = "".join(
        f'<figure id="{html.escape(name)}">{svg}</figure>' for name, svg in plots.items()
    )
    links = "".join(
        f'<li><a href="{html.escape(link)}">{html.escape(link)}</a></li>'
        for link in pack.get("pages", [])
    )
    why = "".join(f"<li>{html.escape(reason)}</li>" for reason in pack["reasons"])
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>pre-live pack</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:2px 6px}"
        "table{border-collapse:collapse}</style></head><body>"
        f"<h1>pre-live pack: <span style='color:{colour}'>{verdict}</span></h1>"
        f"<p>params {html.escape(str(pack.get('params')))}; "
        f"{'quick' if pack.get('quick') else 'full'} form; "
        f"{pack.get('seconds', 0):.0f} s of a {pack.get('budget_s', 0):.0f} s bound</p>"
        f"<ul>{why}</ul><table><tr><th>step</th><th>verdict</th><th>time</th>"
        f"<th>reasons</th></tr>{steps}</table>{gates}{figures}<ul>{links}</ul></body></html>\n"
    )
