"""Two sweepers at once; a login flood while people decide; a run that keeps dying is flagged
for a person instead of being restarted forever."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import update
from sqlmodel import select

from flows import api
from flows.recovery import mark_crashed, read_run_states
from flows.sweeper import sweep
from models.db import session_scope
from models.tables import AccessRequest, AuditEvent, OutboxEmail
from tests.faults.harness import Driven, assert_clean, record, until
from tests.flows.workflow_helpers import unique_request

pytestmark = [pytest.mark.faults, pytest.mark.workflow]


def _runs_named(reference: str, deployment: str) -> list:
    """The runs of this lab's deployment named after a request (other labs share the server
    and reuse references: each has its own database)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName, FlowRunFilter, FlowRunFilterName

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[reference])),
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment.split("/", 1)[-1]])))


def test_two_sweepers_at_once_start_one_run_per_request(lab):
    lab.supervise = False
    reqs = []
    for _ in range(3):  # stored while Prefect "was down": no run yet
        data = unique_request()
        sub = api.submit_request(data, actor="fault-suite", start=False)
        reqs.append(Driven(data, sub.request_id, sub.reference))
    barrier = threading.Barrier(3)

    def sweeper():
        barrier.wait()
        sweep(grace_seconds=0)

    threads = [threading.Thread(target=sweeper) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    for req in reqs:
        lab.authorizer_link(req)
        assert len(_runs_named(req.reference, lab.deployment)) == 1, req.reference
    for req in reqs:
        lab.authorize(req)
        lab.approve(req)
    lab.wait_all_mail(reqs)
    verdict = lab.verdict(reqs)
    record("three sweepers at once over unstarted requests", len(reqs), verdict, None,
           note="one flow run per request")
    assert_clean(verdict)


def test_login_flood_while_people_decide(lab):
    from models.accounts import SignInRefused, sign_in

    stop = threading.Event()
    attempts = {"n": 0}

    def flood(i: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                sign_in(f"inconnu{i}.{n}", "mauvais-mot-de-passe", client=f"10.0.0.{i}.{n}", kind="staff")
            except SignInRefused:
                pass
            attempts["n"] += 1

    floods = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(4)]
    for t in floods:
        t.start()
    try:
        reqs = lab.submit(2)
        started = time.monotonic()
        for req in reqs:
            lab.authorize(req)
        for req in reqs:
            lab.approve(req)
        lab.wait_all_mail(reqs)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        for t in floods:
            t.join(timeout=30)
    verdict = lab.verdict(reqs)
    record("login flood (4 loops) while people decide", len(reqs), verdict, None,
           note=f"{attempts['n']} sign-ins refused meanwhile; both requests done in {elapsed:.0f} s")
    assert_clean(verdict)
    assert attempts["n"] > 0


def test_a_run_that_keeps_dying_is_flagged_and_managers_are_told(lab, monkeypatch):
    from models.accounts import create_staff
    from models.settings import get_settings

    lab.supervise = False  # the test plays the deaths; the lab still sweeps
    monkeypatch.setenv("RAMQ_MAX_RESTARTS_WITHOUT_PROGRESS", "2")
    get_settings.cache_clear()
    with session_scope() as s:
        create_staff(s, username="gestion.faults", role="manager", password="Gestion-Faults-2026",
                     display_name="Louise Gestion", email="gestion.faults@ramq.example.qc.ca")
    (req,) = lab.submit(1)
    lab.authorizer_link(req)
    with session_scope() as s:
        run_id = s.get(AccessRequest, req.request_id).flow_run_id

    def state():
        return read_run_states([run_id])[run_id].state_type

    for death in range(3):
        until(lambda: state() == "PAUSED", "the run waits for its authorizer", timeout=180)
        mark_crashed(run_id, "fault suite: the machine died")
        with session_scope() as s:  # as if the claim window had passed
            s.exec(update(AccessRequest).where(AccessRequest.id == req.request_id)
                   .values(run_start_claimed_at=None))
        if death < 2:
            until(lambda: state() in ("SCHEDULED", "PENDING", "RUNNING", "PAUSED"), "restarted", timeout=120)

    def flagged():
        with session_scope() as s:
            return s.get(AccessRequest, req.request_id).run_stuck_at
    until(flagged, "the request flagged", timeout=120)
    with session_scope() as s:
        events = [e.event for e in s.exec(select(AuditEvent).where(AuditEvent.request_id == req.request_id))]
        mails = s.exec(select(OutboxEmail).where(OutboxEmail.request_id == req.request_id,
                                                 OutboxEmail.kind == "request_stuck")).all()
    assert events.count("run_restarted") == 2 and events.count("recovery_abandoned") == 1
    assert [m.recipient for m in mails] == ["gestion.faults@ramq.example.qc.ca"]
    lab.wait_mail("gestion.faults@ramq.example.qc.ca", "intervention requise")
    assert state() == "CRASHED"  # no further restart: a person decides now
