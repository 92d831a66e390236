"""Throughput (issue 12, item 2): requests end to end with ``simulate`` on the embedded stack,
next to a bare Prefect flow with the same human steps and no work, served the ordinary Prefect
way (``benchmarks.bare_flow``), driven by resumes the same way (8 people at once), against the
same Prefect server, in the same command. Requests per minute, and CPU seconds per request of
the stack's processes and their children (Prefect server, runner and flow runs, SMTP sink).

    .venv/bin/python -m benchmarks.all --only throughput [--quick]

The bare flow runs first (on a server that has not yet seen our runs). Both runners poll
Prefect every second (``PREFECT_RUNNER_POLL_FREQUENCY=1``, the stack's setting): the
comparison is of the execution path, not of the poll interval.
"""

from __future__ import annotations

import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.common import cpu_seconds, fresh_stack, median, pct, row

REQUESTS = {False: 300, True: 10}  # full, quick (a loaded 2-core machine: minutes)
PEOPLE = 8  # as many at once as the simulation plays
TARGET = 1.2


def human_steps(plan: str, countersign: bool) -> int:
    """How many times our flow suspends for a person in a simulated plan (see flows.simulate)."""
    cs = 1 if countersign else 0
    return {"approved": 2 + cs, "returned": 2 + 3 * cs, "corrected": 3 + 2 + cs,
            "refused_by_authorizer": 1, "refused_by_ramq": 2}[plan]


def plans(count: int, seed: int) -> list[str]:
    """The simulation's plans for this seed, in its order."""
    from flows.simulate import OUTCOMES

    out = [OUTCOMES[i % len(OUTCOMES)] for i in range(count)]
    random.Random(seed).shuffle(out)
    return out


def _play_bare(steps: int, timeout: float) -> float:
    """One bare request: start it, resume each suspension as soon as it is reached, wait for the
    end. Its seconds."""
    from prefect.client.orchestration import get_client

    from benchmarks.bare_flow import DEPLOYMENT

    started = time.monotonic()
    deadline = started + timeout
    with get_client(sync_client=True) as client:
        dep = client.read_deployment_by_name(f"bare-human-steps/{DEPLOYMENT}")
        run = client.create_flow_run_from_deployment(dep.id, parameters={"steps": steps})
        seen: set = set()
        resumed = 0
        while time.monotonic() < deadline:
            state = client.read_flow_run(run.id).state
            if state is not None and state.is_completed():
                if resumed != steps:
                    raise RuntimeError(f"completed after {resumed} of {steps} resumes")
                return time.monotonic() - started
            if state is not None and state.is_final():
                raise RuntimeError(f"bare run ended {state.type.value}")
            if state is not None and state.is_paused() and state.id not in seen:
                answer = client.resume_flow_run(run.id)
                if answer.status.value == "ACCEPT":
                    seen.add(state.id)
                    resumed += 1
            # Not faster: 8 people polling every 50 ms would load the Prefect server the bare
            # runs need (the simulation polls its Maildir and database instead); ≤ 0.25 s a step.
            time.sleep(0.25)
    raise TimeoutError("bare run not done")


def _bare(stack, steps: list[int], timeout: float) -> dict:
    from flows.stack import _deployment_exists, wait_until

    proc = stack._spawn("bare", [sys.executable, "-m", "benchmarks.bare_flow"])
    try:
        wait_until(lambda: _deployment_exists(stack.api_url, "bare", stack.auth), timeout=120,
                   what="bare runner", proc=proc, log=stack.log("bare"))
        _play_bare(1, timeout)  # warm-up, not counted
        roots = [stack.procs["prefect"].pid, proc.pid]
        cpu0, driver0, t0 = cpu_seconds(roots), time.process_time(), time.monotonic()
        with ThreadPoolExecutor(max_workers=PEOPLE) as pool:
            futures = [pool.submit(_play_bare, n, timeout) for n in steps]
            errors, seconds = [], []
            for fut in futures:
                try:
                    seconds.append(fut.result())
                except Exception as exc:  # noqa: BLE001 - counted, the others go on
                    errors.append(f"{type(exc).__name__}: {exc}")
        elapsed = time.monotonic() - t0
        cpu = cpu_seconds(roots) - cpu0
        driver = time.process_time() - driver0
    finally:
        stack._stop_one("bare", 20)
    return {"requests": len(steps), "done": len(seconds), "errors": errors[:10], "elapsed_seconds": elapsed,
            "stack_cpu_seconds": cpu, "driver_cpu_seconds": driver,
            "request_seconds_p50": median(seconds) if seconds else None,
            "request_seconds_p95": pct(seconds, 0.95) if seconds else None}


def _ours(stack, count: int, seed: int, timeout: float) -> dict:
    from flows.simulate import Simulation

    stack.start_component("runner")
    Simulation(requests=1, seed=seed + 1, timeout=timeout, progress=lambda *_: None).run()  # warm-up
    roots = [stack.procs[name].pid for name in ("prefect", "smtp", "runner")]
    cpu0, driver0 = cpu_seconds(roots), time.process_time()
    summary = Simulation(requests=count, seed=seed, timeout=timeout, progress=lambda *_: None).run()
    return {**summary, "done": summary["as_expected"], "stack_cpu_seconds": cpu_seconds(roots) - cpu0,
            "driver_cpu_seconds": time.process_time() - driver0}


def bench(quick: bool = False, requests: int | None = None) -> dict:
    import os

    count = requests or REQUESTS[quick]
    seed, timeout = 1, 900.0
    stack = fresh_stack(("prefect", "smtp"))
    try:
        from models.settings import get_settings

        countersign = get_settings().countersign
        steps = [human_steps(p, countersign) for p in plans(count, seed)]
        bare = _bare(stack, steps, timeout)
        ours = _ours(stack, count, seed, timeout)
    finally:
        stack.stop()
    ours_rpm = ours["done"] / ours["elapsed_seconds"] * 60
    bare_rpm = bare["done"] / bare["elapsed_seconds"] * 60
    ours_cpu = ours["stack_cpu_seconds"] / max(1, ours["done"])
    bare_cpu = bare["stack_cpu_seconds"] / max(1, bare["done"])
    mix = f"{count} requests, {sum(steps)} human steps, {PEOPLE} people at once"
    failed = f"; not as expected: ours {count - ours['done']}, bare {count - bare['done']}" \
        if ours["done"] < count or bare["done"] < count else ""
    return {
        "name": "throughput",
        "cores": os.cpu_count() or 0,
        "rows": [
            row("requests end to end per minute", ours_rpm, bare_rpm, "req/min", f"≥ {TARGET} × baseline",
                ours_rpm >= TARGET * bare_rpm, f"{mix}; baseline: bare flow served by Prefect{failed}"),
            row("CPU per request (stack and its children)", ours_cpu, bare_cpu, "s", None, None,
                "Prefect server + runner + flow runs (+ SMTP sink for ours); the driver's CPU "
                f"(people, API calls) apart: ours {ours['driver_cpu_seconds'] / max(1, count):.2f} s, "
                f"bare {bare['driver_cpu_seconds'] / max(1, count):.2f} s"),
        ],
        "raw": {"ours": ours, "bare": bare, "steps_per_request": steps, "quick": quick},
    }
