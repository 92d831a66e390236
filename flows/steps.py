"""The side effects of the access-request flow, one Prefect task each.

Every task takes identifiers only and returns identifiers only (Prefect stores parameters and
results in clear). Every task is idempotent: it checks the database and the email outbox before
acting, so a retry or a replay after a resume never does anything twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, TypedDict

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlmodel import Session, col, select

from models.accounts import generate_temporary_password, hash_password
from models.audit import SYSTEM, USER, audit, audit_once
from models.db import get_row, session_scope
from models.enums import FINAL_STATUSES, AccountKind, AuditEventKind, Outcome, RequestStatus, TaskKind, TaskStatus
from models.i18n import translate
from models.settings import get_settings
from models.tables import (
    AccessRequest,
    Account,
    Decision,
    HumanTask,
    RamqProcessing,
    id_of,
    not_null,
    utcnow,
)
from notifications import outbox
from notifications.links import link_url, make_link_token
from notifications.templates import compose, request_context

log = logging.getLogger("ramq.flow")

# A step that cannot reach the database or the SMTP server waits it out: these retries span
# more than an hour (1 s, 5 s, 15 s, 30 s, then every minute, so a healed outage is noticed
# within a minute). Past that the run fails and the sweeper starts it again.
RETRY_DELAYS: list[float] = [1, 5, 15, 30, 60]  # Prefect repeats the last delay for the later retries


class Retry(TypedDict):
    """The retry arguments of ``@task`` (a plain dict would not type-check as keywords)."""

    retries: int
    retry_delay_seconds: list[float]


RETRY = Retry(retries=66, retry_delay_seconds=RETRY_DELAYS)


class DeliveryError(RuntimeError):
    """Email delivery failed; carries no address nor content (Prefect logs it in clear)."""


def _set_status(session: Session, req: AccessRequest, status: RequestStatus) -> None:
    req.status = status.value
    req.updated_at = utcnow()
    if status in FINAL_STATUSES:
        req.closed_at = req.closed_at or utcnow()
    session.add(req)


def _enqueue(session: Session, req: AccessRequest, kind: str, round: int, role: str, *,
             template: str | None = None, **context) -> None:
    """Composes one email in the request's language and puts it in the outbox (once per key).
    ``template``: the email's template when its outbox kind differs (a numbered reminder)."""
    ctx = request_context(req)
    ctx.update(recipient_role=role,
               recipient_name=ctx["user_name"] if role == "user" else ctx["authorizer_name"])
    ctx.update(context)
    recipient = req.user_email if role == "user" else req.authorizer_email
    message = compose(template or kind, lang=req.language, **ctx)
    outbox.enqueue(session, request_id=id_of(req), kind=kind, round=round, recipient_role=role,
                   recipient=recipient, message=message, lang=req.language)


def _until_deadline(task_: HumanTask) -> timedelta | None:
    """A link lives as long as its step may be done: until the task's deadline, the date its
    email promises (a shorter life would let the email promise what the link does not honour)."""
    if task_.due_at is None:
        return None
    return max(task_.due_at - utcnow(), timedelta(minutes=5))


def enqueue_authorization_request(session: Session, req: AccessRequest, task_: HumanTask,
                                   kind: str = "authorization_request", *, outbox_kind: str | None = None) -> None:
    """The authorizer's email with a fresh signed link (``kind``: its template; ``outbox_kind``:
    its outbox kind when that differs, as for the n-th reminder)."""
    link = make_link_token(request_id=id_of(req), purpose="authorize", revision=task_.round,
                           ttl=_until_deadline(task_))
    _enqueue(session, req, outbox_kind or kind, task_.round, "authorizer", template=kind,
             link_url=link_url(link.token, "authorize"), deadline=task_.due_at, corrected=task_.round > 1)


def correction_comments(decision: Decision, lang: str) -> str:
    """What the user reads in a correction: the respondent's comments, or the RAMQ's request
    to name another authorizer, with its reason."""
    if decision.outcome == Outcome.reassign_authorizer.value:
        return translate("email.reassign_comments", lang, reason=decision.reason or "")
    return decision.reason or ""


def correction_decision(session: Session, request_id: int, round: int) -> Decision | None:
    """The decision that sent this round back to the user: the respondent's, or the RAMQ's
    request to name another authorizer."""
    return session.exec(select(Decision).join(HumanTask, col(Decision.task_id) == col(HumanTask.id)).where(
        HumanTask.request_id == request_id, HumanTask.round == round,
        col(Decision.outcome).in_((Outcome.send_back.value, Outcome.reassign_authorizer.value)))).first()


def enqueue_resent_link(session: Session, req: AccessRequest, task_: HumanTask, *, number: int,
                        now: datetime) -> None:
    """RAMQ staff sent a step's link again: a new link signed at ``now`` (the task's
    ``links_valid_from``, so the earlier ones are void), in the step's email marked as replacing
    the earlier one. ``number``: this resend's, so each is a new outbox row."""
    if task_.kind == TaskKind.authorizer.value:
        link = make_link_token(request_id=id_of(req), purpose="authorize", revision=task_.round,
                               ttl=_until_deadline(task_), now=now)
        ctx = request_context(req)
        ctx.update(recipient_role="authorizer", recipient_name=ctx["authorizer_name"],
                   link_url=link_url(link.token, "authorize"), deadline=task_.due_at,
                   corrected=task_.round > 1, resent=True)
        outbox.enqueue(session, request_id=id_of(req), kind="authorization_resent", round=number,
                       recipient_role="authorizer", recipient=req.authorizer_email,
                       message=compose("authorization_request", lang=req.language, **ctx), lang=req.language)
        return
    decision = correction_decision(session, id_of(req), task_.round)
    link = make_link_token(request_id=id_of(req), purpose="correct", revision=task_.round,
                           ttl=_until_deadline(task_), now=now)
    ctx = request_context(req)
    ctx.update(recipient_role="user", recipient_name=ctx["user_name"], link_url=link_url(link.token, "correct"),
               deadline=task_.due_at, resent=True,
               comments=correction_comments(decision, req.language) if decision else "")
    outbox.enqueue(session, request_id=id_of(req), kind="correction_resent", round=number,
                   recipient_role="user", recipient=req.user_email,
                   message=compose("correction_requested", lang=req.language, **ctx), lang=req.language)


def _open_task(session: Session, req: AccessRequest, kind: TaskKind, round: int, days: int,
               attempt: int = 1) -> HumanTask:
    request_id = id_of(req)
    existing = session.exec(
        select(HumanTask).where(HumanTask.request_id == request_id, HumanTask.kind == kind.value,
                                HumanTask.round == round, HumanTask.attempt == attempt)
    ).first()
    if existing:
        return existing
    t = HumanTask(request_id=request_id, kind=kind.value, round=round, attempt=attempt,
                  due_at=utcnow() + timedelta(days=days))
    session.add(t)
    session.flush()
    detail: dict[str, Any] = {"round": round, "task_id": id_of(t)}
    if attempt > 1:
        detail["attempt"] = attempt
    audit(session, request_id, AuditEventKind.task_opened(kind), actor=SYSTEM, **detail)
    return t


# --- Steps of the paper process, in order -----------------------------------------------------


@task(persist_result=True, **RETRY)
def record_submission(request_id: int, flow_run_id: str) -> int:
    """Links the request to its flow run and tells the user it was received, with the signed
    read-only link of the status page (``/statut``) and the link to cancel it (``/annuler``)."""
    with session_scope() as s:
        req = get_row(s, AccessRequest, request_id)
        if req.flow_run_id is None:
            req.flow_run_id = flow_run_id
            s.add(req)
        audit_once(s, request_id, AuditEventKind.flow_started, actor=SYSTEM, flow_run_id=flow_run_id)
        if not outbox.exists(s, request_id=request_id, kind="submission_confirmation", round=1,
                             recipient_role="user"):
            # The read-only status link: no revision (corrections keep it), never consumed. The
            # cancel link likewise (and as long): cancelling closes the request, once.
            status = make_link_token(request_id=request_id, purpose="status")
            cancel = make_link_token(request_id=request_id, purpose="cancel")
            _enqueue(s, req, "submission_confirmation", 1, "user",
                     status_url=link_url(status.token, "status", lang=req.language),
                     cancel_url=link_url(cancel.token, "cancel", lang=req.language))
    return request_id


@task(persist_result=True, retries=2, retry_delay_seconds=[1, 5])
def deliver_emails(request_id: int, step: str) -> int:
    """Sends what the outbox holds for this request and is not sent yet (never twice).

    An SMTP outage delays emails, never the request: what cannot be sent now stays in the
    outbox, and the sweeper sends it (with backoff) once the server answers again."""
    try:
        sent = outbox.deliver(request_id)
    except outbox.OutboxError:
        log.warning("emails of request %s left to the sweeper (%s)", request_id, step)
        return -1
    except Exception:
        raise DeliveryError(f"email delivery failed for request {request_id} ({step})") from None
    return len(sent)


@task(persist_result=True, **RETRY)
def open_authorizer_step(request_id: int, round: int) -> int:
    """Section 3: a task for the authorizer and an email with a signed link bound to this round."""
    settings = get_settings()
    with session_scope() as s:
        req = get_row(s, AccessRequest, request_id)
        task_ = _open_task(s, req, TaskKind.authorizer, round, settings.authorizer_deadline_days)
        _set_status(s, req, RequestStatus.awaiting_authorizer)
        if not outbox.exists(s, request_id=request_id, kind="authorization_request", round=round,
                             recipient_role="authorizer"):
            enqueue_authorization_request(s, req, task_)
        return id_of(task_)


@task(persist_result=True, **RETRY)
def open_respondent_step(request_id: int, round: int, attempt: int = 1) -> int:
    """Section 4: the request joins the RAMQ respondents' queue (attempt 2, 3…: the SOES
    returned the approval of this round, with a reason the respondent reads)."""
    with session_scope() as s:
        req = get_row(s, AccessRequest, request_id)
        task_ = _open_task(s, req, TaskKind.respondent, round, get_settings().respondent_deadline_days, attempt)
        _set_status(s, req, RequestStatus.awaiting_respondent)
        return id_of(task_)


@task(persist_result=True, **RETRY)
def countersign_required(request_id: int, round: int, attempt: int) -> bool:
    """Whether this approval waits for the SOES's countersignature (``RAMQ_COUNTERSIGN``, read
    when the approval reaches the flow). Its result is kept, so a replay takes the same path;
    an approval whose countersign task exists already waits for it whatever the setting."""
    with session_scope() as s:
        opened = s.exec(select(HumanTask.id).where(
            HumanTask.request_id == request_id, HumanTask.kind == TaskKind.countersign.value,
            HumanTask.round == round, HumanTask.attempt == attempt)).first()
    return opened is not None or get_settings().countersign


@task(persist_result=True, **RETRY)
def open_countersign_step(request_id: int, round: int, attempt: int) -> int:
    """Section 4, second signature: the approved request joins the SOES's queue (same due date
    and overdue rule as the respondent's step: shown overdue, never expired)."""
    with session_scope() as s:
        req = get_row(s, AccessRequest, request_id)
        task_ = _open_task(s, req, TaskKind.countersign, round, get_settings().respondent_deadline_days, attempt)
        _set_status(s, req, RequestStatus.awaiting_countersign)
        return id_of(task_)


@task(persist_result=True, **RETRY)
def open_correction_step(request_id: int, round: int, decision_id: int) -> int:
    """Sent back: the user gets the respondent's comments and a link to correct the request."""
    with session_scope() as s:
        req = get_row(s, AccessRequest, request_id)
        task_ = _open_task(s, req, TaskKind.correction, round, get_settings().correction_deadline_days)
        _set_status(s, req, RequestStatus.correction_requested)
        if not outbox.exists(s, request_id=request_id, kind="correction_requested", round=round,
                             recipient_role="user"):
            comments = correction_comments(get_row(s, Decision, decision_id), req.language)
            link = make_link_token(request_id=request_id, purpose="correct", revision=round,
                                   ttl=_until_deadline(task_))
            _enqueue(s, req, "correction_requested", round, "user", comments=comments,
                     link_url=link_url(link.token, "correct"), deadline=task_.due_at)
        return id_of(task_)


def enqueue_correction_reminder(session: Session, req: AccessRequest, task_: HumanTask, *, outbox_kind: str) -> None:
    """A reminder of a pending correction: the respondent's comments again and a fresh
    correction link, valid until the task's deadline (like the first one)."""
    request_id = id_of(req)
    comments = session.exec(select(Decision.reason).where(
        Decision.request_id == request_id, Decision.outcome == Outcome.send_back.value)
        .order_by(col(Decision.id).desc())).first()
    link = make_link_token(request_id=request_id, purpose="correct", revision=task_.round,
                           ttl=_until_deadline(task_))
    _enqueue(session, req, outbox_kind, task_.round, "user", template="correction_reminder",
             comments=comments or None, link_url=link_url(link.token, "correct"), deadline=task_.due_at)


def enqueue_authorizer_late(session: Session, req: AccessRequest, task_: HumanTask, *, outbox_kind: str) -> None:
    """The user told their authorizer has not answered yet (the authorizer's name and the
    deadline; no link: nothing for the user to act on)."""
    _enqueue(session, req, outbox_kind, task_.round, "user", template="authorizer_late", deadline=task_.due_at)


@task(persist_result=True, **RETRY)
def close_request(request_id: int, outcome: str, round: int, decision_id: int) -> str:
    """Ends a request that will not get credentials and tells the people concerned.
    ``outcome``: the request's final status (a :class:`RequestStatus`)."""
    status = RequestStatus(outcome)
    with session_scope() as s:
        req = get_row(s, AccessRequest, request_id)
        decision = get_row(s, Decision, decision_id)
        reason = decision.reason or ""
        # Tasks first, then the request (flushed apart: one flush would update the request
        # first): a decision on a task locks the task and then the request (models/audit.py).
        for t in s.exec(select(HumanTask).where(HumanTask.request_id == request_id,
                                                HumanTask.status == TaskStatus.open.value)):
            t.status = TaskStatus.cancelled.value
            t.closed_at = utcnow()
            s.add(t)
        s.flush()
        _set_status(s, req, status)
        if status is RequestStatus.refused_by_authorizer:
            _enqueue(s, req, "refused_by_authorizer", round, "user", reason=reason)
        elif status is RequestStatus.refused_by_ramq:
            _enqueue(s, req, "refused_by_ramq", round, "user", reason=reason)
            _enqueue(s, req, "refused_by_ramq", round, "authorizer", reason=reason)
        elif status is RequestStatus.expired:
            _enqueue(s, req, "request_expired", round, "user")
            _enqueue(s, req, "request_expired", round, "authorizer")
        elif status is RequestStatus.cancelled:
            # Who cancelled: the user (their cancel link) or the RAMQ (staff, with a reason).
            by = None if decision.outcome != Outcome.cancel else "user" if decision.actor == USER else "ramq"
            _enqueue(s, req, "request_cancelled", round, "user", reason=reason or None, cancelled_by=by)
            _enqueue(s, req, "request_cancelled", round, "authorizer", reason=reason or None, cancelled_by=by)
        audit(s, request_id, AuditEventKind.closed, actor=SYSTEM, outcome=outcome, round=round)
    return outcome


@task(persist_result=False, cache_policy=NO_CACHE, **RETRY)
def issue_credentials(request_id: int) -> int:
    """Creates the account and emails the temporary password to the user, and to nobody else.

    The password exists only in this function's memory and in that one email. The email's
    outbox row is claimed *before* the password is made: a second execution of this step (a
    restarted run while the first still sends) finds it taken and changes nothing. If sending
    fails after the hash was set, the retry makes a new password. Nothing here persists a result.
    """
    with session_scope() as s:
        req = get_row(s, AccessRequest, request_id)
        subject = compose("temporary_password", lang=req.language, **request_context(req),
                          temporary_password="-").subject
        recipient, lang = req.user_email, req.language

    def make_account_and_email():
        with session_scope() as s:
            req = get_row(s, AccessRequest, request_id)
            section4 = s.exec(select(RamqProcessing).where(RamqProcessing.request_id == request_id)).one()
            account = s.exec(select(Account).where(Account.request_id == request_id)).first()
            password = generate_temporary_password()
            if account is None:
                account = Account(username=not_null(section4.username), kind=AccountKind.issued.value, role="user",
                                  display_name=request_context(req)["user_name"], email=req.user_email,
                                  request_id=request_id, password_hash="")
            account.password_hash = hash_password(password)
            account.must_change_password = True
            account.temp_password_expires_at = utcnow() + timedelta(days=get_settings().temp_password_days)
            account.valid_from = section4.valid_from
            account.valid_until = section4.valid_until
            s.add(account)
            _set_status(s, req, RequestStatus.issuing_credentials)
            return compose("temporary_password", lang=req.language, **request_context(req),
                           temporary_password=password, valid_until=section4.valid_until)

    try:
        done = outbox.send_secret(request_id=request_id, kind="temporary_password", round=1,
                                  recipient=recipient, subject=subject, lang=lang,
                                  make_message=make_account_and_email)
    except outbox.SecretNotSent:
        raise DeliveryError(f"temporary password email failed for request {request_id}") from None
    if done is outbox.SecretSend.held:
        raise DeliveryError(f"temporary password email of request {request_id} is held by another sender")
    if done is outbox.SecretSend.already_sent:
        return request_id  # never a second password email
    with session_scope() as s:
        audit_once(s, request_id, AuditEventKind.password_sent, actor=SYSTEM)
    return request_id


@task(persist_result=True, **RETRY)
def send_username(request_id: int) -> int:
    """The username goes to the authorizer only, who transmits it securely (form, section 3)."""
    with session_scope() as s:
        req = get_row(s, AccessRequest, request_id)
        section4 = s.exec(select(RamqProcessing).where(RamqProcessing.request_id == request_id)).one()
        _enqueue(s, req, "username", 1, "authorizer", username=section4.username,
                 valid_until=section4.valid_until)
    return request_id


@task(persist_result=True, **RETRY)
def complete_request(request_id: int) -> str:
    with session_scope() as s:
        req = get_row(s, AccessRequest, request_id)
        if req.status != RequestStatus.completed.value:
            _set_status(s, req, RequestStatus.completed)
            audit(s, request_id, AuditEventKind.completed, actor=SYSTEM)
    return RequestStatus.completed.value
