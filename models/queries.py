"""Read-only queries for the screens: the respondents' queue, a request for review, the managers'
overview, the access of an issued account. Nothing here changes the database or decides
anything; every function opens its own short session and returns plain data (dicts and
dataclasses of values, never ORM objects), so a screen keeps only ids in its session state.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, literal_column, or_
from sqlalchemy import select as sa_select
from sqlalchemy import table as text_table
from sqlmodel import col, select

from models.db import get_engine, get_row, read_scope
from models.enums import FINAL_STATUSES, AccountKind, AuditEventKind, Outcome, TaskKind, TaskStatus
from models.request_store import latest_authorization, request_to_canonical
from models.settings import get_settings
from models.tables import (
    AccessRequest,
    Account,
    AuditEvent,
    Decision,
    HumanTask,
    RamqProcessing,
    id_of,
    quebec_today,
    utcnow,
)

QUEUE_SORTS = ("due_at", "created_at", "reference", "establishment_number")
CLAIM_FILTERS = ("any", "mine", "unclaimed")
QUEUE_LIMIT = 500
OVERVIEW_LIMIT = 200


# --- Accounts ------------------------------------------------------------------------------------


def staff_session(account_id: int | None) -> dict | None:
    """The staff login behind a session, re-read on every page run: None once the account is
    gone, disabled, or not a staff account (so a revoked login stops at the next click)."""
    if not account_id:
        return None
    with read_scope() as s:
        account = s.get(Account, account_id)
        if account is None or account.kind != AccountKind.staff.value or account.disabled:
            return None
        return {"account_id": account.id, "username": account.username, "role": account.role,
                "display_name": account.display_name or account.username}


def issued_access(account_id: int | None, *, today: date | None = None) -> dict | None:
    """What an issued account grants (Mon accès): applications, registers, establishments,
    validity. None for an unknown, disabled, expired or non-issued account."""
    if not account_id:
        return None
    today = today or quebec_today()
    with read_scope() as s:
        account = s.get(Account, account_id)
        if account is None or account.kind != AccountKind.issued.value or account.disabled:
            return None
        if (account.valid_from and today < account.valid_from) or (
                account.valid_until and today > account.valid_until):
            return None
        req = s.get(AccessRequest, account.request_id) if account.request_id else None
        return {
            "account_id": account.id,
            "username": account.username,
            "display_name": account.display_name,
            "must_change_password": bool(account.must_change_password),
            "valid_from": account.valid_from,
            "valid_until": account.valid_until,
            "reference": req.reference if req else None,
            "applications": list(req.applications or []) if req else [],
            "organization_type": req.organization_type if req else None,
            "register_scope": req.register_scope if req else None,
            "establishment_name": req.establishment_name if req else None,
            "establishment_number": req.establishment_number if req else None,
            "additional_establishment_numbers":
                list(req.additional_establishment_numbers or []) if req else [],
        }


# --- The respondents' queue ------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    task_id: int
    request_id: int
    reference: str
    round: int
    organization_type: str
    establishment_number: str
    establishment_name: str
    user_name: str
    created_at: datetime  # when the task entered the queue
    due_at: datetime | None
    claimed_by: str | None
    overdue: bool
    age_days: int
    stale: bool = False  # claimed and untouched for RAMQ_STALE_CLAIM_HOURS


def is_stale(task: HumanTask, now: datetime) -> bool:
    """A claim nobody has acted on for a while: the holder may be away (their tasks wait)."""
    return _stale(task.claimed_by, task.claimed_at, now)


def _stale(claimed_by: str | None, claimed_at: datetime | None, now: datetime) -> bool:
    return bool(claimed_by and claimed_at
                and claimed_at < now - timedelta(hours=get_settings().stale_claim_hours))


# What the queues show, read as columns: building 500 whole tasks and requests (every column of
# the form) took longer than the query itself.
_QUEUE_TASK = (HumanTask.id, HumanTask.request_id, HumanTask.round, HumanTask.created_at, HumanTask.due_at,
               HumanTask.claimed_by, HumanTask.claimed_at)
_QUEUE_REQUEST = (AccessRequest.reference, AccessRequest.organization_type, AccessRequest.establishment_number,
                  AccessRequest.establishment_name, AccessRequest.user_first_name, AccessRequest.user_last_name)


def list_queue(
    *,
    organization_types: Iterable[str] | None = None,
    establishment_number: str | None = None,
    min_age_days: int | None = None,
    overdue_only: bool = False,
    claim: str = "any",
    staff: str | None = None,
    sort: str = "due_at",
    descending: bool = False,
    limit: int = QUEUE_LIMIT,
    now: datetime | None = None,
) -> list[QueueRow]:
    """Open respondent tasks with their request, filtered and sorted in the database."""
    now = now or utcnow()
    stmt = (
        sa_select(*(col(c) for c in (*_QUEUE_TASK, *_QUEUE_REQUEST)))
        .join(AccessRequest, col(AccessRequest.id) == col(HumanTask.request_id))
        .where(col(HumanTask.kind) == TaskKind.respondent.value,
               col(HumanTask.status) == TaskStatus.open.value)
    )
    orgs = [o for o in (organization_types or []) if o]
    if orgs:
        stmt = stmt.where(col(AccessRequest.organization_type).in_(orgs))
    number = (establishment_number or "").strip()
    if number:
        stmt = stmt.where(col(AccessRequest.establishment_number).startswith(number, autoescape=True))
    if min_age_days:
        stmt = stmt.where(col(HumanTask.created_at) <= now - timedelta(days=int(min_age_days)))
    if overdue_only:
        stmt = stmt.where(col(HumanTask.due_at).is_not(None), col(HumanTask.due_at) < now)
    if claim == "mine":
        stmt = stmt.where(col(HumanTask.claimed_by) == (staff or ""))
    elif claim == "unclaimed":
        stmt = stmt.where(col(HumanTask.claimed_by).is_(None))
    column = {
        "due_at": col(HumanTask.due_at),
        "created_at": col(HumanTask.created_at),
        "reference": col(AccessRequest.reference),
        "establishment_number": col(AccessRequest.establishment_number),
    }.get(sort, col(HumanTask.due_at))
    stmt = stmt.order_by(column.desc() if descending else column.asc(), col(HumanTask.id).asc())
    stmt = stmt.limit(max(1, min(int(limit), QUEUE_LIMIT)))
    rows: list[QueueRow] = []
    with read_scope() as s:
        for (task_id, request_id, round_, created_at, due_at, claimed_by, claimed_at, reference, org,
             number, name, first_name, last_name) in s.execute(stmt).all():
            rows.append(QueueRow(
                task_id=task_id, request_id=request_id, reference=reference or "",
                round=round_, organization_type=org, establishment_number=number,
                establishment_name=name, user_name=f"{first_name} {last_name}",
                created_at=created_at, due_at=due_at, claimed_by=claimed_by,
                overdue=bool(due_at and due_at < now),
                age_days=max(0, (now - created_at).days), stale=_stale(claimed_by, claimed_at, now),
            ))
    return rows


def claimed_tasks(now: datetime | None = None) -> list[dict]:
    """Every open task someone has claimed (respondent and countersign), stale ones first, for
    the managers who release or reassign them."""
    now = now or utcnow()
    stmt = (select(HumanTask, AccessRequest).join(AccessRequest, col(AccessRequest.id) == col(HumanTask.request_id))
            .where(HumanTask.status == TaskStatus.open.value, col(HumanTask.claimed_by).is_not(None))
            .order_by(col(HumanTask.claimed_at).asc(), col(HumanTask.id).asc()))
    with read_scope() as s:
        return [{"task_id": id_of(task), "request_id": id_of(req), "reference": req.reference, "kind": task.kind,
                 "claimed_by": task.claimed_by, "claimed_at": task.claimed_at, "due_at": task.due_at,
                 "stale": is_stale(task, now), "overdue": bool(task.due_at and task.due_at < now)}
                for task, req in s.exec(stmt).all()]


def staff_of_role(role: str) -> list[str]:
    """Usernames of the active staff of a role (the people a task can be given to)."""
    with read_scope() as s:
        return list(s.exec(select(Account.username).where(Account.kind == AccountKind.staff.value,
                                                          Account.role == role, col(Account.disabled).is_(False))
                           .order_by(col(Account.username))).all())


def task_summary(task_id: int | None) -> dict | None:
    """One human task and its request's headline (for the review screen)."""
    if not task_id:
        return None
    with read_scope() as s:
        task = s.get(HumanTask, task_id)
        if task is None:
            return None
        req = get_row(s, AccessRequest, task.request_id)
        returned = None
        if task.kind == TaskKind.respondent.value and task.attempt > 1:
            returned = _countersign_refusal(s, task.request_id, task.round, task.attempt - 1)
        return {"task_id": task.id, "kind": task.kind, "round": task.round, "attempt": task.attempt,
                "status": task.status, "returned_reason": returned,
                "claimed_by": task.claimed_by, "claimed_at": task.claimed_at,
                "due_at": task.due_at, "created_at": task.created_at,
                "overdue": bool(task.due_at and task.due_at < utcnow()),
                "request_id": req.id, "reference": req.reference, "request_status": req.status}


def _countersign_refusal(s, request_id: int, round: int, attempt: int) -> str | None:
    """The reason the SOES gave when returning an approval to the respondent."""
    return s.exec(select(Decision.reason).join(HumanTask, col(HumanTask.id) == col(Decision.task_id)).where(
        HumanTask.request_id == request_id, HumanTask.kind == TaskKind.countersign.value,
        HumanTask.round == round, HumanTask.attempt == attempt,
        Decision.outcome == Outcome.refuse.value)).first()


# --- The SOES's countersign queue ------------------------------------------------------------------


@dataclass(frozen=True)
class CountersignRow:
    task_id: int
    request_id: int
    reference: str
    user_name: str
    applications: list[str]
    respondent: str | None  # who approved (section 4's respondent)
    approved_at: datetime | None
    created_at: datetime
    due_at: datetime | None
    overdue: bool
    claimed_by: str | None


def list_countersign_queue(*, claim: str = "any", staff: str | None = None, limit: int = QUEUE_LIMIT,
                           now: datetime | None = None) -> list[CountersignRow]:
    """Open countersign tasks with their request and section 4, the oldest due first."""
    now = now or utcnow()
    stmt = (
        sa_select(col(HumanTask.id), col(HumanTask.request_id), col(HumanTask.created_at), col(HumanTask.due_at),
               col(HumanTask.claimed_by), col(AccessRequest.reference), col(AccessRequest.user_first_name),
               col(AccessRequest.user_last_name), col(AccessRequest.applications),
               col(RamqProcessing.respondent_id), col(RamqProcessing.respondent_signed_at))
        .join(AccessRequest, col(AccessRequest.id) == col(HumanTask.request_id))
        .join(RamqProcessing, col(RamqProcessing.request_id) == col(HumanTask.request_id), isouter=True)
        .where(col(HumanTask.kind) == TaskKind.countersign.value, col(HumanTask.status) == TaskStatus.open.value)
    )
    if claim == "mine":
        stmt = stmt.where(col(HumanTask.claimed_by) == (staff or ""))
    elif claim == "unclaimed":
        stmt = stmt.where(col(HumanTask.claimed_by).is_(None))
    stmt = stmt.order_by(col(HumanTask.due_at).asc(), col(HumanTask.id).asc())
    stmt = stmt.limit(max(1, min(int(limit), QUEUE_LIMIT)))
    with read_scope() as s:
        return [CountersignRow(
            task_id=task_id, request_id=request_id, reference=reference or "",
            user_name=f"{first_name} {last_name}", applications=list(applications or []),
            respondent=respondent, approved_at=approved_at, created_at=created_at, due_at=due_at,
            overdue=bool(due_at and due_at < now), claimed_by=claimed_by,
        ) for (task_id, request_id, created_at, due_at, claimed_by, reference, first_name, last_name,
               applications, respondent, approved_at) in s.execute(stmt).all()]


def request_review(request_id: int) -> dict | None:
    """Everything a respondent reads before deciding: every section, both signatures (base64
    inside the canonical request), when each was signed, section 4 if any, earlier decisions."""
    with read_scope() as s:
        req = s.get(AccessRequest, request_id)
        if req is None:
            return None
        auth = latest_authorization(s, request_id)
        section4 = s.exec(select(RamqProcessing).where(RamqProcessing.request_id == req.id)).first()
        decisions = s.exec(
            select(Decision, HumanTask).join(HumanTask, col(HumanTask.id) == col(Decision.task_id))
            .where(Decision.request_id == req.id).order_by(col(Decision.id))
        ).all()
        return {
            "request_id": req.id,
            "reference": req.reference,
            "status": req.status,
            "revision": req.revision,
            "created_at": req.created_at,
            "user_signed_at": req.user_signed_at,
            "authorization_signed_at": auth.signed_at if auth else None,
            "authorization_revision": auth.revision if auth else None,
            "request": request_to_canonical(req, auth),
            "section4": None if section4 is None else {
                "registration_date": section4.registration_date,
                "reference_number": section4.reference_number,
                "username": section4.username,
                "valid_from": section4.valid_from,
                "valid_until": section4.valid_until,
                "respondent_id": section4.respondent_id,
                "respondent_signed_at": section4.respondent_signed_at,
                "soes_signed_by": section4.soes_signed_by,
                "soes_signed_at": section4.soes_signed_at,
            },
            "decisions": [
                {"kind": task.kind, "round": task.round, "attempt": task.attempt, "outcome": d.outcome,
                 "reason": d.reason,
                 "actor": d.actor, "at": d.created_at}
                for d, task in decisions
            ],
        }


def signed_record(request_id: int) -> dict | None:
    """The request's signed record (revisions, signatures and their verdicts, section 4), as
    ``ramq-access export`` prints it, without the images."""
    from models.record import build_record

    with read_scope() as s:
        req = s.get(AccessRequest, request_id)
        return None if req is None else build_record(s, req)


def record_pdf(request_id: int, lang: str = "fr") -> bytes | None:
    """The sealed PDF of the request's form (the download buttons of the screens)."""
    from models.record import sealed_pdf

    with read_scope() as s:
        req = s.get(AccessRequest, request_id)
        return None if req is None else sealed_pdf(s, req, lang=lang)


# --- Managers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverviewRow:
    request_id: int
    reference: str
    status: str
    created_at: datetime
    updated_at: datetime
    last_event: str | None
    last_event_at: datetime | None
    flow_run_id: str | None


def requests_overview(*, statuses: Iterable[str] | None = None, reference_contains: str | None = None,
                      limit: int = OVERVIEW_LIMIT) -> list[OverviewRow]:
    """The most recent requests with their state and last step (read-only)."""
    stmt = select(AccessRequest)
    wanted = [x for x in (statuses or []) if x]
    if wanted:
        stmt = stmt.where(col(AccessRequest.status).in_(wanted))
    ref = (reference_contains or "").strip().upper()
    if ref:
        stmt = stmt.where(col(AccessRequest.reference).contains(ref, autoescape=True))
    stmt = stmt.order_by(col(AccessRequest.created_at).desc(), col(AccessRequest.id).desc())
    stmt = stmt.limit(max(1, min(int(limit), 1000)))
    with read_scope() as s:
        reqs = s.exec(stmt).all()
        ids = [r.id for r in reqs]
        last: dict[int, AuditEvent] = {}
        if ids:
            latest_ids = select(func.max(AuditEvent.id)).where(
                col(AuditEvent.request_id).in_(ids)).group_by(col(AuditEvent.request_id))
            for ev in s.exec(select(AuditEvent).where(col(AuditEvent.id).in_(latest_ids))).all():
                last[ev.request_id] = ev
        return [
            OverviewRow(
                request_id=id_of(r), reference=r.reference or "", status=r.status,
                created_at=r.created_at, updated_at=r.updated_at,
                last_event=last[r.id].event if r.id in last else None,
                last_event_at=last[r.id].at if r.id in last else None,
                flow_run_id=r.flow_run_id,
            )
            for r in reqs
        ]


SEARCH_LIMIT = 50


def search_key():
    """Every searched column in one text, separated by spaces: ``reference``, establishment
    number, the user's and the authorizer's names and emails. Migration 0011 indexes exactly
    this expression with trigrams on PostgreSQL (keep both identical): constants are rendered
    inline, a bound parameter would make a different expression."""
    space: Any = literal_column("' '")
    parts = [func.coalesce(col(AccessRequest.reference), literal_column("''")),
             *(col(c) for c in (AccessRequest.establishment_number, AccessRequest.user_first_name,
                                AccessRequest.user_last_name, AccessRequest.user_email,
                                AccessRequest.authorizer_first_name, AccessRequest.authorizer_last_name,
                                AccessRequest.authorizer_email))]
    key = parts[0]
    for part in parts[1:]:
        key = key.concat(space).concat(part)
    return key


# SQLite: the FTS5 trigram index of the searched columns (migration 0014; keep both identical).
SEARCH_TABLE = "access_request_search"


def has_search_table(engine) -> bool:
    """Whether this SQLite database has the search's trigram index (a SQLite without FTS5's
    trigram tokenizer migrates without it, and the search scans). A look in the schema, well
    under a millisecond: no cache to go stale when a database is migrated down and up."""
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                    (SEARCH_TABLE,)).first() is not None


def compact_search_index() -> None:
    """After a purge: FTS5 records a change as a delete marker beside the old entries, so the
    trigrams of purged names would stay in the index's pages until a merge. ``optimize`` merges
    the index into one segment without them (a second or so at 100,000 requests; the purge runs
    once a day)."""
    engine = get_engine()
    if engine.dialect.name == "sqlite" and has_search_table(engine):
        with engine.begin() as conn:
            conn.exec_driver_sql(f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}) VALUES ('optimize')")


def search_requests(text: str, *, limit: int = SEARCH_LIMIT) -> list[dict]:
    """Staff search over every request (closed ones too): reference, the user's and the
    authorizer's names and emails, the establishment number. Names and references are stored
    in capitals and emails in lower case, so the words are compared that way; on PostgreSQL each
    word is looked for as typed, in capitals and in lower case in :func:`search_key` (one
    expression, trigram-indexed; a word has no space, so it never matches across two columns).
    Every word must match somewhere (« tremblay 12345 »). Most recent first."""
    # NFC, as names and emails are stored (models.rules): an « é » typed as « e » and an accent
    # (a decomposed keyboard's) is the same letter.
    words = [unicodedata.normalize("NFC", w) for w in (text or "").split() if w][:5]
    if not words:
        return []
    stmt = select(AccessRequest)
    engine = get_engine()
    indexed = engine.dialect.name == "postgresql"
    full_text = not indexed and has_search_table(engine)
    key = search_key()
    names = (AccessRequest.user_first_name, AccessRequest.user_last_name,
             AccessRequest.authorizer_first_name, AccessRequest.authorizer_last_name)
    for word in words:
        if indexed:  # one expression, the trigram index's
            forms = dict.fromkeys((word, word.upper(), word.lower()))  # distinct, in order
            stmt = stmt.where(or_(*(key.contains(form, autoescape=True) for form in forms)))
        elif full_text and len(word) >= 3:  # SQLite's trigram index (migration 0014), any case
            phrase = '"' + word.replace('"', '""') + '"'  # a quoted phrase: no FTS5 syntax in it
            stmt = stmt.where(col(AccessRequest.id).in_(
                sa_select(literal_column("rowid")).select_from(text_table(SEARCH_TABLE))
                .where(literal_column(SEARCH_TABLE).op("MATCH")(phrase))))
        else:  # SQLite scans: column by column is cheaper than building the key for each row
            stmt = stmt.where(or_(
                col(AccessRequest.reference).contains(word.upper(), autoescape=True),
                col(AccessRequest.establishment_number).contains(word, autoescape=True),
                col(AccessRequest.user_email).contains(word.lower(), autoescape=True),
                col(AccessRequest.authorizer_email).contains(word.lower(), autoescape=True),
                *(col(name).contains(word.upper(), autoescape=True) for name in names)))
    # SQLite would read the rows in the order of ix_access_request_period, one lookup
    # each: for a rare word, 4 times slower than its scan and sort (« + » keeps the index out).
    newest = col(AccessRequest.created_at) if indexed else literal_column("+access_request.created_at")
    stmt = stmt.order_by(newest.desc(), col(AccessRequest.id).desc())
    with read_scope() as s:
        return [{"request_id": id_of(r), "reference": r.reference, "status": r.status,
                 "user": f"{r.user_first_name} {r.user_last_name}", "user_email": r.user_email,
                 "authorizer": f"{r.authorizer_first_name} {r.authorizer_last_name}",
                 "establishment_number": r.establishment_number, "created_at": r.created_at}
                for r in s.exec(stmt.limit(max(1, min(int(limit), 200)))).all()]


def status_counts() -> dict[str, int]:
    with read_scope() as s:
        rows = s.exec(select(AccessRequest.status, func.count()).group_by(AccessRequest.status)).all()
        return {status: int(n) for status, n in rows}


def open_task_counts(now: datetime | None = None) -> dict[str, dict[str, int]]:
    """Open human tasks per kind: how many, and how many past their due date."""
    now = now or utcnow()
    result = {kind.value: {"open": 0, "overdue": 0} for kind in TaskKind}
    with read_scope() as s:
        for kind, n in s.exec(select(HumanTask.kind, func.count()).where(
                HumanTask.status == TaskStatus.open.value).group_by(HumanTask.kind)).all():
            result.setdefault(kind, {"open": 0, "overdue": 0})["open"] = int(n)
        for kind, n in s.exec(select(HumanTask.kind, func.count()).where(
                HumanTask.status == TaskStatus.open.value, col(HumanTask.due_at).is_not(None),
                col(HumanTask.due_at) < now).group_by(HumanTask.kind)).all():
            result.setdefault(kind, {"open": 0, "overdue": 0})["overdue"] = int(n)
    return result


def request_timeline(request_id: int) -> list[dict]:
    """The audit events of one request in order, each with the time since the previous one."""
    with read_scope() as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.request_id == request_id)
                        .order_by(col(AuditEvent.at), col(AuditEvent.id))).all()
        out: list[dict] = []
        previous: datetime | None = None
        for ev in events:
            out.append({"at": ev.at, "event": ev.event, "actor": ev.actor,
                        "since_previous": (ev.at - previous) if previous else None})
            previous = ev.at
        return out


# The requester's status page (ui/screens/status.py): which audit events it shows, under which
# step (``labels.status_step.<step>``). Staff-internal events (claims, reminders, runs, the SOES
# returning an approval to the respondent) are not steps the requester needs to see.
STATUS_STEPS: dict[str, str] = {
    AuditEventKind.submitted: "submitted",
    AuditEventKind.authorizer_task_opened: "sent_to_authorizer",
    AuditEventKind.authorizer_authorize: "authorized",
    AuditEventKind.authorizer_refuse: "refused_by_authorizer",
    AuditEventKind.authorizer_expire: "expired",
    AuditEventKind.respondent_task_opened: "ramq_review",
    AuditEventKind.respondent_approve: "approved",
    AuditEventKind.respondent_refuse: "refused_by_ramq",
    AuditEventKind.respondent_send_back: "correction_requested",
    AuditEventKind.countersign_countersign: "countersigned",
    AuditEventKind.countersign_expire: "expired",
    AuditEventKind.correction_resubmit: "corrected",
    AuditEventKind.resubmitted: "corrected",
    AuditEventKind.correction_expire: "expired",
    AuditEventKind.password_sent: "credentials_sent",
    AuditEventKind.completed: "completed",
    AuditEventKind.closed: "closed",
    AuditEventKind.authorizer_cancel: "cancelled",
    AuditEventKind.respondent_cancel: "cancelled",
    AuditEventKind.countersign_cancel: "cancelled",
    AuditEventKind.correction_cancel: "cancelled",
    AuditEventKind.authorizer_reassign_authorizer: "correction_requested",  # the RAMQ asks for another authorizer
}


def request_status_view(request_id: int) -> dict | None:
    """What the requester's status link may show, and nothing else: the reference, the status,
    whether it is closed, and the steps (``{"step", "at"}``, oldest first; the same step twice
    in a row is shown once). No name, address, username, reason, comment or section content:
    the audit events' actors and details are never read out. ``None``: no such request."""
    with read_scope() as s:
        req = s.get(AccessRequest, request_id)
        if req is None:
            return None
        rows = s.exec(select(AuditEvent.event, AuditEvent.at).where(AuditEvent.request_id == request_id)
                      .order_by(col(AuditEvent.at), col(AuditEvent.id))).all()
        steps: list[dict] = []
        for event, at in rows:
            step = STATUS_STEPS.get(event)
            if step is None or (steps and steps[-1]["step"] == step):
                continue
            steps.append({"step": step, "at": at})
        return {"reference": req.reference, "status": req.status,
                "closed": req.status in FINAL_STATUSES, "steps": steps}


def request_id_by_reference(reference: str) -> int | None:
    with read_scope() as s:
        return s.exec(select(AccessRequest.id).where(
            AccessRequest.reference == (reference or "").strip().upper())).first()


# --- Runs needing a person (managers' page) ---------------------------------------------------------


@dataclass(frozen=True)
class OpenRunRow:
    request_id: int
    reference: str
    status: str
    flow_run_id: str | None
    run_stuck_at: datetime | None
    run_restarts: int


def open_requests_runs(*, limit: int = 2000) -> list[OpenRunRow]:
    """Every request not closed yet that has a flow run or was flagged stuck by the sweeper
    (restarting did not help), the flagged first: what the managers' page checks against the
    run states Prefect reports, whatever the page's filters."""
    from models.enums import FINAL_STATUSES

    final = [x.value for x in FINAL_STATUSES]
    stmt = (
        select(AccessRequest)
        .where(col(AccessRequest.status).not_in(final),
               (col(AccessRequest.flow_run_id).is_not(None))
               | (col(AccessRequest.run_stuck_at).is_not(None)))
        .order_by(col(AccessRequest.run_stuck_at).is_(None), col(AccessRequest.run_stuck_at).desc(),
                  col(AccessRequest.created_at).desc(), col(AccessRequest.id).desc())
        .limit(max(1, int(limit)))
    )
    with read_scope() as s:
        return [OpenRunRow(request_id=id_of(r), reference=r.reference or "", status=r.status,
                           flow_run_id=r.flow_run_id, run_stuck_at=r.run_stuck_at,
                           run_restarts=int(r.run_restarts or 0))
                for r in s.exec(stmt).all()]


def request_access_state(request_id: int, *, today: date | None = None) -> dict | None:
    """The issued account of a request as the staff see it (« Rechercher une demande »): its
    state (``active``, ``revoked``, ``expired``), validity, and when it was last revoked. None
    when no account was issued. No username, no hash."""
    today = today or quebec_today()
    with read_scope() as s:
        account = s.exec(select(Account).where(Account.request_id == request_id,
                                               Account.kind == AccountKind.issued.value)).first()
        if account is None:
            return None
        revoked_at = s.exec(select(func.max(AuditEvent.at)).where(
            AuditEvent.request_id == request_id, AuditEvent.event == "access_revoked")).one()
        expired = account.valid_until is not None and account.valid_until < today
        return {"state": "revoked" if account.disabled else "expired" if expired else "active",
                "valid_from": account.valid_from, "valid_until": account.valid_until,
                "revoked_at": revoked_at if account.disabled else None}
