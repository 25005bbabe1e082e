"""Scan files for secrets offline and fail on any that `.secrets.baseline` does not list as audited.

`python tools/secret_scan.py` scans every file git tracks; with file names (as pre-commit passes
them) only those. detect-secrets finds the candidates with the plugins and filters the baseline
names (regular expressions and entropy, no network). The baseline lists the candidates someone has
audited as not secret (test keys, signatures from the venue's documented examples); a candidate
matches an entry by file, type and the secret's hash, so moving a line does not fail the scan.
Unlike `detect-secrets-hook`, this never rewrites the baseline, and it never prints a secret.

To accept a new false positive: `detect-secrets scan --baseline .secrets.baseline`, then
`detect-secrets audit .secrets.baseline` and answer for each new entry.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from detect_secrets.core import baseline
from detect_secrets.core.secrets_collection import SecretsCollection

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / ".secrets.baseline"


def tracked_files() -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files", "-z"],  # noqa: S607 - the git on PATH, as a developer runs it
        cwd=ROOT,
        capture_output=True,
        check=True,
        text=True,
    )
    return [name for name in listing.stdout.split("\0") if name and (ROOT / name).is_file()]


def problems(files: list[str], baseline_path: Path) -> list[str]:
    """One line per unaudited or new candidate (file:line and type, never the value)."""
    audited = baseline.load(baseline.load_from_file(str(baseline_path)), str(baseline_path))
    found: list[str] = []
    for filename, secret in audited:
        if secret.is_secret is not False:
            found.append(
                f"{filename}:{secret.line_number}: {secret.type} (in the baseline, "
                "not audited as a false positive)"
            )
    scanned = SecretsCollection()
    scanned.scan_files(*files)
    for filename, secret in scanned - audited:
        found.append(f"{filename}:{secret.line_number}: {secret.type}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="files to scan (default: every tracked file)")
    parser.add_argument("--baseline", type=Path, default=BASELINE)
    arguments = parser.parse_args(argv)
    files = [
        name
        for name in arguments.files or tracked_files()
        if Path(name).resolve() != arguments.baseline.resolve()  # its hashes look like secrets
    ]
    found = problems(files, arguments.baseline)
    for line in found:
        print(f"possible secret: {line}", file=sys.stderr)
    if found:
        print(f"secret scan: {len(found)} finding(s) in {len(files)} files", file=sys.stderr)
        return 1
    print(f"secret scan: {len(files)} files, nothing new")
    return 0


if __name__ == "__main__":
    sys.exit(main())
