"""The audit writer and the words it writes: every event is an AuditEventKind, stored as its
plain string."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from models.audit import SYSTEM, audit, audit_once
from models.db import session_scope
from models.enums import AuditEventKind, Outcome, TaskKind
from models.tables import AuditEvent
from tests.models.helpers import bare_request


def _request() -> int:
    with session_scope() as s:
        req = bare_request()
        s.add(req)
        s.flush()
        return req.id


def _events(request_id: int) -> list[AuditEvent]:
    with session_scope() as s:
        return s.exec(select(AuditEvent).where(AuditEvent.request_id == request_id)
                      .order_by(AuditEvent.id)).all()


def test_event_names_are_the_stored_strings():
    assert AuditEventKind.task_opened(TaskKind.respondent) == "respondent_task_opened"
    assert AuditEventKind.task_opened("correction") is AuditEventKind.correction_task_opened
    assert AuditEventKind.decision(TaskKind.respondent, Outcome.send_back) == "respondent_send_back"
    assert AuditEventKind.decision("authorizer", "expire") is AuditEventKind.authorizer_expire
    assert f"{AuditEventKind.claimed}" == "claimed"
    with pytest.raises(ValueError):
        AuditEventKind.decision(TaskKind.authorizer, Outcome.approve)  # no step takes it


def test_audit_writes_in_the_callers_transaction(engine):
    rid = _request()
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with session_scope() as s:
        audit(s, rid, AuditEventKind.claimed, actor="agent1", task_id=7)
        audit(s, rid, AuditEventKind.submitted, actor="cli", at=at, reference="SEL-2026-000001")
    with pytest.raises(RuntimeError):
        with session_scope() as s:
            audit(s, rid, AuditEventKind.completed, actor=SYSTEM)
            raise RuntimeError("the step failed")
    claimed, submitted = _events(rid)
    assert (claimed.event, claimed.actor, claimed.detail) == ("claimed", "agent1", {"task_id": 7})
    assert type(claimed.event) is str and claimed.at.tzinfo is not None
    assert (submitted.event, submitted.at, submitted.detail) == (
        "submitted", at, {"reference": "SEL-2026-000001"})


def test_audit_once_writes_an_event_once(engine):
    rid = _request()
    for _ in range(2):
        with session_scope() as s:
            audit_once(s, rid, AuditEventKind.flow_started, actor=SYSTEM, flow_run_id="abc")
    (event,) = _events(rid)
    assert (event.event, event.actor, event.detail) == ("flow_started", "système", {"flow_run_id": "abc"})
