"""Double clicks and racing clerks on both databases: one action wins, the others get a clear
refusal ("link used", "task closed", "already claimed", "username taken") and never a database
error; the record holds one decision. No flow run is needed: decisions are stored, and resumes
are left for when a run exists."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from flows import api
from flows.errors import ActionError
from models.db import session_scope
from models.tables import Authorization, Decision, HumanTask, RamqProcessing, utcnow
from notifications.links import make_link_token
from tests.faults.harness import record
from tests.flows.workflow_helpers import ensure_respondent, section3, unique_request

pytestmark = pytest.mark.faults
CLICKS = 6


def _race(action, n: int = CLICKS) -> list:
    """Runs ``action`` in ``n`` threads released together; each result or ActionError code."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def one(i: int) -> None:
        barrier.wait()
        try:
            results[i] = ("ok", action())
        except ActionError as exc:
            results[i] = ("refused", exc.code)
        except Exception as exc:  # noqa: BLE001 - the bug this suite exists to catch
            results[i] = ("error", type(exc).__name__)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def _task(request_id: int, kind: str, round: int = 1) -> int:
    with session_scope() as s:
        task = HumanTask(request_id=request_id, kind=kind, round=round, due_at=utcnow() + timedelta(days=1))
        s.add(task)
        s.flush()
        return task.id


def _stored(**user) -> tuple[dict, int]:
    data = unique_request(**user)
    return data, api.submit_request(data, actor="test", start=False).request_id


def _authorized(**user) -> tuple[dict, int]:
    """A stored request whose authorizer signed section 3 (what an approval signs over)."""
    data, request_id = _stored(**user)
    _task(request_id, "authorizer")
    token = make_link_token(request_id=request_id, purpose="authorize", revision=1).token
    api.authorizer_decide(token, outcome="authorize", section3=section3(data))
    return data, request_id


def test_double_click_on_authorize_applies_once(app_env):
    data, request_id = _stored()
    _task(request_id, "authorizer")
    token = make_link_token(request_id=request_id, purpose="authorize", revision=1).token
    results = _race(lambda: api.authorizer_decide(token, outcome="authorize", section3=section3(data)))
    assert [r for r in results if r[0] == "error"] == []
    assert sum(r[0] == "ok" for r in results) == 1
    assert {r[1] for r in results if r[0] == "refused"} <= {"link_used", "task_closed"}
    with session_scope() as s:
        assert len(s.exec(select(Decision).where(Decision.request_id == request_id)).all()) == 1
        assert len(s.exec(select(Authorization).where(Authorization.request_id == request_id)).all()) == 1
    record(f"double click on Autoriser ({app_env.split(':')[0]})", 1,
           {"lost": [], "duplicated": [r for r in results if r[0] == "ok"][1:],
            "misdirected": [r for r in results if r[0] == "error"]}, None, note=f"{CLICKS} clicks")


def test_racing_clerks_claim_and_approve_once(app_env):
    clerks = [ensure_respondent(f"clerk{i}.race", email=f"clerk{i}.race@ramq.example.qc.ca") for i in range(3)]
    _, request_id = _authorized()
    task_id = _task(request_id, "respondent")
    claims = _race(lambda: api.claim_task(task_id, staff=clerks[threading.get_ident() % 3]), n=CLICKS)
    assert [r for r in claims if r[0] == "error"] == []
    with session_scope() as s:
        owner = s.get(HumanTask, task_id).claimed_by
    assert owner in clerks
    section4 = api.proposed_section4(task_id)
    approvals = _race(lambda: api.respondent_decide(task_id, staff=owner, outcome="approve", section4=section4))
    assert [r for r in approvals if r[0] == "error"] == []
    assert sum(r[0] == "ok" for r in approvals) == 1
    assert {r[1] for r in approvals if r[0] == "refused"} <= {"task_closed"}
    with session_scope() as s:
        assert len(s.exec(select(Decision).where(Decision.task_id == task_id)).all()) == 1
        assert len(s.exec(select(RamqProcessing).where(RamqProcessing.request_id == request_id)).all()) == 1


def test_two_approvals_racing_for_one_username_reserve_it_once(app_env):
    """Two users with the same name, approved at the same moment with the same username: one
    gets it, the other clerk is told at once, with the next free username."""
    clerks = [ensure_respondent(f"clerk{i}.user", email=f"clerk{i}.user@ramq.example.qc.ca") for i in range(2)]
    tasks = []
    for clerk in clerks:
        _, request_id = _authorized(first_name="Zoé", last_name="Racebrook")
        task_id = _task(request_id, "respondent")
        api.claim_task(task_id, staff=clerk)
        tasks.append((task_id, clerk))
    section4 = api.proposed_section4(tasks[0][0])
    barrier = threading.Barrier(2)
    results = {}

    def approve(task_id, clerk):
        barrier.wait()
        try:
            results[task_id] = ("ok", api.respondent_decide(task_id, staff=clerk, outcome="approve",
                                                            section4=dict(section4)))
        except ActionError as exc:
            results[task_id] = ("refused", exc.code, exc.message("fr"))
        except Exception as exc:  # noqa: BLE001
            results[task_id] = ("error", type(exc).__name__)

    threads = [threading.Thread(target=approve, args=t) for t in tasks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    outcomes = sorted(r[0] for r in results.values())
    assert outcomes == ["ok", "refused"], results
    (refused,) = [r for r in results.values() if r[0] == "refused"]
    assert refused[1] == "username_taken"
    suggestion = section4["username"][:-2] + "02"
    assert suggestion in refused[2]
    # The loser's task is still open and its clerk can approve with the suggestion.
    (loser,) = [t for t in tasks if results[t[0]][0] == "refused"]
    assert api.proposed_section4(loser[0])["username"] == suggestion
    section4b = api.proposed_section4(loser[0])
    api.respondent_decide(loser[0], staff=loser[1], outcome="approve", section4=section4b)
    with session_scope() as s:
        names = s.exec(select(RamqProcessing.username).where(RamqProcessing.username.startswith(
            section4["username"][:-2]))).all()
    assert sorted(names) == sorted({section4["username"], suggestion})
