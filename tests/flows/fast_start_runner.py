"""A runner serving small probe flows through the fast path (flows/fast_start.py), for
tests/flows/test_fast_start.py: a flow that tells how its process was started, one whose
process dies, one that suspends until resumed, one that waits to be cancelled.
Run as ``python -m tests.flows.fast_start_runner``."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from prefect import flow, task
from prefect.flow_runs import suspend_flow_run
from prefect.settings import get_current_settings

from flows import fast_start
from tests.flows import execution_counters


@task
def probe_step() -> int:
    """A step as ours are: a task that reads the application database."""
    from sqlalchemy import text

    from models.db import read_scope

    with read_scope() as s:
        return int(s.execute(text("SELECT 1")).scalar_one())


@flow(name="fast-start-probe")
def probe(out: str) -> None:
    """Writes how this run's process came to be: its pid, its parent's, the fast path's marker,
    and the modules it had to import itself after one step (the forkserver had not)."""
    probe_step()
    Path(out).write_text(json.dumps({
        "imported_after_fork": sorted(fast_start.imported_since_fork()),
        "pid": os.getpid(), "ppid": os.getppid(), "marker": os.environ.get(fast_start.MARKER_ENV),
        "streamlit": "streamlit" in sys.modules, "pandas": "pandas" in sys.modules,
        "heartbeats_awaited_on_exit": fast_start.heartbeats_awaited_on_exit(),
        "outside_suspension_watched": fast_start.outside_suspension_watched(),
        "prefect_settings_built": execution_counters.built_since_fork(),
        "tls_trust_stores_loaded": execution_counters.trust_stores_since_fork(),
        "csrf_tokens_asked": execution_counters.csrf_asks_since_fork(),
        "server_version_checks": execution_counters.version_checks_since_fork(),
        "api_url": get_current_settings().api.url}))


@flow(name="fast-start-crash")
def crash(out: str) -> None:
    """Writes its pid, then its process dies at once (no exception, no state sent to Prefect)."""
    Path(out).write_text(json.dumps({"pid": os.getpid()}))
    os._exit(13)


@flow(name="fast-start-suspend")
def suspend_once(out: str) -> None:
    """Writes its pid to ``out.before`` and suspends (its process ends); resumed, writes ``out``."""
    Path(out + ".before").write_text(json.dumps({"pid": os.getpid()}))
    suspend_flow_run(key="probe", timeout=600)
    Path(out).write_text(json.dumps({"pid": os.getpid(), "resumed": True}))


@flow(name="fast-start-wait")
def wait(out: str) -> None:
    """Writes its pid, then waits until it is cancelled."""
    Path(out).write_text(json.dumps({"pid": os.getpid()}))
    time.sleep(600)


def main() -> None:
    suffix = os.environ["RAMQ_TEST_FAST_START_SUFFIX"]
    fast_start.PRELOAD += ("tests.flows.execution_counters",)  # counts what the forked runs pay
    assert fast_start.install()
    fast_start.serve(*((f, {"name": suffix}) for f in (probe, crash, suspend_once, wait)))


if __name__ == "__main__":
    main()
