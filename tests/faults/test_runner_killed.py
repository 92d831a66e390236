"""The runner killed (SIGKILL, with its flow-run processes) at each step, several requests in
flight: every request reaches its end, every email goes out once, to the right person."""

from __future__ import annotations

import time

import pytest

from flows.recovery import read_run_states
from models.db import session_scope
from models.tables import AccessRequest
from tests.faults.harness import assert_clean, record, until

pytestmark = [pytest.mark.faults, pytest.mark.workflow]


def _run_states(reqs) -> dict:
    with session_scope() as s:
        ids = {r.request_id: s.get(AccessRequest, r.request_id).flow_run_id for r in reqs}
    states = read_run_states([i for i in ids.values() if i])
    return {rid: states.get(run_id) for rid, run_id in ids.items()}


def _some_executing(reqs):
    return any(st and st.state_type in ("PENDING", "RUNNING") for st in _run_states(reqs).values())


def test_runner_killed_at_submission(lab):
    reqs = lab.submit(3)
    until(lambda: _some_executing(reqs), "a run executing", timeout=120)
    lab.kill_runner()
    killed = time.monotonic()
    for req in reqs:
        lab.authorizer_link(req)
    lab.finish("runner SIGKILL at submission", reqs, time.monotonic() - killed, authorize=reqs)


def test_runner_killed_right_after_decisions(lab):
    reqs = lab.submit(3)
    for req in reqs:
        lab.authorizer_link(req)
    for req in reqs:
        lab.authorize(req)
    until(lambda: _some_executing(reqs), "a resumed run executing", timeout=120)
    lab.kill_runner()
    killed = time.monotonic()
    for req in reqs:
        lab.open_task(req, "respondent")
    lab.finish("runner SIGKILL right after decisions", reqs, time.monotonic() - killed)


def test_runner_killed_while_the_password_email_is_sent(lab):
    from models.accounts import authenticate
    from notifications.templates import read_secret
    from tests.flows.workflow_helpers import text_of

    reqs = lab.submit(2)
    for req in reqs:
        lab.authorizer_link(req)
        lab.authorize(req)
    held = reqs[0]
    lab.smtp.hold_recipient(held.user)  # the server waits before accepting this recipient
    for req in reqs:
        lab.approve(req)
    until(lambda: lab.smtp.holding, "the password email in flight", timeout=180)
    lab.kill_runner()
    killed = time.monotonic()
    lab.smtp.release()
    lab.wait_all_mail(reqs)
    recovered = time.monotonic() - killed
    verdict = lab.verdict(reqs)
    record("runner SIGKILL while the password email is sent", len(reqs), verdict, recovered)
    assert_clean(verdict)
    # The password that arrived is the one that works: the retry did not replace it unseen.
    (mail,) = [m for m in lab.smtp.to(held.user) if "mot de passe" in str(m["Subject"])]
    password = read_secret(text_of(mail))
    with session_scope() as s:
        from sqlmodel import select

        from models.tables import Account

        username = s.exec(select(Account.username).where(Account.request_id == held.request_id)).one()
        assert authenticate(s, username=username, password=password) is not None


def test_zombie_run_is_detected_by_heartbeats_without_the_supervisor(lab):
    """The scale-out path: nobody watches the runner's process; Prefect's heartbeats and the
    zombie automation (or the pending check) find the dead run, and the sweeper restarts it."""
    lab.supervise = False
    reqs = lab.submit(2)
    for req in reqs:
        lab.authorizer_link(req)
    for req in reqs:
        lab.authorize(req)
    until(lambda: _some_executing(reqs), "a resumed run executing", timeout=120)
    lab.kill_runner()
    killed = time.monotonic()
    lab.runner.procs.pop("runner", None)
    lab.runner.start_component("runner", timeout=180)  # a worker comes back, knowing nothing
    for req in reqs:
        lab.open_task(req, "respondent", timeout=300)
    lab.finish("runner SIGKILL, detected by heartbeats (no supervisor)", reqs, time.monotonic() - killed)
