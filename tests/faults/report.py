"""Prints the fault table of docs/reliability.md from the results the fault suite measured:
``.venv/bin/pytest -m faults && .venv/bin/python -m tests.faults.report``. The last result of
each fault is shown (a fault suite run appends one row per fault)."""

from __future__ import annotations

import json
import sys

from tests.faults.harness import RESULTS


def main() -> None:
    if not RESULTS.exists():
        sys.exit(f"no results: run the fault suite first ({RESULTS})")
    latest: dict[str, dict] = {}
    for line in RESULTS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        latest[row["fault"]] = row
    print("| fault | requests driven | lost | duplicated | misdirected | recovery (s) | note |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in latest.values():
        recovery = "—" if row["recovery_s"] is None else f"{row['recovery_s']:.0f}"
        print(f"| {row['fault']} | {row['driven']} | {row['lost']} | {row['duplicated']} | "
              f"{row['misdirected']} | {recovery} | {row['note']} |")


if __name__ == "__main__":
    main()
