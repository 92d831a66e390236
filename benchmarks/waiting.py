"""The cost of waiting (issue 12, item 3): requests submitted and left waiting for their
authorizer (their runs suspended), then the runner's memory (resident, with its children) and
process count next to the idle stack's, and the Prefect server's latency for what the screens
read of the waiting runs (a page of run states, p95) before and after.

    .venv/bin/python -m benchmarks.all --only waiting [--quick]

A suspended run holds no process: it is a row in Prefect's database until a decision resumes
it. The runner's sweeper runs now and then in a process of its own (here once an hour, not
every 30 s): memory and processes are read as the least of several samples (the runner at rest).
"""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.common import fresh_stack, pct, process_count, pss_mb, row, rss_mb, wait_until_memory_settles

REQUESTS = {False: 1000, True: 10}  # full, quick (a loaded 2-core machine: minutes)
PAGE = 50  # the run states a screen reads at once
READS = 100
GROWTH_MB = 50


def _at_rest(roots: list[int], samples: int = 10, settle: bool = True) -> tuple[float, int, float]:
    """(resident MB, processes, proportional MB) of these trees at their lowest over a few
    samples, once their memory has settled (the forkserver imports its preload after the
    runner is up: read before, the idle figure would miss it and the growth would count it)."""
    if settle:
        wait_until_memory_settles(roots)
    mem, procs, prop = [], [], []
    for _ in range(samples):
        mem.append(rss_mb(roots))
        procs.append(process_count(roots))
        prop.append(pss_mb(roots))
        time.sleep(0.2)
    return min(mem), min(procs), min(prop)


def _submit(count: int, run: str) -> list[str]:
    """The flow-run ids of ``count`` requests submitted 4 at a time. A submission Prefect did
    not answer in time is stored without a run (the sweeper starts it later): left out here and
    counted in the note (``count`` less the ids)."""
    from flows import api
    from flows.simulate import sample_request

    rng = random.Random(7)
    data = [sample_request(random.Random(rng.random()), n, run=run) for n in range(count)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        subs = list(pool.map(lambda d: api.submit_request(d, actor="simulation"), data))
    return [s.flow_run_id for s in subs if s.flow_run_id]


def _all_suspended(ids: list[str], timeout: float) -> dict[str, int]:
    """Waits until no run is starting or executing; how many are in each state then. A run
    may end ``Crashed`` instead of suspended (on a starved machine the zombie automation has
    taken a suspended run for a dead one): it holds no process either, and is counted."""
    from collections import Counter

    from flows.recovery import read_run_states
    from flows.stack import wait_until

    def settled() -> dict[str, int] | None:
        states = read_run_states(ids)
        if len(states) < len(ids) or any(s.state_type in ("SCHEDULED", "PENDING", "RUNNING")
                                          for s in states.values()):
            return None
        return dict(Counter(s.state_name for s in states.values()))

    return wait_until(settled, timeout=timeout, what=f"{len(ids)} runs suspended")


def _processes_gone(roots: list[int], idle: int, timeout: float) -> float | None:
    """Seconds until these trees are back to ``idle`` processes; None if not within ``timeout``."""
    from flows.stack import wait_until

    started = time.monotonic()
    try:
        wait_until(lambda: process_count(roots) <= idle, timeout=timeout, what="flow-run processes gone")
    except TimeoutError:
        return None
    return time.monotonic() - started


def _read_p95(ids: list[str]) -> float:
    from flows.prefect_states import read_run_states

    read_run_states(ids)  # warm the connection
    times = []
    for _ in range(READS):
        started = time.perf_counter()
        read_run_states(ids)
        times.append((time.perf_counter() - started) * 1000)
    return pct(times, 0.95)


def bench(quick: bool = False, requests: int | None = None) -> dict:
    count = requests or REQUESTS[quick]
    page = min(PAGE, count // 2)
    # The sweeper's schedule is stretched: its runs come every 30 s whether requests wait or
    # not, and on a starved machine they pile up and hide what waiting costs.
    stack = fresh_stack(RAMQ_SWEEP_EVERY_SECONDS="3600")
    try:
        runner, server = [stack.procs["runner"].pid], [stack.procs["prefect"].pid]
        idle_mem, idle_procs, idle_pss = _at_rest(runner)
        idle_server = rss_mb(server)
        run = f"w{os.getpid()}."
        first = _submit(page, run + "a")
        _all_suspended(first, timeout=600 + 20 * page)  # the page read before and after
        before_ms = _read_p95(first)
        rest = _submit(count - page, run + "b")
        started = time.monotonic()
        states = _all_suspended(first + rest, timeout=600 + 20 * count)
        settle = time.monotonic() - started
        right_after = _at_rest(runner, settle=False)
        # A suspended run's process exits once it has flushed its events and logs: seconds,
        # more on a loaded machine. Measured once they are gone (or after 3 minutes).
        gone = _processes_gone(runner, idle_procs, timeout=180)
        after_mem, after_procs, after_pss = _at_rest(runner)
        after_server = rss_mb(server)
        after_ms = _read_p95(first)
        from flows.recovery import read_run_states

        started = time.perf_counter()
        read_run_states(first + rest)  # what the runs screen and the sweeper read of every open run
        all_ms = (time.perf_counter() - started) * 1000
    finally:
        stack.stop()
    growth, growth_pss = after_mem - idle_mem, after_pss - idle_pss
    started_runs = len(first) + len(rest)
    return {
        "name": "waiting",
        "cores": os.cpu_count() or 0,
        "rows": [
            row(f"runner memory, {count} requests waiting", after_mem, idle_mem, "MB",
                f"growth < {GROWTH_MB} MB", growth < GROWTH_MB,
                f"baseline: the idle runner, warm (its forkserver's imports done); growth {growth:+.1f} MB "
                "(resident, runner + children, summed: shared pages counted in each)"),
            row(f"runner memory, proportional, {count} requests waiting", after_pss, idle_pss, "MB",
                f"growth < {GROWTH_MB} MB", growth_pss < GROWTH_MB,
                f"growth {growth_pss:+.1f} MB (PSS: a page shared by the forkserver and the runner counts once)"),
            row(f"runner processes, {count} requests waiting", after_procs, idle_procs, "",
                "no process per waiting request", after_procs <= idle_procs,
                "baseline: the idle runner (its own process and helpers); runs then: "
                + ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
                + (f"; {count - started_runs} submission(s) stored without a run, left to the sweeper "
                   "(Prefect busy)" if started_runs < count else "")),
            row(f"Prefect server memory, {count} requests waiting", after_server, idle_server, "MB", None, None,
                "baseline: the idle server"),
            row(f"Prefect read of a page of {page} run states, p95", after_ms, before_ms, "ms",
                "≤ 1.2 × baseline", after_ms <= 1.2 * before_ms,
                f"baseline: the same page with {page} requests waiting; {READS} reads each; "
                f"all {count} states in {all_ms:.0f} ms"),
        ],
        "raw": {"requests": count, "page": page, "idle_mb": idle_mem, "after_mb": after_mem,
                "idle_pss_mb": idle_pss, "after_pss_mb": after_pss, "idle_processes": idle_procs,
                "after_processes": after_procs, "server_idle_mb": idle_server,
                "server_after_mb": after_server, "read_p95_before_ms": before_ms, "read_p95_after_ms": after_ms,
                "read_all_ms": all_ms, "seconds_until_all_suspended": settle, "states": states,
                "runs_started": started_runs,
                "right_after_suspended_mb_processes": right_after, "seconds_until_processes_gone": gone,
                "quick": quick},
    }
