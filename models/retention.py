"""The retention purge: the personal data of requests closed long ago is removed.

A request closed (``FINAL_STATUSES``) more than ``RAMQ_RETENTION_DAYS`` ago (2555 days, about
7 years, by default), counted from ``closed_at``, whose issued access (if any) is no longer
valid, is anonymized in place:

- removed: every name, email, phone, fax, address, postal code, function, sex, establishment
  name, existing username and signature image of sections 2 and 3; the revisions' and
  signatures' content (what each signer saw) and images, and the name of a signer who is not
  RAMQ staff; the username of section 4; the decisions' reasons; the emails' recipients,
  subjects, bodies and SMTP answers; the issued account's username (replaced by
  ``purged-<id>``), display name, email and password hash (the account is disabled);
- kept: the reference, status, dates, language, organization type, register scope,
  applications, establishment numbers (organizations, not people), revision numbers, RAMQ
  staff usernames, task and decision outcomes, validity dates, every hash, and the audit
  history, whose details hold identifiers, except the free-text reasons staff gave for a
  revocation, a restoration or a reassignment: those are replaced by ``[purged]`` (the one
  change migration 0009 allows on an audit event), and the purge's own ``purged`` event records
  each redacted event's new hash, so the chain still verifies (``models.audit.verify_chain``);
  in short, what the managers' page counts and the durations between steps.

Revisions and signatures stay append-only: migration 0009 lets a row be updated once, into
exactly this purged form, and never again. Each request is purged in its own transaction,
claimed first by a conditional update of ``access_request.purged_at``, so two purges at once
purge it once, with one ``purged`` audit event. The sweeper runs :func:`purge_daily` (when
``RAMQ_PURGE_ENABLED``): the ``daily_job`` row of the day is the claim, so one sweeper a day
does it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.audit import SYSTEM, audit, redacted_hash
from models.db import session_scope
from models.enums import FINAL_STATUSES, AccountKind, AuditEventKind, EmailStatus, SignerRole
from models.settings import get_settings
from models.tables import (
    AccessRequest,
    Account,
    AuditEvent,
    Authorization,
    DailyJob,
    Decision,
    OutboxEmail,
    RamqProcessing,
    RequestRevision,
    Signature,
    not_null,
    quebec_today,
    utcnow,
)

# What a purged revision's or signature's content becomes (migration 0009 allows only this).
PURGED_CONTENT = {"purged": True}
# What a free-text reason in an audit event becomes (migration 0009 allows only this).
REDACTED = "[purged]"
JOB = "retention_purge"

# Section 2 (and the authorizer named) on access_request: text columns emptied (NOT NULL ones
# become "", the optional ones NULL), the signature image emptied.
_REQUEST_BLANKS: dict = {
    "user_first_name": "", "user_last_name": "", "user_sex": "", "user_function": "", "user_email": "",
    "user_phone": "", "user_extension": None, "user_fax": None, "establishment_name": "", "user_address": "",
    "user_postal_code": "", "user_signature": {}, "existing_username": None,
    "authorizer_first_name": "", "authorizer_last_name": "", "authorizer_email": "",
}
_SECTION3_BLANKS: dict = {
    "sex": "", "function": "", "phone": "", "extension": None, "fax": None, "organization_name": "",
    "address": "", "postal_code": "", "signature": {},
}
_EMAIL_BLANKS: dict = {"recipient": "", "subject": "", "body_text": None, "body_html": None,
                       "smtp_response": None, "last_error": None}
# Signers whose name is personal data (the others are RAMQ staff usernames, kept like the
# decisions' actors).
_PERSONAL_SIGNERS = (SignerRole.user.value, SignerRole.authorizer.value)


@dataclass(frozen=True)
class PurgeResult:
    older_than_days: int
    cutoff: datetime
    dry_run: bool
    # Dry run: the requests that would be purged; otherwise those this call purged.
    references: list[str] = field(default_factory=list)


def cutoff_of(now: datetime, older_than_days: int) -> datetime:
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1")
    return now - timedelta(days=older_than_days)


def _due(cutoff: datetime):
    """Closed before ``cutoff``, not purged yet, and no issued access still valid today (a short
    ``--older-than`` never takes away an access in use: it waits until the access ended)."""
    live_access = select(Account.id).where(col(Account.request_id) == col(AccessRequest.id),
                                           Account.kind == AccountKind.issued.value,
                                           col(Account.valid_until) >= quebec_today())
    return (col(AccessRequest.status).in_([s.value for s in FINAL_STATUSES]),
            col(AccessRequest.closed_at).is_not(None), col(AccessRequest.closed_at) < cutoff,
            col(AccessRequest.purged_at).is_(None), ~live_access.exists())


def due_for_purge(session: Session, cutoff: datetime) -> list[tuple[int, str]]:
    """(id, reference) of the closed requests not yet purged that closed before ``cutoff``."""
    rows = session.exec(select(AccessRequest.id, AccessRequest.reference).where(*_due(cutoff))
                        .order_by(col(AccessRequest.closed_at), col(AccessRequest.id))).all()
    return [(not_null(i), r or "") for i, r in rows]


def purge_request(session: Session, request_id: int, *, cutoff: datetime, now: datetime,
                  older_than_days: int, actor: str = SYSTEM) -> bool:
    """Anonymizes one request in the caller's transaction. False when it is not (or no longer)
    due: another purge took it first, or it was reopened, or it closed after ``cutoff``."""
    claimed = session.exec(update(AccessRequest).where(col(AccessRequest.id) == request_id, *_due(cutoff))
                           .values(purged_at=now, **_REQUEST_BLANKS))
    if claimed.rowcount != 1:
        return False
    session.exec(update(RequestRevision).where(col(RequestRevision.request_id) == request_id,
                                               col(RequestRevision.purged_at).is_(None))
                 .values(purged_at=now, content=PURGED_CONTENT))
    session.exec(update(Signature).where(col(Signature.request_id) == request_id, col(Signature.purged_at).is_(None))
                 .values(purged_at=now, content=PURGED_CONTENT, image={},
                         signer=case((col(Signature.role).in_(_PERSONAL_SIGNERS), ""), else_=col(Signature.signer))))
    session.exec(update(Authorization).where(col(Authorization.request_id) == request_id).values(**_SECTION3_BLANKS))
    session.exec(update(RamqProcessing).where(col(RamqProcessing.request_id) == request_id).values(username=None))
    session.exec(update(Decision).where(col(Decision.request_id) == request_id).values(reason=None))
    # An email still waiting would go to nobody: it is given up.
    session.exec(update(OutboxEmail).where(col(OutboxEmail.request_id) == request_id,
                                           col(OutboxEmail.status) == EmailStatus.pending.value)
                 .values(status=EmailStatus.failed.value))
    session.exec(update(OutboxEmail).where(col(OutboxEmail.request_id) == request_id).values(**_EMAIL_BLANKS))
    for account in session.exec(select(Account).where(Account.request_id == request_id,
                                                      Account.kind == AccountKind.issued.value)).all():
        account.username = f"purged-{account.id}"
        account.display_name = ""
        account.email = None
        account.password_hash = "!"  # no password verifies against it
        account.disabled = True
        session.add(account)
    session.flush()
    redacted = _redact_audit_reasons(session, request_id, now)
    detail: dict[str, Any] = {"older_than_days": older_than_days}
    if redacted:
        detail["redacted"] = redacted
    audit(session, request_id, AuditEventKind.purged, actor=actor, **detail)
    return True


def _redact_audit_reasons(session: Session, request_id: int, now: datetime) -> dict[str, str]:
    """The free-text ``reason`` of the request's audit events (a revocation's, a restoration's,
    a reassignment's: staff may have named someone) replaced by :data:`REDACTED`, the only
    change migration 0009 allows on an audit event. Returns event id → the redacted event's
    hash, for the ``purged`` event to record (so ``verify_chain`` still checks them)."""
    hashes: dict[str, str] = {}
    for ev in session.exec(select(AuditEvent).where(AuditEvent.request_id == request_id,
                                                    col(AuditEvent.purged_at).is_(None))
                           .order_by(col(AuditEvent.id))).all():
        reason = (ev.detail or {}).get("reason")
        if not isinstance(reason, str):
            continue
        detail = {**ev.detail, "reason": REDACTED}
        session.exec(update(AuditEvent).where(col(AuditEvent.id) == ev.id).values(purged_at=now, detail=detail))
        session.flush()
        session.refresh(ev)
        hashes[str(ev.id)] = redacted_hash(ev)
    return hashes


def purge(*, older_than_days: int | None = None, now: datetime | None = None, dry_run: bool = False,
          actor: str = SYSTEM) -> PurgeResult:
    """Purges every request due (``older_than_days``: the retention setting unless told), one
    transaction each. ``dry_run``: only says which ones, changes nothing."""
    now = now or utcnow()
    days = get_settings().retention_days if older_than_days is None else older_than_days
    cutoff = cutoff_of(now, days)
    with session_scope() as s:
        due = due_for_purge(s, cutoff)
    if dry_run:
        return PurgeResult(days, cutoff, True, [ref for _, ref in due])
    purged = []
    for request_id, reference in due:
        with session_scope() as s:
            if purge_request(s, request_id, cutoff=cutoff, now=now, older_than_days=days, actor=actor):
                purged.append(reference)
    # Always, not only when this run purged: a run killed before this line left its blanked
    # names in the search index's pages, and the next run may find nothing more to purge.
    from models.queries import compact_search_index

    compact_search_index()
    return PurgeResult(days, cutoff, False, purged)


def claim_daily(job: str, day: date, now: datetime) -> bool:
    """Whether this caller is the first to claim ``job`` for ``day`` (the row's primary key
    refuses a second claim, whichever sweeper tries)."""
    try:
        with session_scope() as s:
            if s.get(DailyJob, (job, day)) is not None:
                return False
            s.add(DailyJob(job=job, day=day, claimed_at=now))
        return True
    except IntegrityError:
        return False


def purge_daily(now: datetime | None = None, *, day: date | None = None) -> list[str]:
    """The sweeper's part: once a day (the first sweeper to claim the day), when enabled, the
    purge with the retention setting. A purge stopped half-way goes on the next day."""
    if not get_settings().purge_enabled:
        return []
    now = now or utcnow()
    if not claim_daily(JOB, day or now.astimezone(ZoneInfo(get_settings().timezone)).date(), now):
        return []
    return purge(now=now).references
