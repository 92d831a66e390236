"""Scale-out throughput: the same `ramq-access simulate` run against the README's scale-out
shape (Prefect server and application on PostgreSQL, `prefect deploy --all` from
`prefect.yaml`, a process work pool with two `prefect worker start` workers) and against the
embedded stack of `make run` (SQLite, one runner), on the same machine in the same command.

    .venv/bin/python -m benchmarks.scaleout [--quick] [--requests N] [--repeats K]

PostgreSQL: ``RAMQ_TEST_DATABASE_URL`` (or ``RAMQ_BENCH_DATABASE_URL``), else
``postgresql://postgres@127.0.0.1:5432/postgres``; two fresh databases are made and dropped.
Each shape is started once and the simulation run ``repeats`` times against it (a new seed
each time); throughput is the median of the runs, in requests per minute end to end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

QUICK = {"requests": 10, "repeats": 1}
FULL = {"requests": 100, "repeats": 3}
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def _pg_url() -> str:
    return os.environ.get("RAMQ_BENCH_DATABASE_URL") or os.environ.get("RAMQ_TEST_DATABASE_URL") or DEFAULT_PG


def _runs(env: dict[str, str], requests: int, repeats: int) -> list[dict]:
    from flows.scaleout import simulate

    return [simulate(env, requests=requests, seed=seed, timeout=600) for seed in range(1, repeats + 1)]


def _per_minute(summary: dict) -> float:
    return summary["requests"] * 60 / max(summary["elapsed_seconds"], 0.1)


def _decision_p50(summaries: list[dict]) -> float | None:
    values = [s["latency_seconds"]["decision→next email"]["p50"] for s in summaries
              if "decision→next email" in s["latency_seconds"]]
    return statistics.median(values) if values else None


def measure_embedded(requests: int, repeats: int) -> dict:
    """`make run`'s shape: Prefect server on SQLite, one runner serving the deployment."""
    from flows.stack import Stack, free_port

    var_dir = Path(tempfile.mkdtemp(prefix="ramq-bench-embedded-"))
    stack = Stack(var_dir=var_dir, prefect_port=free_port(), smtp_port=free_port(), ui_port=free_port(),
                  extra_env={"RAMQ_ENV": "test", "RAMQ_DATABASE_URL": f"sqlite:///{var_dir / 'app.db'}",
                             "RAMQ_DEPLOYMENT_NAME": "access-request/access-request"})
    t0 = time.monotonic()
    stack.start(("prefect", "smtp", "runner"), timeout=900)
    try:
        started = time.monotonic() - t0
        summaries = _runs(stack.env, requests, repeats)
    finally:
        stack.stop()
    return {"startup_seconds": round(started, 1), "summaries": summaries}


def measure_scaleout(requests: int, repeats: int, workers: int = 2) -> dict:
    from flows.scaleout import ScaleOut

    so = ScaleOut(pg_url=_pg_url(), var_dir=Path(tempfile.mkdtemp(prefix="ramq-bench-scaleout-")), workers=workers)
    t0 = time.monotonic()
    try:
        so.start(timeout=900)
        started = time.monotonic() - t0
        summaries = _runs(so.env, requests, repeats)
    finally:
        so.stop()
    return {"startup_seconds": round(started, 1), "workers": workers, "summaries": summaries}


def bench(quick: bool = False, *, requests: int | None = None, repeats: int | None = None) -> dict:
    plan = dict(QUICK if quick else FULL)
    if requests:
        plan["requests"] = requests
    if repeats:
        plan["repeats"] = repeats
    embedded = measure_embedded(plan["requests"], plan["repeats"])
    scaleout = measure_scaleout(plan["requests"], plan["repeats"])
    emb = statistics.median(_per_minute(s) for s in embedded["summaries"])
    so = statistics.median(_per_minute(s) for s in scaleout["summaries"])
    ok_emb = sum(s["as_expected"] for s in embedded["summaries"])
    ok_so = sum(s["as_expected"] for s in scaleout["summaries"])
    total = plan["requests"] * plan["repeats"]
    runs = f"median of {plan['repeats']} run(s) of {plan['requests']} requests"
    emb_p50, so_p50 = _decision_p50(embedded["summaries"]), _decision_p50(scaleout["summaries"])
    rows = [
        {"measure": "throughput, scale-out (2 process workers, PostgreSQL) vs embedded (make run)",
         "ours": round(so, 2), "baseline": round(emb, 2), "unit": "requests/min", "target": None, "met": None,
         "note": f"{runs}; ratio {so / emb:.2f}×; as expected: scale-out {ok_so}/{total}, embedded {ok_emb}/{total}; "
                 "both on this machine: two workers on the same cores add no CPU"},
        {"measure": "scale-out / embedded throughput ratio", "ours": round(so / emb, 2), "baseline": 1.0,
         "unit": "×", "target": None, "met": None,
         "note": "workers poll every PREFECT_WORKER_QUERY_SECONDS=1 (the runner polls every 1 s)"},
    ]
    if emb_p50 is not None and so_p50 is not None:
        rows.append({"measure": "decision → next email p50, scale-out vs embedded", "ours": so_p50,
                     "baseline": emb_p50, "unit": "s", "target": None, "met": None,
                     "note": "median of the runs' p50 (simulate's latency)"})
    return {
        "name": "scaleout",
        "cores": os.cpu_count() or 1,
        "rows": rows,
        "raw": {"plan": plan, "embedded": embedded, "scaleout": scaleout,
                "throughput_per_minute": {"embedded": emb, "scaleout": so}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK['requests']} requests, one run")
    parser.add_argument("--requests", type=int)
    parser.add_argument("--repeats", type=int)
    args = parser.parse_args()
    result = bench(args.quick, requests=args.requests, repeats=args.repeats)
    print(f"cores: {result['cores']}")
    for row in result["rows"]:
        print(f"{row['measure']}: {row['ours']} {row['unit']} (baseline {row['baseline']}) — {row['note']}")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
