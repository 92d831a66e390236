"""The scheduled sweeper: what no person triggers but must still happen.

- start the flow run of a request stored while Prefect was unreachable;
- bring back every open request whose run died (Failed, Crashed, Cancelled, or Pending after
  its runner died): the same run is started again and replays from the database's state;
  after too many restarts without progress the request is flagged and managers are told;
- retry a resume that did not go through (a stored decision is never lost);
- send the emails an SMTP outage held back (with backoff); a forgotten-password email, whose
  body is never kept, goes again with a new password (flows.password_reset);
- remind an authorizer who has not answered;
- expire a request whose authorizer or correction step passed its deadline;
- tell the user and the authorizer, once, that an issued access ends soon (and how to renew);
- once a day, when RAMQ_PURGE_ENABLED, purge the requests closed past the retention period.
RAMQ queue tasks never expire: they show as overdue in the queue instead.

Two sweepers may run at once (the scheduled one and `ramq-access sweep`): every action is
claimed in the database first, so each happens once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from prefect import flow
from sqlalchemy import func, or_, true, update
from sqlmodel import col, select

from flows import api, password_reset, recovery, runs
from flows.errors import ActionError
from flows.steps import enqueue_authorization_request
from models import retention
from models.audit import SYSTEM, audit
from models.db import get_row, session_scope
from models.enums import FINAL_STATUSES, AccountKind, AuditEventKind, Outcome, TaskKind, TaskStatus
from models.settings import get_settings
from models.tables import (
    AccessRequest,
    Account,
    AuditEvent,
    Decision,
    HumanTask,
    not_null,
    utcnow,
)
from notifications import links, outbox
from notifications.templates import compose, request_context

LOG = logging.getLogger("ramq.sweeper")

EXPIRING_KINDS = (TaskKind.authorizer.value, TaskKind.correction.value)
# A start or restart claimed by a sweeper is left to it this long before another may retry.
CLAIM_WINDOW = timedelta(seconds=60)
RECOVERY_EVENTS = (AuditEventKind.run_restarted, AuditEventKind.recovery_abandoned)
# A renewal link still opens the prefilled form this long after the access ended.
RENEW_LINK_DAYS_AFTER = 90


@dataclass
class SweepReport:
    started: list[int] = field(default_factory=list)
    restarted: list[int] = field(default_factory=list)
    flagged: list[int] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)
    emailed: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    expiry_notified: list[int] = field(default_factory=list)
    password_resets: list[int] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)  # references (models/retention.py)


def sweep(now: datetime | None = None, *, grace_seconds: float = 30.0,
          request_ids: list[int] | None = None) -> SweepReport:
    """One pass over every request, or only over ``request_ids`` (one request's deadlines).
    Each part goes on when another fails (Prefect down still lets emails and deadlines run)."""
    now = now or utcnow()
    report = SweepReport()
    grace = now - timedelta(seconds=grace_seconds)
    parts = (
        ("started", lambda: _start_unstarted(now, grace, request_ids)),
        ("restarted", lambda: _recover_dead_runs(now, request_ids, report)),
        ("resumed", lambda: _retry_resumes(grace, request_ids)),
        ("emailed", lambda: _deliver_held_emails(request_ids)),
        ("reminded", lambda: _send_reminders(now, request_ids)),
        ("expired", lambda: _expire_overdue(now, request_ids)),
        ("expiry_notified", lambda: _notify_expiring(now, request_ids)),
        ("password_resets", lambda: password_reset.retry_password_resets(now) if request_ids is None else []),
        ("purged", lambda: retention.purge_daily(now) if request_ids is None else []),
    )
    for name, part in parts:
        try:
            getattr(report, name).extend(part() or [])
        except Exception as exc:  # noqa: BLE001 - the next pass retries; no data in the log
            LOG.warning("sweep: %s not done this pass (%s)", name, type(exc).__name__)
    return report


def _open(request_ids: list[int] | None):
    return (col(AccessRequest.status).not_in([st.value for st in FINAL_STATUSES]),
            _among(AccessRequest.id, request_ids))


def _claim_run(request_id: int, now: datetime, **values) -> bool:
    """Takes the right to start or restart this request's run (one sweeper wins)."""
    with session_scope() as s:
        won = s.exec(update(AccessRequest).where(
            col(AccessRequest.id) == request_id, col(AccessRequest.run_stuck_at).is_(None),
            or_(col(AccessRequest.run_start_claimed_at).is_(None),
                col(AccessRequest.run_start_claimed_at) < now - CLAIM_WINDOW),
        ).values(run_start_claimed_at=now, **values))
        return won.rowcount == 1


def _start_unstarted(now: datetime, grace: datetime, request_ids: list[int] | None) -> list[int]:
    with session_scope() as s:
        unstarted = [not_null(request_id) for request_id in s.exec(select(AccessRequest.id).where(
            col(AccessRequest.flow_run_id).is_(None), AccessRequest.created_at < grace,
            *_open(request_ids))).all()]
    started = []
    for request_id in unstarted:
        if not _claim_run(request_id, now):
            continue  # another sweeper is starting it
        if runs.start_flow(request_id):
            started.append(request_id)
        else:
            _release_claim(request_id)  # Prefect unreachable: the next pass tries again
    return started


def _release_claim(request_id: int) -> None:
    with session_scope() as s:
        s.execute(update(AccessRequest).where(col(AccessRequest.id) == request_id)
                  .values(run_start_claimed_at=None))


def _recover_dead_runs(now: datetime, request_ids: list[int] | None, report: SweepReport) -> list[int]:
    with session_scope() as s:
        run_ids = {not_null(request_id): not_null(run_id) for request_id, run_id in s.exec(
            select(AccessRequest.id, AccessRequest.flow_run_id).where(
                col(AccessRequest.flow_run_id).is_not(None), col(AccessRequest.run_stuck_at).is_(None),
                *_open(request_ids))).all()}
    if not run_ids:
        return []
    states = recovery.read_run_states(list(run_ids.values()))
    restarted = []
    for request_id, run_id in run_ids.items():
        state = states.get(run_id)
        if state is None:
            continue
        if recovery.pending_too_long(state, now):
            recovery.mark_crashed(run_id, "pending too long: its runner died before starting it")
        elif state.state_type not in recovery.DEAD_STATES:
            continue
        outcome = _restart(request_id, run_id, state.state_type, now)
        if outcome == "restarted":
            restarted.append(request_id)
        elif outcome == "flagged":
            report.flagged.append(request_id)
    return restarted


def _restart(request_id: int, run_id: str, state: str, now: datetime) -> str | None:
    """Starts a dead run again, or flags the request after too many restarts without progress
    (progress: any audit event other than the recovery's own since the last restart)."""
    settings = get_settings()
    with session_scope() as s:
        req = get_row(s, AccessRequest, request_id)
        mark = s.exec(select(func.max(AuditEvent.id)).where(
            AuditEvent.request_id == request_id, col(AuditEvent.event).not_in(RECOVERY_EVENTS))).one()
        progressed = req.run_progress_mark is None or (mark or 0) > req.run_progress_mark
        restarts = 1 if progressed else req.run_restarts + 1
    if not _claim_run(request_id, now, run_restarts=restarts, run_progress_mark=mark or 0):
        return None  # another sweeper has it
    if restarts > settings.max_restarts_without_progress:
        _flag_stuck(request_id, run_id, state, restarts - 1, now)
        return "flagged"
    with session_scope() as s:
        audit(s, request_id, AuditEventKind.run_restarted, actor=SYSTEM,
              flow_run_id=run_id, state=state, restarts=restarts)
    try:
        if runs.restart_run(run_id):
            return "restarted"
    except Exception:  # noqa: BLE001 - Prefect unreachable: the next pass tries again
        pass
    _release_claim(request_id)
    return None


def _flag_stuck(request_id: int, run_id: str, state: str, restarts: int, now: datetime) -> None:
    """Restarting did not help: stop, flag the request for the managers' page, email managers."""
    with session_scope() as s:
        s.execute(update(AccessRequest).where(col(AccessRequest.id) == request_id)
                  .values(run_stuck_at=now))
        req = get_row(s, AccessRequest, request_id)
        audit(s, request_id, AuditEventKind.recovery_abandoned, actor=SYSTEM,
              flow_run_id=run_id, state=state, restarts=restarts)
        managers = s.exec(select(Account).where(
            Account.kind == AccountKind.staff.value, col(Account.role).in_(("manager", "operator")),
            Account.disabled == False, col(Account.email).is_not(None))).all()  # noqa: E712
        flagged_round = s.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.request_id == request_id, AuditEvent.event == AuditEventKind.recovery_abandoned)).one()
        for manager in managers:
            message = compose("request_stuck", lang="fr", reference=req.reference, restarts=restarts,
                              recipient_name=manager.display_name or manager.username,
                              state=state, manager_url=f"{get_settings().base_url.rstrip('/')}/suivi")
            outbox.enqueue(s, request_id=request_id, kind="request_stuck", round=int(flagged_round),
                           recipient_role=f"manager-{manager.id}", recipient=not_null(manager.email),
                           message=message, lang="fr")


def _retry_resumes(grace: datetime, request_ids: list[int] | None) -> list[int]:
    with session_scope() as s:
        stuck = [not_null(decision_id) for decision_id in s.exec(select(Decision.id).where(
            col(Decision.resumed_at).is_(None), Decision.created_at < grace,
            _among(Decision.request_id, request_ids))).all()]
    return [decision_id for decision_id in stuck if runs.resume(decision_id, wait_seconds=0)]


def _deliver_held_emails(request_ids: list[int] | None) -> list[int]:
    """Emails an SMTP outage held back, each once its backoff has passed."""
    if request_ids is None:
        sent = _send_due(None)
    else:
        sent = [row for rid in request_ids for row in _send_due(rid)]
    return sorted({row.request_id for row in sent})


def _send_due(request_id: int | None) -> list:
    try:
        return outbox.deliver(request_id, due_only=True, limit=500)
    except outbox.OutboxError:
        return []  # still failing: the rows wait their next backoff


def _among(column, request_ids: list[int] | None):
    return true() if request_ids is None else column.in_(request_ids)


def _send_reminders(now: datetime, request_ids: list[int] | None) -> list[int]:
    settings = get_settings()
    threshold = now - timedelta(hours=settings.reminder_after_hours)
    reminded = []
    with session_scope() as s:
        tasks = s.exec(select(HumanTask).where(
            HumanTask.kind == TaskKind.authorizer.value, HumanTask.status == TaskStatus.open.value,
            col(HumanTask.reminded_at).is_(None), HumanTask.created_at < threshold,
            col(HumanTask.due_at) > now, _among(HumanTask.request_id, request_ids))
            .order_by(col(HumanTask.id))).all()  # two sweepers lock the tasks in one order
        for task in tasks:
            won = s.exec(update(HumanTask).where(col(HumanTask.id) == task.id, col(HumanTask.reminded_at).is_(None))
                         .values(reminded_at=now))
            if won.rowcount != 1:
                continue  # another sweeper reminded this one
            req = get_row(s, AccessRequest, task.request_id)
            enqueue_authorization_request(s, req, task, kind="authorization_reminder")
            audit(s, task.request_id, AuditEventKind.authorizer_reminded, actor=SYSTEM, task_id=task.id)
            reminded.append(task.request_id)
    for request_id in reminded:
        try:
            outbox.deliver(request_id)
        except outbox.OutboxError:
            pass  # held back: a later pass sends it
    return reminded


def _expire_overdue(now: datetime, request_ids: list[int] | None) -> list[int]:
    decisions = []
    with session_scope() as s:
        tasks = s.exec(select(HumanTask).where(col(HumanTask.kind).in_(EXPIRING_KINDS),
                                               HumanTask.status == TaskStatus.open.value,
                                               col(HumanTask.due_at) < now,
                                               _among(HumanTask.request_id, request_ids))
                            .order_by(col(HumanTask.id))).all()  # two sweepers lock in one order
        for task in tasks:
            try:
                with s.begin_nested():
                    decisions.append((task.request_id, api.record_decision(
                        s, task, outcome=Outcome.expire, reason=None, actor=SYSTEM)))
            except ActionError:
                continue  # a person decided in the meantime
    for _, decision_id in decisions:
        runs.resume(decision_id)
    return [request_id for request_id, _ in decisions]


@flow(name="sweeper", log_prints=False)
def sweeper_flow() -> dict:
    report = sweep()
    return {k: len(v) for k, v in report.__dict__.items()}


def _notify_expiring(now: datetime, request_ids: list[int] | None) -> list[int]:
    """Issued accounts still in use whose validity ends within ``expiry_notice_days``: the user
    (with a link to the form prefilled from the old request) and the authorizer are told once
    per end date. The account's row is locked before the outbox is looked at, so two sweepers
    at once tell them once (SQLite: the write lock of ``BEGIN IMMEDIATE``)."""
    today = now.astimezone(ZoneInfo(get_settings().timezone)).date()
    horizon = today + timedelta(days=get_settings().expiry_notice_days)
    with session_scope() as s:
        candidates = [(not_null(account_id), not_null(request_id)) for account_id, request_id in s.exec(
            select(Account.id, Account.request_id).where(
                Account.kind == AccountKind.issued.value, Account.disabled == False,  # noqa: E712
                col(Account.request_id).is_not(None), col(Account.valid_until).is_not(None),
                col(Account.valid_until) >= today, col(Account.valid_until) <= horizon,
                _among(Account.request_id, request_ids)).order_by(col(Account.id))).all()]
    notified = []
    for account_id, request_id in candidates:
        with session_scope() as s:
            account = s.exec(select(Account).where(Account.id == account_id).with_for_update()).one()
            if account.disabled or account.valid_until is None:
                continue
            round = int(account.valid_until.strftime("%Y%m%d"))  # once per end date
            if outbox.exists(s, request_id=request_id, kind="access_expiring", round=round,
                             recipient_role="user"):
                continue
            req = get_row(s, AccessRequest, request_id)
            context = request_context(req)
            renew = links.make_link_token(
                request_id=request_id, purpose="renew", now=now,
                ttl=timedelta(days=(account.valid_until - today).days + RENEW_LINK_DAYS_AFTER))
            people = (("user", req.user_email, context["user_name"], links.link_url(renew.token, "renew")),
                      ("authorizer", req.authorizer_email, context["authorizer_name"], None))
            for role, email, name, url in people:
                message = compose("access_expiring", lang=req.language, **context, recipient_role=role,
                                  recipient_name=name, valid_until=account.valid_until, link_url=url)
                outbox.enqueue(s, request_id=request_id, kind="access_expiring", round=round,
                               recipient_role=role, recipient=email, message=message, lang=req.language)
            audit(s, request_id, AuditEventKind.expiry_notified, actor=SYSTEM, account_id=account_id,
                  valid_until=account.valid_until.isoformat())
            notified.append(request_id)
    for request_id in notified:
        try:
            outbox.deliver(request_id)
        except outbox.OutboxError:
            pass  # held back: a later pass sends it
    return notified


if __name__ == "__main__":
    print(sweeper_flow.fn())
