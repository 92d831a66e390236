"""Helpers of the attack suite: what a request holds (to prove an attack stored nothing) and the
security events an attack left. Requests, tasks and links are made with the real API and tables
(see tests/ui/conftest.py); no Prefect run is needed: a stored decision is simply not resumed."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from models.db import session_scope
from models.tables import (
    AccessRequest,
    AuditEvent,
    Authorization,
    Decision,
    HumanTask,
    RamqProcessing,
    RateEvent,
    SecurityEvent,
    UsedLink,
)


def last_event_id() -> int:
    """The newest security event now: events after it are the attack's."""
    with session_scope() as s:
        return s.exec(select(func.max(SecurityEvent.id))).one() or 0


def events_since(marker: int) -> list[dict]:
    with session_scope() as s:
        rows = s.exec(select(SecurityEvent).where(SecurityEvent.id > marker)
                      .order_by(SecurityEvent.id)).all()
        return [{"kind": e.kind, "code": e.code, "request_id": e.request_id, "actor": e.actor,
                 "detail": dict(e.detail)} for e in rows]


def one_event(marker: int, *, kind: str, code: str, request_id: int | None = None,
              actor: str | None = None) -> dict:
    """Asserts the attack left exactly one security event, of this kind and code."""
    got = events_since(marker)
    assert [(e["kind"], e["code"]) for e in got] == [(kind, code)], got
    event = got[0]
    assert event["request_id"] == request_id, event
    if actor is not None:
        assert event["actor"] == actor, event
    return event


def snapshot(request_id: int) -> dict:
    """Everything an action could write about a request (decisions, used links, tasks and their
    state, sections 3 and 4, audit events, the request row itself)."""
    with session_scope() as s:
        req = s.get(AccessRequest, request_id)
        tasks = s.exec(select(HumanTask).where(HumanTask.request_id == request_id)
                       .order_by(HumanTask.id)).all()
        return {
            "request": (req.status, req.revision, req.updated_at),
            "tasks": [(t.id, t.kind, t.round, t.status, t.claimed_by) for t in tasks],
            "decisions": len(s.exec(select(Decision.id).where(Decision.request_id == request_id)).all()),
            "used_links": len(s.exec(select(UsedLink.jti).where(UsedLink.request_id == request_id)).all()),
            "section3": len(s.exec(select(Authorization.id).where(Authorization.request_id == request_id)).all()),
            "section4": len(s.exec(select(RamqProcessing.id).where(RamqProcessing.request_id == request_id)).all()),
            "audit": len(s.exec(select(AuditEvent.id).where(AuditEvent.request_id == request_id)).all()),
        }


def open_tasks(request_id: int) -> list[tuple[str, int]]:
    with session_scope() as s:
        return [(t.kind, t.round) for t in s.exec(select(HumanTask).where(
            HumanTask.request_id == request_id, HumanTask.status == "open")).all()]


def count_rows(table) -> int:
    with session_scope() as s:
        return s.exec(select(func.count()).select_from(table)).one()


def rate_rows() -> int:
    return count_rows(RateEvent)


def staff_account(role: str, *, email: str | None = None, display_name: str = "") -> dict:
    """A staff account with its own professional mailbox (needed by the conflict check)."""
    import uuid

    from tests.ui.conftest import staff_account as make

    return make(role, email=email or f"agent.{uuid.uuid4().hex[:10]}@ramq.example.qc.ca",
                display_name=display_name)


def sent_back(comments: str = "Le numéro de l'établissement est erroné."):
    """A request a respondent sent back for correction (round 1): (submitted, correction task
    id, correction link token)."""
    from flows import api
    from models.enums import TaskKind
    from tests.ui.conftest import authorized_request, open_task, token

    sub, task_id = authorized_request()
    staff = staff_account("respondent")["username"]
    api.claim_task(task_id, staff=staff)
    api.respondent_decide(task_id, staff=staff, outcome="send_back", reason=comments)
    correction_task = open_task(sub.request_id, TaskKind.correction)
    return sub, correction_task, token(sub.request_id, purpose="correct")
