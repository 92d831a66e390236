"""Decision → next step: how long after a person decides the next person sees it (an email, or
the task in a RAMQ queue), by kind of decision (authorizer, respondent, countersign), with one
person acting at a time ("idle"), then 8 and 32 at once; each on a fresh stack with our
execution path (flows/fast_start.py) and with Prefect's default one (``RAMQ_FAST_START=false``),
in the same command on the same machine.

    .venv/bin/python -m benchmarks.decisions            # ≥ 50 decisions of each kind per level
    .venv/bin/python -m benchmarks.decisions --quick    # a few, to try it out

The machine may be shared: compare the ratios to the baseline of the same command.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import run_child, stop_on_sigterm

PROJECT_ROOT = Path(__file__).resolve().parent.parent

KINDS = ("authorizer", "respondent", "countersign")
# name → people acting at once
LEVELS = {"idle": 1, "8 people": 8, "32 people": 32}
TARGETS = {"idle": 1.0, "8 people": 2.0}  # p95, seconds
# Requests per level: the simulation's mix brings about 1.2 authorizer, 1.2 respondent and 0.9
# countersign decisions per request, so 60 requests make at least 50 of each.
FULL_REQUESTS = 60
QUICK_REQUESTS = {"idle": 6, "8 people": 16, "32 people": 32}


def _run_stack(fast: bool, requests: dict[str, int], progress) -> dict:
    """A fresh stack (Prefect server, SMTP sink, runner) with or without the fast path, played in
    a process of its own (Prefect reads its API address once per process); the simulation's
    summary at each level."""
    with tempfile.TemporaryDirectory(prefix="ramq-bench-decisions-") as tmp:
        out = Path(tmp) / "out.json"
        cmd = [sys.executable, "-m", "benchmarks.decisions", "--one", "fast" if fast else "baseline",
               "--requests", json.dumps(requests), "--out", str(out)]
        run_child(cmd, cwd=PROJECT_ROOT)  # stopped with this process, it stops its stack
        result = json.loads(out.read_text())
    for level, summary in result.items():
        progress(f"{'fast' if fast else 'baseline'} {level}: {summary['as_expected']}/"
                 f"{summary['requests']} as expected in {summary['wall_seconds']} s")
    return result


def _one(fast: bool, requests: dict[str, int], out: Path) -> None:
    """In this process: a fresh stack, the simulation at each level, the summaries to ``out``."""
    from flows.stack import Stack, free_port

    var_dir = Path(tempfile.mkdtemp(prefix="ramq-bench-decisions-"))
    stack = Stack(var_dir=var_dir, prefect_port=free_port(), smtp_port=free_port(), ui_port=free_port(),
                  extra_env={"RAMQ_FAST_START": "true" if fast else "false"})
    # This process plays the people: it must see the same stack as the components.
    os.environ.update({k: v for k, v in stack.env.items() if k.startswith(("PREFECT_", "RAMQ_"))})
    from models.db import upgrade
    from models.settings import get_settings

    get_settings.cache_clear()
    upgrade()
    result: dict[str, dict] = {}
    stack.start(("prefect", "smtp", "runner"), timeout=900)  # a loaded machine starts slowly
    try:
        from flows.simulate import Simulation

        for level, people in LEVELS.items():
            started = time.monotonic()
            sim = Simulation(requests=requests[level], seed=1, people=people, timeout=600,
                             progress=lambda line: None)
            summary = sim.run()
            summary["wall_seconds"] = round(time.monotonic() - started, 1)
            raw: dict[str, list[float]] = {}
            for trace in sim.traces:
                for step, values in trace.latencies.items():
                    raw.setdefault(step, []).extend(round(v, 4) for v in values)
            summary["raw_latencies"] = raw
            result[level] = summary
    finally:
        stack.stop()
        shutil.rmtree(var_dir, ignore_errors=True)
    out.write_text(json.dumps(result, ensure_ascii=False))


def _rows(ours: dict, base: dict | None, levels: dict[str, int]) -> list[dict]:
    rows = []
    for level in levels:
        for kind in (*KINDS, "all"):
            step = "decision by " + kind if kind != "all" else None
            for stat in ("p50", "p95"):
                o = _stat(ours[level], step, stat)
                b = _stat(base[level], step, stat) if base else None
                target = TARGETS.get(level) if stat == "p95" else None
                n = _count(ours[level], step)
                note = f"n={n}"
                if b is not None and o:
                    note += f", baseline/ours = {b / o:.1f}×"
                rows.append({
                    "measure": f"decision → next step ({kind}), {level}, {stat}",
                    "ours": o, "baseline": b, "unit": "s",
                    "target": f"≤ {target:g} s" if target is not None else None,
                    "met": (o is not None and o <= target) if target is not None else None,
                    "note": note,
                })
    return rows


def _values(summary: dict, step: str | None) -> list[float]:
    raw = summary.get("raw_latencies", {})
    if step:
        return raw.get(step, [])
    return [v for k in KINDS for v in raw.get("decision by " + k, [])]


def _count(summary: dict, step: str | None) -> int:
    return len(_values(summary, step))


def _stat(summary: dict, step: str | None, stat: str) -> float | None:
    import statistics

    values = sorted(_values(summary, step))
    if not values:
        return None
    if stat == "p50":
        return round(statistics.median(values), 3)
    return round(values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))], 3)


def bench(quick: bool = False, baseline: bool = True, progress=print, requests: int | None = None) -> dict:
    """Runs the benchmark; the harness's dict (rows: ours next to the baseline, raw: summaries).
    ``requests``: this many requests at each level instead of the quick or full sizes."""
    if requests is not None:
        per_level = {level: requests for level in LEVELS}
    else:
        per_level = QUICK_REQUESTS if quick else {level: FULL_REQUESTS for level in LEVELS}
    return _bench(per_level, baseline, progress)


def _bench(requests: dict[str, int], baseline: bool, progress) -> dict:
    ours = _run_stack(True, requests, progress)
    base = _run_stack(False, requests, progress) if baseline else None
    return {
        "name": "decisions",
        "cores": os.cpu_count(),
        "rows": _rows(ours, base, LEVELS),
        "raw": {"requests": requests, "ours": _strip(ours), "baseline": _strip(base) if base else None},
    }


def _strip(summaries: dict) -> dict:
    return {level: {k: v for k, v in s.items() if k != "raw_latencies"} for level, s in summaries.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few requests per level")
    parser.add_argument("--no-baseline", action="store_true", help="our execution path only")
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument("--one", choices=("fast", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--requests", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # one side of the comparison, in a process of its own
        stop_on_sigterm()
        _one(args.one == "fast", json.loads(args.requests), args.out)
        return
    print(f"cores: {os.cpu_count()}")
    result = bench(quick=args.quick, baseline=not args.no_baseline)
    width = max(len(r["measure"]) for r in result["rows"])
    for r in result["rows"]:
        base = f"{r['baseline']:.2f}" if r["baseline"] is not None else "—"
        ours = f"{r['ours']:.2f}" if r["ours"] is not None else "—"
        met = {True: "met", False: "MISSED", None: ""}[r["met"]]
        print(f"{r['measure']:<{width}}  ours {ours:>6} s  baseline {base:>6} s  "
              f"{r['target'] or '':<8} {met:<6} {r['note']}")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
