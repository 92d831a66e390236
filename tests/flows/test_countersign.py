"""The SOES countersign of section 4 on the real stack (Prefect server and runner, SMTP server):
returned to the respondent, four eyes, races, roles, and an installation without countersign."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

from flows import api
from flows.errors import ActionError
from flows.stack import Stack
from models.db import session_scope
from models.enums import SignatureVerdict
from models.queries import task_summary
from models.signatures import verify_request
from models.tables import AccessRequest, Account, AuditEvent, HumanTask
from tests.conftest import PREFECT_PORT, _deployment_for, _reset_caches
from tests.flows.workflow_helpers import (
    countersign,
    ensure_respondent,
    ensure_soes,
    mail,
    open_task,
    request_status,
    section3,
    token_in,
    unique_request,
    wait_run_final,
)

pytestmark = pytest.mark.workflow


def _authorized(smtp) -> tuple[api.Submitted, dict]:
    data = unique_request()
    sub = api.submit_request(data, actor="test")
    token = token_in(mail(smtp, data["authorizer"]["email"], "autorisation est requise")[0])
    api.authorizer_decide(token, outcome="authorize", section3=section3(data))
    return sub, data


def _approve(request_id: int, staff: str, attempt: int = 1) -> int:
    task_id = open_task(request_id, "respondent", attempt=attempt)
    api.claim_task(task_id, staff=staff)
    api.respondent_decide(task_id, staff=staff, outcome="approve", section4=api.proposed_section4(task_id))
    return task_id


def _code(call) -> str:
    with pytest.raises(ActionError) as err:
        call()
    return err.value.code


def test_the_soes_returns_the_approval_then_countersigns_the_new_one(live, smtp_server):
    sub, data = _authorized(smtp_server)
    respondent = ensure_respondent()
    _approve(sub.request_id, respondent)
    soes = ensure_soes()
    task_id = open_task(sub.request_id, "countersign")
    api.claim_task(task_id, staff=soes)
    assert _code(lambda: api.countersign_decide(task_id, staff=soes, outcome="refuse", reason="  ")) \
        == "reason_required"
    api.countersign_decide(task_id, staff=soes, outcome="refuse", reason="La période de validité est trop longue.")

    # Back to the respondent: a new task of the same round, with the SOES's reason.
    again = open_task(sub.request_id, "respondent", attempt=2)
    summary = task_summary(again)
    assert (summary["round"], summary["attempt"]) == (1, 2)
    assert summary["returned_reason"] == "La période de validité est trop longue."
    assert request_status(sub.request_id) == "awaiting_respondent"
    assert not [m for m in smtp_server.to(data["user"]["email"]) if "mot de passe" in str(m["Subject"])]

    _approve(sub.request_id, respondent, attempt=2)
    countersign(sub.request_id, attempt=2)
    assert wait_run_final(sub.request_id).state.is_completed()
    assert request_status(sub.request_id) == "completed"
    assert len(mail(smtp_server, data["user"]["email"], "mot de passe temporaire")) == 1
    mail(smtp_server, data["authorizer"]["email"], "nom d'utilisateur")

    with session_scope() as s:
        verification = verify_request(s, s.get(AccessRequest, sub.request_id))
        events = [e.event for e in s.exec(select(AuditEvent).where(AuditEvent.request_id == sub.request_id)
                                          .order_by(AuditEvent.id))]
    assert verification.intact
    assert [(c.role, c.verdict) for c in verification.checks if c.role in ("respondent", "soes")] == [
        ("respondent", SignatureVerdict.superseded), ("respondent", SignatureVerdict.intact),
        ("soes", SignatureVerdict.intact)]
    assert events.count("respondent_approve") == 2 and events.count("countersign_refuse") == 1
    assert events.count("countersign_countersign") == 1


def test_four_eyes_roles_and_a_race_between_two_soes(live, smtp_server):
    sub, data = _authorized(smtp_server)
    approver = ensure_respondent("repondant.quatre", email="repondant.quatre@ramq.example.qc.ca")
    respondent_task = open_task(sub.request_id, "respondent")
    soes = ensure_soes()
    # A SOES cannot approve; a respondent cannot countersign.
    assert _code(lambda: api.claim_task(respondent_task, staff=soes)) == "not_allowed"
    assert _code(lambda: api.respondent_decide(respondent_task, staff=soes, outcome="approve",
                                               section4={})) == "not_allowed"
    _approve(sub.request_id, approver)
    task_id = open_task(sub.request_id, "countersign")
    other_respondent = ensure_respondent()
    assert _code(lambda: api.claim_task(task_id, staff=other_respondent)) == "not_allowed"
    assert _code(lambda: api.countersign_decide(task_id, staff=other_respondent, outcome="countersign")) \
        == "not_allowed"
    assert _code(lambda: api.respondent_decide(task_id, staff=other_respondent, outcome="approve",
                                               section4={})) == "task_not_found"

    # The respondent who approved, made SOES since, still cannot countersign.
    with session_scope() as s:
        account = s.exec(select(Account).where(Account.username == approver)).one()
        account.role = "soes"
        s.add(account)
    assert _code(lambda: api.claim_task(task_id, staff=approver)) == "same_as_respondent"
    assert _code(lambda: api.countersign_decide(task_id, staff=approver, outcome="countersign")) \
        == "same_as_respondent"
    # Nor under another account of theirs (same mailbox, or same name).
    twin = ensure_soes("soes.jumeau", email="Repondant.Quatre+soes@ramq.example.qc.ca")
    assert _code(lambda: api.claim_task(task_id, staff=twin)) == "same_as_respondent"
    namesake = ensure_soes("soes.homonyme", display_name="Test Répondant")  # the approver's name
    assert _code(lambda: api.claim_task(task_id, staff=namesake)) == "same_as_respondent"
    # Nor a party of the request.
    party = ensure_soes("soes.partie", email=data["authorizer"]["email"])
    assert _code(lambda: api.claim_task(task_id, staff=party)) == "conflict_of_interest"

    # Two SOES race for the task: one claim wins, the loser can neither decide nor take it.
    rivals = [ensure_soes(f"soes.course{i}", display_name=f"Course {i}") for i in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda who: _outcome(lambda: api.claim_task(task_id, staff=who)), rivals))
    assert sorted(results) == ["already_claimed", "ok"]
    winner, loser = rivals if results[0] == "ok" else rivals[::-1]
    assert _code(lambda: api.countersign_decide(task_id, staff=loser, outcome="countersign")) \
        == "not_claimed_by_you"
    with ThreadPoolExecutor(max_workers=2) as pool:  # a double click: applied once
        clicks = list(pool.map(lambda _: _outcome(
            lambda: api.countersign_decide(task_id, staff=winner, outcome="countersign")), range(2)))
    assert sorted(clicks) == ["ok", "task_closed"]
    assert wait_run_final(sub.request_id).state.is_completed()
    assert request_status(sub.request_id) == "completed"
    with session_scope() as s:
        assert s.get(HumanTask, task_id).status == "done"


def _outcome(call) -> str:
    try:
        call()
        return "ok"
    except ActionError as exc:
        return exc.code


# --- An installation without countersign (RAMQ_COUNTERSIGN=false) ---------------------------------


@pytest.fixture(scope="module")
def runner_without_countersign(database_url, prefect_server, smtp_server, tmp_path_factory) -> Iterator[Stack]:
    """A second runner, on its own deployment, whose flows run with ``RAMQ_COUNTERSIGN=false``."""
    stack = Stack(var_dir=tmp_path_factory.mktemp("runner-nocs"), prefect_port=PREFECT_PORT,
                  smtp_port=smtp_server.port,
                  extra_env={"RAMQ_DATABASE_URL": database_url, "RAMQ_ENV": "test",
                             "RAMQ_DEPLOYMENT_NAME": _deployment_for(database_url) + "-nocs",
                             "RAMQ_SWEEP_EVERY_SECONDS": "3600", "RAMQ_COUNTERSIGN": "false"})
    stack.start(("runner",), timeout=180)
    yield stack
    stack.stop()


def test_without_countersign_credentials_follow_the_approval(app_env, runner_without_countersign, smtp_server,
                                                             monkeypatch):
    monkeypatch.setenv("RAMQ_DEPLOYMENT_NAME", _deployment_for(app_env) + "-nocs")
    monkeypatch.setenv("RAMQ_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RAMQ_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("RAMQ_VAR_DIR", str(runner_without_countersign.var_dir))
    monkeypatch.setenv("RAMQ_COUNTERSIGN", "false")
    _reset_caches()
    sub, data = _authorized(smtp_server)
    _approve(sub.request_id, ensure_respondent())
    assert wait_run_final(sub.request_id).state.is_completed()
    assert request_status(sub.request_id) == "completed"
    mail(smtp_server, data["user"]["email"], "mot de passe temporaire")
    mail(smtp_server, data["authorizer"]["email"], "nom d'utilisateur")
    with session_scope() as s:
        assert not s.exec(select(HumanTask).where(HumanTask.request_id == sub.request_id,
                                                  HumanTask.kind == "countersign")).first()
        verification = verify_request(s, s.get(AccessRequest, sub.request_id))
    assert verification.intact and [c.role for c in verification.checks if c.role == "respondent"] == ["respondent"]


def test_the_simulation_plays_the_soes_and_ends_every_request(live, smtp_server):
    """`simulate` with the countersign on (the default): every plan reaches its end, including
    an approval the SOES returns to the respondent once."""
    from flows.simulate import Simulation

    assert Simulation(requests=0, progress=lambda _: None).run()["requests"] == 0  # its staff accounts
    sim = Simulation(requests=2, seed=7, timeout=120, progress=lambda _: None)
    sim.maildir = smtp_server.maildir
    traces = [sim.play(1000 + i, plan) for i, plan in enumerate(("approved", "returned"))]
    assert [t.error for t in traces] == ["", ""] and [t.outcome for t in traces] == ["completed"] * 2
    assert "approval→countersign queue" in traces[1].latencies
    # The same seed again, against the same mailbox: new people, not the first run's emails
    # (found in CI: SQLite's run left emails the PostgreSQL run then read, with void links).
    again = Simulation(requests=1, seed=7, timeout=120, progress=lambda _: None)
    again.maildir = smtp_server.maildir
    trace = again.play(1000, "approved")
    assert (trace.error, trace.outcome) == ("", "completed")
