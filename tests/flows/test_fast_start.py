"""The fast path of flow-run processes (flows/fast_start.py): runs are forked from the warm
forkserver, and this gives up neither process isolation (a run whose process dies leaves the
runner serving the next run) nor the runner's cancellation (a cancelled run's process ends).

A runner of small probe flows (tests/flows/fast_start_runner.py) on the session's Prefect
server; each test starts its own runs and waits on their states. The runner asks for runs to
start only every 10 minutes: every run here starts because the server's event woke it."""

from __future__ import annotations

import json
import os
import signal
import sys
import uuid
from pathlib import Path
from uuid import UUID

import pytest

from flows.stack import Stack, _deployment_exists, wait_until

pytestmark = [pytest.mark.workflow]

# The probe runner's own poll: far longer than any wait below, so a run that starts at all was
# started on the server's event (flows/fast_start.py), not found by the poll.
SLOW_POLL_SECONDS = 600


@pytest.fixture(scope="module")
def probe_runner(prefect_server, tmp_path_factory):
    suffix = f"fs-{uuid.uuid4().hex[:8]}"
    stack = Stack(var_dir=tmp_path_factory.mktemp("fast-start"), prefect_port=prefect_server.prefect_port,
                  extra_env={"RAMQ_TEST_FAST_START_SUFFIX": suffix, "RAMQ_FAST_START": "true",
                             "RAMQ_ENV": "test", "RAMQ_RUNNER_POLL_SECONDS": str(SLOW_POLL_SECONDS)})
    proc = stack._spawn("runner", [sys.executable, "-m", "tests.flows.fast_start_runner"])
    try:
        wait_until(lambda: _deployment_exists(stack.api_url, suffix, stack.auth), timeout=180,
                   what="probe runner", proc=proc, log=stack.log("runner"))
        yield stack, suffix
    finally:
        stack.stop()


def start(probe_runner, flow_name: str, out: Path) -> UUID:
    from prefect.deployments import run_deployment

    from flows.prefect_sync import sync_result

    _, suffix = probe_runner
    run = sync_result(run_deployment(f"{flow_name}/{suffix}", parameters={"out": str(out)}, timeout=0))
    return run.id


def state_of(run_id: UUID):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id).state


def wait_state(run_id: UUID, *types: str, timeout: float = SLOW_POLL_SECONDS / 5):
    return wait_until(lambda: (s := state_of(run_id)) is not None and s.type.value in types and s,
                      timeout=timeout, what=f"run in {types}")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def running(pid: int) -> bool:
    """Alive and not a zombie waiting for its parent to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def written(out: Path) -> dict:
    return json.loads(wait_until(lambda: out.exists() and out.read_text(), timeout=120, what=str(out)))


def assert_runner_serves(probe_runner, tmp_path: Path) -> dict:
    stack, _ = probe_runner
    assert stack.procs["runner"].poll() is None, "the runner died"
    out = tmp_path / f"probe-{uuid.uuid4().hex[:6]}.json"
    run_id = start(probe_runner, "fast-start-probe", out)
    assert wait_state(run_id, "COMPLETED", "FAILED", "CRASHED").type.value == "COMPLETED"
    return written(out)


def test_runs_are_forked_from_the_warm_forkserver(probe_runner, tmp_path):
    stack, _ = probe_runner
    seen = assert_runner_serves(probe_runner, tmp_path)
    assert seen["marker"] == "1", "the run did not come through flows.fast_start"
    runner_pid = stack.procs["runner"].pid
    assert seen["ppid"] != runner_pid  # a spawned run is the runner's child; a forked one is the forkserver's
    cmdline = Path(f"/proc/{seen['ppid']}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert "forkserver" in cmdline, cmdline
    assert not seen["streamlit"] and not seen["pandas"]  # no UI library in a flow run's process
    # What a run needs was imported once by the forkserver: a run that imports a library itself
    # pays it at every execution (graphviz, behind Prefect's task calls, and SQLAlchemy's
    # dialects were a third of a run's CPU).
    heavy = {"prefect", "sqlalchemy", "graphviz", "pydantic", "pydantic_settings", "cryptography", "httpx",
             "models", "flows", "notifications", "jinja2", "anyio"}
    imported = [m for m in seen["imported_after_fork"] if m.split(".")[0] in heavy]
    assert not imported, ", ".join(imported)
    # A run's process ends as soon as its flow has: it does not sit out the heartbeat thread's
    # one-second naps (the runner starts a resumed run only once the last execution's process is gone).
    assert seen["heartbeats_awaited_on_exit"] is False
    # Nor does it open a second client and event stream to watch for a suspension asked from
    # outside: our runs suspend only themselves (the test below suspends and resumes one).
    assert seen["outside_suspension_watched"] is False
    # Prefect's settings are built once per execution, from the environment the runner gives
    # the run (Prefect's own start builds them again from the runner's serialized copy: the same
    # values, some 50 ms of CPU more at every execution).
    assert seen["prefect_settings_built"] == 1
    # Nor does it load a trust store into a TLS context of its own for each of Prefect's clients
    # (about 20 ms of CPU each, twice per execution): the forkserver built one, the run shares it.
    assert seen["tls_trust_stores_loaded"] == 0
    # Nor ask the embedded server, which has no CSRF protection, for a CSRF token before its
    # first change (a round trip, answered 422, per client).
    assert seen["csrf_tokens_asked"] == 0
    # Nor check again the server's version, which the runner that started it checked already
    # with this very Prefect (a round trip, and a TLS context of its own).
    assert seen["server_version_checks"] == 0
    assert seen["api_url"] == stack.api_url


def test_a_new_run_starts_on_the_servers_event_not_the_next_poll(probe_runner, tmp_path):
    # The runner polled once when it started and next polls in 10 minutes; the run must start now.
    assert assert_runner_serves(probe_runner, tmp_path)["marker"] == "1"


def test_a_resumed_run_starts_on_the_servers_event(probe_runner, tmp_path):
    from prefect.flow_runs import resume_flow_run

    from flows.prefect_sync import sync_result

    out = tmp_path / "suspended.json"
    run_id = start(probe_runner, "fast-start-suspend", out)
    first = written(tmp_path / "suspended.json.before")
    assert wait_state(run_id, "PAUSED").name == "Suspended"
    wait_until(lambda: not pid_alive(first["pid"]), timeout=60, what="the suspended run's process to end")
    sync_result(resume_flow_run(run_id))
    assert wait_state(run_id, "COMPLETED", "FAILED", "CRASHED").type.value == "COMPLETED"
    assert written(out)["resumed"] is True


def test_a_run_whose_process_exits_leaves_the_runner_serving(probe_runner, tmp_path):
    out = tmp_path / "crash.json"
    run_id = start(probe_runner, "fast-start-crash", out)
    pid = written(out)["pid"]
    assert wait_state(run_id, "CRASHED", "FAILED", "COMPLETED").type.value == "CRASHED"
    assert not pid_alive(pid)
    assert assert_runner_serves(probe_runner, tmp_path)["marker"] == "1"


def test_a_run_whose_process_is_killed_leaves_the_runner_serving(probe_runner, tmp_path):
    out = tmp_path / "killed.json"
    run_id = start(probe_runner, "fast-start-wait", out)
    pid = written(out)["pid"]
    os.kill(pid, signal.SIGKILL)
    assert wait_state(run_id, "CRASHED", "FAILED", "COMPLETED", "CANCELLED").type.value == "CRASHED"
    assert assert_runner_serves(probe_runner, tmp_path)["marker"] == "1"


def test_a_killed_forkserver_is_started_again_warm_and_the_next_run_forked_from_it(probe_runner, tmp_path):
    """The forkserver killed between two runs (the OOM killer, an operator's kill): the next run
    still starts, forked from a new forkserver that has imported the preload again."""
    first = assert_runner_serves(probe_runner, tmp_path)
    os.kill(first["ppid"], signal.SIGKILL)
    wait_until(lambda: not running(first["ppid"]), timeout=30, what="the forkserver to die")
    seen = assert_runner_serves(probe_runner, tmp_path)
    assert seen["marker"] == "1" and seen["ppid"] != first["ppid"]
    cmdline = Path(f"/proc/{seen['ppid']}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert "forkserver" in cmdline, cmdline
    heavy = {"prefect", "sqlalchemy", "graphviz", "models", "flows"}
    assert not [m for m in seen["imported_after_fork"] if m.split(".")[0] in heavy]


def test_cancelling_a_run_ends_its_process(probe_runner, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelling

    out = tmp_path / "wait.json"
    run_id = start(probe_runner, "fast-start-wait", out)
    pid = written(out)["pid"]
    wait_state(run_id, "RUNNING")
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run_id, Cancelling(), force=True)
    assert wait_state(run_id, "CANCELLED", "CRASHED", "FAILED", "COMPLETED").type.value == "CANCELLED"
    wait_until(lambda: not pid_alive(pid), timeout=60, what="the cancelled run's process to end")
    assert assert_runner_serves(probe_runner, tmp_path)["marker"] == "1"


def test_the_engine_names_the_fast_path_replaces_are_still_prefects():
    """The forked child replaces two module-level names of Prefect's engine; an upgrade of
    Prefect that renamed or stopped using them would silently undo the fast path's teardown."""
    import inspect

    import prefect.flow_engine as engine

    assert "join_on_exit" in inspect.signature(engine._send_heartbeats).parameters
    uses = inspect.getsource(engine.FlowRunEngine) + inspect.getsource(engine.BaseFlowRunEngine)
    assert "_send_heartbeats(" in uses and "observe_flow_run_suspension(" in uses


def test_the_client_names_the_fast_path_relies_on_are_still_prefects():
    """The forked child gives Prefect's clients one TLS context (their ``httpx_settings``'
    ``verify``) and the runner's checked servers (the version check's cache); an upgrade of
    Prefect that renamed these would silently bring the costs back (the probe test above
    counts them)."""
    import inspect

    import prefect._internal.version_checking as version_checking
    from prefect.client.orchestration import PrefectClient, SyncPrefectClient

    assert isinstance(version_checking._API_VERSION_CHECK_CACHE, set)
    for cls in (PrefectClient, SyncPrefectClient):
        source = inspect.getsource(cls.__init__)
        assert 'httpx_settings.get("verify")' in source and "isinstance(tls_verify, ssl.SSLContext)" in source
