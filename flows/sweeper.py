"""The scheduled sweeper: what no person triggers but must still happen.

- start the flow run of a request stored while Prefect was unreachable;
- bring back every open request whose run died (Failed, Crashed, Cancelled, or Pending after
  its runner died): the same run is started again and replays from the database's state;
  after too many restarts without progress the request is flagged and managers are told;
- retry a resume that did not go through (a stored decision is never lost);
- send the emails an SMTP outage held back (with backoff); a forgotten-password email, whose
  body is never kept, goes again with a new password (flows.password_reset);
- remind, on a schedule, an authorizer who has not answered (then tell the user too) and a
  user whose correction is pending;
- send RAMQ staff one daily digest of new and overdue tasks;
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
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from prefect import flow
from sqlalchemy import func, or_, true, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from flows import api, password_reset, recovery, runs
from flows.errors import ActionError
from flows.steps import enqueue_authorization_request, enqueue_authorizer_late, enqueue_correction_reminder
from models import messages, retention
from models.audit import SYSTEM, audit
from models.db import get_row, session_scope
from models.enums import FINAL_STATUSES, AccountKind, AuditEventKind, Outcome, TaskKind, TaskStatus
from models.i18n import translate
from models.settings import get_settings
from models.tables import (
    AccessRequest,
    Account,
    AuditEvent,
    Decision,
    HumanTask,
    StaffDigest,
    id_of,
    not_null,
    utcnow,
)
from notifications import links, outbox
from notifications.templates import compose, format_when, request_context

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
    digests: list[int] = field(default_factory=list)  # staff account ids


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
        ("digests", lambda: send_digests(now) if request_ids is None else []),
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


REMINDED_KINDS = (TaskKind.authorizer.value, TaskKind.correction.value)


def reminder_kind(kind: str, number: int) -> str:
    """The outbox kind of the ``number``-th reminder's email of this ``kind``.

    The outbox addresses an email by (request, kind, round, recipient role), and a reminder's
    round must stay its task's round (the revision its link is bound to, the round other
    emails of that step use). So the reminder's number goes into the kind: the first keeps the
    plain kind (the key of the single reminder of earlier versions, so a task reminded before
    the upgrade is not reminded again as number 1), the n-th is ``<kind>_<n>``. Each reminder
    is thereby its own outbox row, queued once whatever the number of sweepers."""
    return kind if number == 1 else f"{kind}_{number}"


def _send_reminders(now: datetime, request_ids: list[int] | None) -> list[int]:
    """Reminds the people a pending step waits for, on the schedule of ``RAMQ_REMINDER_DAYS``
    (days after the task opened): the authorizer (a fresh link; from the second reminder on,
    the user is told too that the authorizer has not answered), or the user of a correction.

    A sweeper takes reminder n of a task by moving ``reminders_sent`` from the count it read
    (``UPDATE … SET reminders_sent = n WHERE reminders_sent = n-1``), in the transaction that queues the emails and
    audits it: one sweeper wins, and a sweeper stopped midway leaves either nothing (the next
    pass does it) or the claim with its emails queued (the outbox sends them). After an outage
    that let several steps pass, only the latest is sent (one email, not a burst)."""
    delays = get_settings().reminder_delays
    if not delays:
        return []
    with session_scope() as s:
        candidates = s.exec(select(HumanTask.id, HumanTask.created_at, HumanTask.reminders_sent).where(
            col(HumanTask.kind).in_(REMINDED_KINDS), HumanTask.status == TaskStatus.open.value,
            col(HumanTask.reminders_sent) < len(delays), HumanTask.created_at <= now - delays[0],
            col(HumanTask.due_at) > now, _among(HumanTask.request_id, request_ids))
            .order_by(col(HumanTask.id))).all()
    reminded = []
    for task_id, created_at, sent in candidates:
        number = sum(1 for delay in delays if created_at + delay <= now)
        try:
            request_id = _remind(not_null(task_id), sent, number, now) if number > sent else None
        except Exception as exc:  # noqa: BLE001 - one task's trouble does not hold the others back
            LOG.warning("sweep: reminder of task %s not done this pass (%s)", task_id, type(exc).__name__)
            continue
        if request_id is not None:
            reminded.append(request_id)
    for request_id in sorted(set(reminded)):
        try:
            outbox.deliver(request_id)
        except outbox.OutboxError:
            pass  # held back: a later pass sends it
    return reminded


def _remind(task_id: int, sent: int, number: int, now: datetime) -> int | None:
    """Reminder ``number`` of one task, if this sweeper takes it (see :func:`_send_reminders`):
    its request's id, or None."""
    with session_scope() as s:
        won = s.exec(update(HumanTask).where(
            col(HumanTask.id) == task_id, col(HumanTask.reminders_sent) == sent,
            col(HumanTask.status) == TaskStatus.open.value).values(reminders_sent=number, reminded_at=now))
        if won.rowcount != 1:
            return None  # another sweeper reminded it, or the step was done meanwhile
        task = get_row(s, HumanTask, task_id, populate_existing=True)
        req = get_row(s, AccessRequest, task.request_id)
        if task.kind == TaskKind.authorizer.value:
            enqueue_authorization_request(s, req, task, kind="authorization_reminder",
                                          outbox_kind=reminder_kind("authorization_reminder", number))
            if number >= 2:  # escalation: the user learns the authorizer is late
                enqueue_authorizer_late(s, req, task, outbox_kind=reminder_kind("authorizer_late", number))
            audit(s, task.request_id, AuditEventKind.authorizer_reminded, actor=SYSTEM, task_id=task_id,
                  number=number)
        else:
            enqueue_correction_reminder(s, req, task, outbox_kind=reminder_kind("correction_reminder", number))
            audit(s, task.request_id, AuditEventKind.correction_reminded, actor=SYSTEM, task_id=task_id,
                  number=number)
        return task.request_id


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


# The staff's daily digest: which task kinds each role hears about.
DIGEST_KINDS = {
    "respondent": (TaskKind.respondent.value,),
    "soes": (TaskKind.countersign.value,),
    "manager": (TaskKind.respondent.value, TaskKind.countersign.value),
}
# Where each role's tasks are: (address, catalogue name of the page).
DIGEST_PAGES = {"soes": ("contre-signature", "ui.page_countersign")}  # the others: the work queue
DIGEST_QUEUE = ("file-de-travail", "ui.page_queue")
DIGEST_DONE = ("sent", "empty")


def send_digests(now: datetime, account_ids: list[int] | None = None) -> list[int]:
    """Once a Québec day, at or after ``RAMQ_DIGEST_HOUR``, each active respondent, SOES and
    manager with an email gets one digest of their queue: tasks opened since their last digest
    and still open, overdue ones, and claims left untouched (references and step names only).
    Nothing to report: no email. Returns the accounts emailed.

    Once per day: each (day, account) has one ``staff_digest`` row (unique), and a sender takes
    it (``pending`` → ``sending``, compared and set on status and attempts) before composing
    and sending, outside any transaction; then ``sent``. A failed send is retried with the
    outbox's backoff; a row left ``sending`` by a sweeper that died is taken again after the
    outbox's stale-claim delay (as in the outbox, the one case that may send twice is a sweeper
    dying between the SMTP server's answer and the database's)."""
    settings = get_settings()
    local = now.astimezone(ZoneInfo(settings.timezone))
    if settings.digest_hour is None or local.hour < settings.digest_hour:
        return []
    day = local.date()
    done_today = select(StaffDigest.account_id).where(StaffDigest.day == day,
                                                       col(StaffDigest.status).in_(DIGEST_DONE))
    with session_scope() as s:
        staff = [not_null(account_id) for account_id in s.exec(select(Account.id).where(
            Account.kind == AccountKind.staff.value, col(Account.role).in_(tuple(DIGEST_KINDS)),
            Account.disabled == False, col(Account.email).is_not(None),  # noqa: E712
            col(Account.id).not_in(done_today), _among(Account.id, account_ids)).order_by(col(Account.id))).all()]
    sent = []
    for account_id in staff:
        outcome = _send_digest(account_id, day, now)
        if outcome == "failed":
            break  # the mail server is failing: the others wait for the next pass
        if outcome == "sent":
            sent.append(account_id)
    return sent


def _take_digest(account_id: int, day: date, now: datetime) -> int | None:
    """The id of this (day, account)'s digest row if this sender takes it, else None."""
    with session_scope() as s:
        where = (StaffDigest.day == day, StaffDigest.account_id == account_id)
        row = s.exec(select(StaffDigest).where(*where)).first()
        if row is None:
            try:
                with s.begin_nested():
                    row = StaffDigest(day=day, account_id=account_id)
                    s.add(row)
                    s.flush()
            except IntegrityError:
                row = s.exec(select(StaffDigest).where(*where).execution_options(populate_existing=True)).one()
        if row.status == "failed":
            due = row.claimed_at is None or row.claimed_at < now - outbox.retry_backoff(row.attempts)
        elif row.status == outbox.SENDING:
            due = row.claimed_at is None or row.claimed_at < now - outbox.stale_claim()
        else:
            due = row.status == "pending"
        if not due:
            return None
        won = s.exec(update(StaffDigest).where(
            col(StaffDigest.id) == row.id, col(StaffDigest.status) == row.status,
            col(StaffDigest.attempts) == row.attempts,
        ).values(status=outbox.SENDING, attempts=row.attempts + 1, claimed_at=now))
        return id_of(row) if won.rowcount == 1 else None


def _send_digest(account_id: int, day: date, now: datetime) -> str | None:
    """``sent``, ``failed``, or None (nothing to report, or not this sender's to send)."""
    digest_id = _take_digest(account_id, day, now)
    if digest_id is None:
        return None  # sent, nothing to report, or another sweeper has it
    settings = get_settings()
    lang = settings.language
    with session_scope() as s:
        account = get_row(s, Account, account_id)
        since = s.exec(select(func.max(StaffDigest.covered_until)).where(
            StaffDigest.account_id == account_id, col(StaffDigest.id) != digest_id,
            col(StaffDigest.status).in_(DIGEST_DONE))).one() or now - timedelta(days=1)
        tasks = s.exec(select(HumanTask, AccessRequest.reference)
                       .join(AccessRequest, col(AccessRequest.id) == col(HumanTask.request_id))
                       .where(col(HumanTask.kind).in_(DIGEST_KINDS[account.role]),
                              HumanTask.status == TaskStatus.open.value, HumanTask.created_at <= now)
                       .order_by(col(HumanTask.due_at), col(HumanTask.id))).all()
        stale_before = now - timedelta(hours=settings.stale_claim_hours)

        def line(task: HumanTask, reference: str | None) -> str:
            step = messages.label("status", f"awaiting_{task.kind}", lang)
            due = translate("email.digest_due", lang, when=format_when(task.due_at, lang)) if task.due_at else ""
            return " — ".join(part for part in (reference or f"#{task.request_id}", step, due) if part)

        new = [line(t, ref) for t, ref in tasks if t.created_at > since]
        overdue = [line(t, ref) for t, ref in tasks if t.due_at is not None and t.due_at < now]
        stale = [line(t, ref) for t, ref in tasks if t.claimed_by and t.claimed_at and t.claimed_at < stale_before]
        recipient, name = not_null(account.email), account.display_name or account.username
        page, page_name = DIGEST_PAGES.get(account.role, DIGEST_QUEUE)
    if not (new or overdue or stale):
        _finish_digest(digest_id, status="empty", covered_until=now)
        return None
    message = compose("staff_digest", lang=lang, reference=day.isoformat(), recipient_name=name,
                      new_tasks=new, overdue=overdue, stale=stale, stale_hours=settings.stale_claim_hours,
                      queue_url=f"{settings.base_url.rstrip('/')}/{page}", queue_label=translate(page_name, lang))
    try:
        outbox.send_now(to=recipient, message=message)
    except Exception as exc:  # noqa: BLE001 - retried by a later pass, with backoff
        _finish_digest(digest_id, status="failed", last_error=type(exc).__name__)
        return "failed"
    _finish_digest(digest_id, status="sent", covered_until=now, sent_at=utcnow(), last_error=None)
    return "sent"


def _finish_digest(digest_id: int, **values) -> None:
    with session_scope() as s:
        s.execute(update(StaffDigest).where(col(StaffDigest.id) == digest_id,
                                            col(StaffDigest.status) == outbox.SENDING).values(**values))


if __name__ == "__main__":
    print(sweeper_flow.fn())
