"""The whole stack killed while runs execute and while requests wait at each step; and a clean
Ctrl-C of `ramq-access run` (what `make run` starts) while runs execute, then a restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.stack import free_port, http_ok, wait_until
from models.settings import PROJECT_ROOT
from tests.faults.harness import EXPECTED, FORBIDDEN, assert_clean, record
from tests.faults.test_runner_killed import _some_executing

pytestmark = [pytest.mark.faults, pytest.mark.workflow]


def test_whole_stack_killed_while_runs_execute_and_requests_wait(lab):
    at_authorizer = lab.submit(2)
    at_respondent = lab.submit(1)
    for req in at_authorizer + at_respondent:
        lab.authorizer_link(req)
    for req in at_respondent:
        lab.authorize(req)
        lab.open_task(req, "respondent")
    executing = lab.submit(2)
    lab.authorize(at_authorizer[0])  # its run resumes now
    until_executing = wait_until(lambda: _some_executing(executing + at_authorizer[:1]), timeout=120,
                                 what="runs executing")
    assert until_executing
    lab.kill_runner()
    lab.kill_prefect()
    killed = time.monotonic()
    lab.start_prefect()  # the supervisor brings the runner back once Prefect answers
    for req in executing:
        lab.authorizer_link(req)
    lab.open_task(at_authorizer[0], "respondent")
    lab.finish("whole stack SIGKILL while runs execute and requests wait",
               at_authorizer + at_respondent + executing, time.monotonic() - killed,
               authorize=at_authorizer[1:] + executing)


# --- `ramq-access run` stopped with Ctrl-C, then started again ----------------------------------


def _stack_env(var: Path) -> dict[str, str]:
    prefect, ui, smtp = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PREFECT_", "RAMQ_"))}  # the stack makes its own
    env.update({
        "RAMQ_VAR_DIR": str(var), "RAMQ_ENV": "test", "RAMQ_PREFECT_PORT": str(prefect),
        "RAMQ_UI_PORT": str(ui), "RAMQ_SMTP_PORT": str(smtp),
        "RAMQ_PREFECT_API_URL": f"http://127.0.0.1:{prefect}/api", "RAMQ_BASE_URL": f"http://localhost:{ui}",
        "RAMQ_SWEEP_EVERY_SECONDS": "10", "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    })
    return env


def _start(env: dict, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "run"], env=env, cwd=PROJECT_ROOT,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    port = env["RAMQ_UI_PORT"]
    wait_until(lambda: "Ctrl-C" in log.read_text(errors="replace").split("Démarrage")[-1]
               and http_ok(f"http://127.0.0.1:{port}/_stcore/health"),
               timeout=300, what="ramq-access run", proc=proc, log=log)
    return proc


def _ctrl_c(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=120)


def _drive(env: dict, command: str, payload: str | None = None, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "tests.faults.driver", command, *args], env=env,
                          cwd=PROJECT_ROOT, input=payload, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _pids_alive(var: Path) -> list[int]:
    alive = []
    for pid_file in (var / "pids").glob("*.pid"):
        pid = int(pid_file.read_text())
        try:
            os.kill(pid, 0)
            alive.append(pid)
        except ProcessLookupError:
            pass
    return alive


def test_ctrl_c_of_make_run_while_runs_execute_then_restart(tmp_path):
    from notifications.maildir import list_messages

    env = _stack_env(tmp_path)
    log = tmp_path / "run.log"
    proc = _start(env, log)
    try:
        reqs = json.loads(_drive(env, "submit", None, "3"))
        _ctrl_c(proc)  # runs are starting or executing now
        stopped = time.monotonic()
        assert proc.returncode == 0 and not _pids_alive(tmp_path), log.read_text()[-2000:]
        proc = _start(env, log)
        payload = json.dumps(reqs)
        _drive(env, "authorize", payload)  # waits for each authorizer email
        recovered = time.monotonic() - stopped
        _drive(env, "approve", payload)
        _drive(env, "wait", payload)
    finally:
        if proc.poll() is None:
            _ctrl_c(proc)
    assert not _pids_alive(tmp_path)

    def received(to: str) -> list[str]:
        return [m.subject for m in list_messages(tmp_path / "mail") if m.to.lower() == to.lower()]

    wait_until(lambda: all(any(s in x for x in received(r["data"][k]["email"]))
                           for r in reqs for k, subjects in (("user", EXPECTED["user"]),
                                                             ("authorizer", EXPECTED["authorizer"]))
                           for s in subjects), timeout=120, what="every email in the Maildir")
    verdict = {"lost": [], "duplicated": [], "misdirected": []}
    for req in reqs:
        for role in ("user", "authorizer"):
            got = received(req["data"][role]["email"])
            verdict["duplicated"] += [f"{req['reference']}:{x}" for x in set(got) if got.count(x) > 1]
            verdict["misdirected"] += [x for x in got for w in FORBIDDEN[role] if w in x]
            verdict["lost"] += [f"{req['reference']}:{s}" for s in EXPECTED[role] if not any(s in x for x in got)]
    record("Ctrl-C of make run while runs execute, then restart", len(reqs), verdict, recovered,
           note="recovery: from Ctrl-C to every authorizer email, restart included")
    assert_clean(verdict)
