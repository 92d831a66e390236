"""The scheduled sweeper: what no person triggers but must still happen.

- start the flow run of a request stored while Prefect was unreachable;
- retry a resume that did not go through (a stored decision is never lost);
- remind an authorizer who has not answered;
- expire a request whose authorizer or correction step passed its deadline.
RAMQ queue tasks never expire: they show as overdue in the queue instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prefect import flow
from sqlalchemy import true
from sqlmodel import select

from flows import api
from flows.steps import SYSTEM, enqueue_authorization_request
from models.db import session_scope
from models.settings import get_settings
from models.tables import (
    FINAL_STATUSES,
    AccessRequest,
    AuditEvent,
    Decision,
    HumanTask,
    TaskKind,
    TaskStatus,
    utcnow,
)
from notifications import outbox

EXPIRING_KINDS = (TaskKind.authorizer.value, TaskKind.correction.value)


@dataclass
class SweepReport:
    started: list[int] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)


def sweep(now: datetime | None = None, *, grace_seconds: float = 30.0,
          request_ids: list[int] | None = None) -> SweepReport:
    """One pass over every request, or only over ``request_ids`` (one request's deadlines)."""
    now = now or utcnow()
    report = SweepReport()
    grace = now - timedelta(seconds=grace_seconds)
    final = [s.value for s in FINAL_STATUSES]

    with session_scope() as s:
        unstarted = s.exec(select(AccessRequest.id).where(
            AccessRequest.flow_run_id.is_(None), AccessRequest.created_at < grace,
            AccessRequest.status.not_in(final), _among(AccessRequest.id, request_ids))).all()
        stuck = s.exec(select(Decision.id).where(Decision.resumed_at.is_(None), Decision.created_at < grace,
                                                 _among(Decision.request_id, request_ids))).all()
    for request_id in unstarted:
        if api.start_flow(request_id):
            report.started.append(request_id)
    for decision_id in stuck:
        if api.resume(decision_id, wait_seconds=0):
            report.resumed.append(decision_id)

    report.reminded = _send_reminders(now, request_ids)
    report.expired = _expire_overdue(now, request_ids)
    return report


def _among(column, request_ids: list[int] | None):
    return true() if request_ids is None else column.in_(request_ids)


def _send_reminders(now: datetime, request_ids: list[int] | None) -> list[int]:
    settings = get_settings()
    threshold = now - timedelta(hours=settings.reminder_after_hours)
    reminded = []
    with session_scope() as s:
        tasks = s.exec(select(HumanTask).where(
            HumanTask.kind == TaskKind.authorizer.value, HumanTask.status == TaskStatus.open.value,
            HumanTask.reminded_at.is_(None), HumanTask.created_at < threshold,
            HumanTask.due_at > now, _among(HumanTask.request_id, request_ids))).all()
        for task in tasks:
            req = s.get(AccessRequest, task.request_id)
            enqueue_authorization_request(s, req, task, kind="authorization_reminder")
            task.reminded_at = now
            s.add(task)
            s.add(AuditEvent(request_id=req.id, actor=SYSTEM, event="authorizer_reminded",
                             detail={"task_id": task.id}))
            reminded.append(req.id)
    for request_id in reminded:
        asyncio.run(outbox.send_pending(request_id=request_id))
    return reminded


def _expire_overdue(now: datetime, request_ids: list[int] | None) -> list[int]:
    decisions = []
    with session_scope() as s:
        tasks = s.exec(select(HumanTask).where(HumanTask.kind.in_(EXPIRING_KINDS),
                                               HumanTask.status == TaskStatus.open.value,
                                               HumanTask.due_at < now,
                                               _among(HumanTask.request_id, request_ids))).all()
        for task in tasks:
            try:
                with s.begin_nested():
                    decisions.append((task.request_id, api.record_decision(
                        s, task, outcome="expire", reason=None, actor=SYSTEM)))
            except api.ActionError:
                continue  # a person decided in the meantime
    for _, decision_id in decisions:
        api.resume(decision_id)
    return [request_id for request_id, _ in decisions]


@flow(name="sweeper", log_prints=False)
def sweeper_flow() -> dict:
    report = sweep()
    return {k: len(v) for k, v in report.__dict__.items()}
