"""Claimed work that does not move (issue 10, item 4): a manager releases or reassigns a task
someone else claimed, with a reason kept in the history; the new holder passes the checks a
claim would; a claim untouched for RAMQ_STALE_CLAIM_HOURS shows as stale in the queues."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from flows import api
from flows.errors import ActionError
from models.db import session_scope
from models.queries import claimed_tasks, list_queue
from models.tables import AuditEvent, HumanTask, utcnow
from tests.ui.conftest import authorized_request, errors, goto, nav_error, staff_account, texts
from ui.common import STAFF_KEY


def claimed(role: str = "respondent") -> tuple[int, int, dict]:
    """A respondent task claimed by a respondent: (request id, task id, holder)."""
    sub, task_id = authorized_request()
    holder = staff_account(role)
    api.claim_task(task_id, staff=holder["username"])
    return sub.request_id, task_id, holder


def holder_of(task_id: int) -> str | None:
    with session_scope() as s:
        return s.get(HumanTask, task_id).claimed_by


def refused(code: str, fn, *args, **kwargs) -> None:
    with pytest.raises(ActionError) as err:
        fn(*args, **kwargs)
    assert err.value.code == code


def test_a_manager_releases_a_claimed_task_with_a_reason(engine):
    request_id, task_id, holder = claimed()
    manager = staff_account("manager")
    refused("reason_required", api.reassign_task, task_id, staff=manager["username"], to=None, reason="  ")
    api.reassign_task(task_id, staff=manager["username"], to=None, reason="Congé de maladie")
    assert holder_of(task_id) is None
    with session_scope() as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.request_id == request_id,
                                                AuditEvent.event == "released")).one()
    assert event.actor == manager["username"]
    assert event.detail["previous"] == holder["username"] and event.detail["reason"] == "Congé de maladie"
    refused("not_claimed", api.reassign_task, task_id, staff=manager["username"], to=None, reason="encore")


def test_a_manager_gives_the_task_to_another_respondent_who_can_then_decide(engine):
    _, task_id, holder = claimed()
    other = staff_account("respondent")
    api.reassign_task(task_id, staff=staff_account("operator")["username"], to=other["username"], reason="Congé")
    assert holder_of(task_id) == other["username"]
    refused("not_claimed_by_you", api.respondent_decide, task_id, staff=holder["username"], outcome="refuse",
            reason="non")
    api.respondent_decide(task_id, staff=other["username"], outcome="refuse", reason="Hors mandat")


def test_only_managers_reassign_and_only_to_someone_who_may_hold_the_task(engine):
    _, task_id, holder = claimed()
    manager = staff_account("manager")["username"]
    for role in ("respondent", "soes"):
        refused("not_allowed", api.reassign_task, task_id, staff=staff_account(role)["username"], to=None,
                reason="prise")
    refused("not_allowed", api.reassign_task, task_id, staff=manager, to=staff_account("soes")["username"],
            reason="mauvais rôle")
    refused("not_allowed", api.reassign_task, task_id, staff=manager, to=staff_account("manager")["username"],
            reason="un gestionnaire ne décide pas")
    with session_scope() as s:
        from models.tables import AccessRequest

        user_email = s.get(AccessRequest, s.get(HumanTask, task_id).request_id).user_email
    party = staff_account("respondent", email=user_email)
    refused("conflict_of_interest", api.reassign_task, task_id, staff=manager, to=party["username"],
            reason="la personne elle-même")
    assert holder_of(task_id) == holder["username"]


def test_a_claim_untouched_for_a_while_is_stale(engine, monkeypatch):
    _, task_id, holder = claimed()
    assert not next(r for r in list_queue(staff=holder["username"]) if r.task_id == task_id).stale
    with session_scope() as s:
        task = s.get(HumanTask, task_id)
        task.claimed_at = utcnow() - timedelta(hours=49)
        s.add(task)
    assert next(r for r in list_queue(staff=holder["username"]) if r.task_id == task_id).stale
    assert next(t for t in claimed_tasks() if t["task_id"] == task_id)["stale"]


def test_the_managers_page_releases_a_task(app):
    _, task_id, holder = claimed()
    assert nav_error(app(state={STAFF_KEY: staff_account("respondent")["id"]}), "claimed_tasks.py")
    at = goto(app(state={STAFF_KEY: staff_account("manager")["id"]}), "claimed_tasks.py")
    assert not at.exception and at.title[0].value == "Tâches prises en charge"
    at.selectbox(key="rt_pick").set_value(task_id).run()
    at.button(key=f"rt_go:{task_id}").click().run()
    assert any("Motif" in e or "motif" in e for e in errors(at)), errors(at)
    assert holder_of(task_id) == holder["username"]
    at.text_area(key=f"rt_reason:{task_id}").input("Congé").run()
    at.button(key=f"rt_go:{task_id}").click().run()
    assert not at.exception
    assert "est remise dans la file" in texts(at)
    assert holder_of(task_id) is None
