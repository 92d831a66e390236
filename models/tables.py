"""The application database: the source of truth for requests, human tasks, decisions and audit.

Prefect only ever sees ``AccessRequest.id``. Times are stored as timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import JSON, Column, DateTime, Index, Table, Text, UniqueConstraint
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from models.enums import EmailStatus, RequestStatus, TaskStatus


def utcnow() -> datetime:
    return datetime.now(UTC)


def quebec_today() -> date:
    """Today's date where the people are (America/Montreal): registration dates, validity
    periods and resolutions are Québec dates, not UTC ones."""
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("America/Montreal")).date()


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC on every backend (SQLite forgets the zone; this puts it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime refused: store timezone-aware UTC")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


_T = TypeVar("_T")


def not_null(value: _T | None) -> _T:
    """A value that is there by now, from a column declared optional: a selected primary key,
    a column the query filtered ``IS NOT NULL``, a field the workflow has filled (a stored
    request's reference, an approved request's username)."""
    if value is None:
        raise ValueError("NULL where the query guarantees a value")
    return value


class _HasId(Protocol):
    @property
    def id(self) -> int | None: ...


def id_of(row: _HasId) -> int:
    """The primary key of a row that was flushed or loaded: from then on it is never None
    (``id`` is declared optional only because a new, unsaved row has none yet)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: add and flush it first")
    return row.id


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model, for Core statements (SQLModel sets ``__table__`` at
    class creation, so type checkers do not see it)."""
    table = sa_inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def _ts(nullable: bool = True, **kw: Any) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable), **kw)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class AccessRequest(SQLModel, table=True):
    """Sections 1, 2 and 5 of the form, plus the authorizer's name and email."""

    __tablename__ = "access_request"
    # The history's period and pages, the search's most recent first (migration 0011).
    # The list's order, and what a period's figures read (migration 0013): one index for both.
    __table_args__ = (Index("ix_access_request_period", "created_at", "id", "status", "organization_type"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str | None = Field(default=None, unique=True, index=True, max_length=20)
    status: str = Field(default=RequestStatus.awaiting_authorizer.value, index=True, max_length=32)
    # Bumped by each resubmission after a correction: links carry it, so older links are void.
    revision: int = Field(default=1)
    language: str = Field(default="fr", max_length=2)
    flow_run_id: str | None = Field(default=None, max_length=36, index=True)

    # Section 1
    applications: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    existing_username: str | None = Field(default=None, max_length=100)
    organization_type: str = Field(max_length=20)
    register_scope: str = Field(max_length=30)
    # Section 5
    additional_establishment_numbers: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # Section 2 (the user)
    user_first_name: str = Field(max_length=100)
    user_last_name: str = Field(max_length=100)
    user_sex: str = Field(max_length=1)
    user_function: str = Field(max_length=200)
    user_email: str = Field(max_length=254, index=True)
    user_phone: str = Field(max_length=20)
    user_extension: str | None = Field(default=None, max_length=10)
    user_fax: str | None = Field(default=None, max_length=20)
    establishment_name: str = Field(max_length=200)
    establishment_number: str = Field(max_length=5, index=True)
    user_address: str = Field(max_length=200)
    user_postal_code: str = Field(max_length=7)
    user_commitments_accepted: bool = False
    user_signature: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    user_signed_at: datetime | None = _ts()
    # The person who authorizes (section 3 is filled by them through the link)
    authorizer_first_name: str = Field(max_length=100)
    authorizer_last_name: str = Field(max_length=100)
    authorizer_email: str = Field(max_length=254, index=True)

    created_at: datetime = _created()
    updated_at: datetime = _created()
    closed_at: datetime | None = _ts()

    # Recovery of the flow run (the sweeper): who may start the run (a claim, so two sweepers
    # never start two runs), how many restarts happened without progress, and when the request
    # was flagged for a person because restarting did not help.
    run_start_claimed_at: datetime | None = _ts()
    run_restarts: int = Field(default=0)
    run_progress_mark: int | None = Field(default=None)  # last audit event id at a restart
    run_stuck_at: datetime | None = _ts()
    # When the retention purge anonymized this closed request (models/retention.py).
    purged_at: datetime | None = _ts()


class RequestRevision(SQLModel, table=True):
    """One submitted or corrected version of sections 1, 2 and 5 (and the authorizer named),
    as canonical JSON without the user's signature. Written once, never updated: database
    triggers refuse UPDATE and DELETE. ``AccessRequest.revision`` points at the current one."""

    __tablename__ = "request_revision"
    __table_args__ = (UniqueConstraint("request_id", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="access_request.id", index=True)
    revision: int
    content: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    sha256: str = Field(max_length=64)
    created_at: datetime = _created()
    # The retention purge's one allowed change (migration 0009): content replaced by the marker.
    purged_at: datetime | None = _ts()


class Signature(SQLModel, table=True):
    """A signature bound to what was signed: ``content`` is exactly what the signer saw (the
    canonical JSON of the request revision, plus section 3 and section 4 as the role requires)
    and ``sha256`` the hash of that content with the signature's own metadata. Written once,
    never updated (database triggers)."""

    __tablename__ = "signature"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="access_request.id", index=True)
    revision: int
    section: str = Field(max_length=2)  # "2", "3" or "4"
    role: str = Field(max_length=20)  # a SignerRole
    signer: str = Field(max_length=200)
    method: str = Field(max_length=20)  # drawn, image, digital; typed for staff
    image: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    signed_at: datetime = _created()
    content: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    sha256: str = Field(max_length=64)
    # The retention purge's one allowed change (migration 0009): content, image (and a person's
    # name as signer) removed; the hash and metadata stay.
    purged_at: datetime | None = _ts()


class Authorization(SQLModel, table=True):
    """Section 3, one row per authorizer round (a correction asks for a new signature)."""

    __tablename__ = "request_authorization"
    __table_args__ = (UniqueConstraint("request_id", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="access_request.id", index=True)
    revision: int
    role: str = Field(max_length=40)
    sex: str = Field(max_length=1)
    function: str = Field(max_length=200)
    phone: str = Field(max_length=20)
    extension: str | None = Field(default=None, max_length=10)
    fax: str | None = Field(default=None, max_length=20)
    organization_name: str = Field(max_length=200)
    address: str = Field(max_length=200)
    postal_code: str = Field(max_length=7)
    commitments_accepted: bool = False
    signature: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    signed_at: datetime | None = _ts()
    board_resolution_number: str | None = Field(default=None, max_length=50)
    board_resolution_date: date | None = None
    created_at: datetime = _created()


class RamqProcessing(SQLModel, table=True):
    """Section 4 (à l'usage de la RAMQ)."""

    __tablename__ = "ramq_processing"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="access_request.id", unique=True)
    registration_date: date | None = None
    reference_number: str | None = Field(default=None, max_length=20)
    # Unique: an approval reserves its username before the account exists.
    username: str | None = Field(default=None, max_length=40, unique=True)
    valid_from: date | None = None
    valid_until: date | None = None
    respondent_id: str | None = Field(default=None, max_length=40)
    respondent_signed_at: datetime | None = _ts()
    soes_signed_by: str | None = Field(default=None, max_length=40)
    soes_signed_at: datetime | None = _ts()


class HumanTask(SQLModel, table=True):
    """A step waiting for a person. One per (request, kind, round, attempt): ``attempt`` counts
    the respondent's decisions within a round when the SOES returns an approval (1 otherwise)."""

    __tablename__ = "human_task"
    # The queues: one kind's open tasks in due order, read up to their limit (migration 0011).
    __table_args__ = (UniqueConstraint("request_id", "kind", "round", "attempt"),
                      Index("ix_human_task_queue", "status", "kind", "due_at", "id"))

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="access_request.id", index=True)
    kind: str = Field(max_length=20, index=True)  # a TaskKind
    round: int
    attempt: int = Field(default=1)
    status: str = Field(default=TaskStatus.open.value, index=True, max_length=20)
    claimed_by: str | None = Field(default=None, max_length=40, index=True)
    claimed_at: datetime | None = _ts()
    due_at: datetime | None = _ts()
    reminded_at: datetime | None = _ts()  # the last reminder
    # Reminders sent (RAMQ_REMINDER_DAYS): a sweeper takes reminder n by moving it from n-1.
    reminders_sent: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = _created()
    closed_at: datetime | None = _ts()
    # A link of this task signed (``iat``) before this instant is void: set when RAMQ staff
    # resend the link or ask for another authorizer (whole seconds, like ``iat``).
    links_valid_from: datetime | None = _ts()


class Decision(SQLModel, table=True):
    """What a person decided on a task; at most one per task. ``resumed_at`` stays empty until
    the flow run accepted the resume, so a sweeper can retry and nothing is lost."""

    __tablename__ = "decision"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="human_task.id", unique=True)
    request_id: int = Field(foreign_key="access_request.id", index=True)
    outcome: str = Field(max_length=20)  # an Outcome
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    actor: str = Field(max_length=120)
    created_at: datetime = _created()
    resumed_at: datetime | None = _ts()


class AuditEvent(SQLModel, table=True):
    """Append-only history of a request: every step's timestamp lives here (manager charts).

    The database refuses UPDATE and DELETE (triggers, migration 0003); each event is chained to
    the request's previous one by hash, so an edit made behind the triggers' back still shows
    (``models.audit.verify_chain``). Only ``models.audit.audit`` writes rows: it fills both hashes."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="access_request.id", index=True)
    at: datetime = _created()
    actor: str = Field(max_length=120)
    event: str = Field(max_length=40, index=True)  # an AuditEventKind
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The previous event's hash (None for a request's first event). Unique: two events never
    # chain on the same one, so a fork is refused by the database itself.
    prev_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    # SHA-256 (hex) of this event's canonical JSON (models.audit.event_hash). No default: a row
    # not written by audit() fails NOT NULL instead of entering the history unchained.
    hash: str = Field(max_length=64)
    # The retention purge replaced the detail's free-text ``reason`` (migration 0009 allows only
    # that, once); the purge's own event records the redacted event's hash.
    purged_at: datetime | None = _ts()


class OutboxEmail(SQLModel, table=True):
    """One email to send. ``key`` (request, kind, round, recipient role) is unique, so a retried
    task never sends twice. The password email keeps no body: the password lives only in the
    message that was sent."""

    __tablename__ = "outbox_email"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=120)
    request_id: int = Field(foreign_key="access_request.id", index=True)
    kind: str = Field(max_length=40)
    round: int = 1
    recipient: str = Field(max_length=254)
    language: str = Field(default="fr", max_length=2)
    subject: str = Field(default="", max_length=300)
    body_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    body_html: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(default=EmailStatus.pending.value, max_length=20, index=True)
    attempts: int = 0
    message_id: str | None = Field(default=None, max_length=200)
    smtp_response: str | None = Field(default=None, max_length=500)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _created()
    # When a sender took the row; a row left "sending" by a crashed sender is taken again later.
    claimed_at: datetime | None = _ts()
    sent_at: datetime | None = _ts()


class Account(SQLModel, table=True):
    """Staff accounts (respondent, manager) and the accounts issued to users. Passwords are
    stored only as slow hashes (Argon2id)."""

    __tablename__ = "account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=40)
    kind: str = Field(max_length=10)  # an AccountKind
    role: str = Field(max_length=20)  # respondent, manager, user
    display_name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=254)
    password_hash: str = Field(max_length=200)
    must_change_password: bool = False
    request_id: int | None = Field(default=None, foreign_key="access_request.id", index=True)
    valid_from: date | None = None
    valid_until: date | None = None
    disabled: bool = False
    # Password guessing: after too many failures in a row the account waits a while.
    failed_logins: int = 0
    locked_until: datetime | None = _ts()
    created_at: datetime = _created()
    password_changed_at: datetime | None = _ts()
    # A temporary password stops working after a short while if it was never changed.
    temp_password_expires_at: datetime | None = _ts()


class StaffDigest(SQLModel, table=True):
    """One staff member's daily digest of the RAMQ queue: one row per (Québec day, account),
    taken before the email is sent, so it goes once a day even with two sweepers. ``status``:
    pending, sending (claimed at ``claimed_at``), sent, failed (retried), or empty (nothing to
    report: no email). ``covered_until``: the next digest reports the tasks opened after it."""

    __tablename__ = "staff_digest"
    __table_args__ = (UniqueConstraint("day", "account_id"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date
    account_id: int = Field(foreign_key="account.id", index=True)
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    claimed_at: datetime | None = _ts()
    covered_until: datetime | None = _ts()
    sent_at: datetime | None = _ts()
    last_error: str | None = Field(default=None, max_length=200)


class UsedLink(SQLModel, table=True):
    """Signed-link ids already used: a link works once."""

    __tablename__ = "used_link"

    jti: str = Field(primary_key=True, max_length=64)
    request_id: int = Field(foreign_key="access_request.id", index=True)
    purpose: str = Field(max_length=20)
    used_at: datetime = _created()


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per key (username, client, or both; keys are keyed hashes, not raw
    values): each failure past a threshold makes the next attempt wait longer. No hard lockout,
    so nobody can lock a colleague out by typing their username."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=80)
    failures: int = 0
    last_failure_at: datetime | None = _ts()
    blocked_until: datetime | None = _ts()


class RateEvent(SQLModel, table=True):
    """One counted action (a submission, an email to an address) for rate limits. ``key`` is a
    keyed hash of the client or address: the table holds no personal data."""

    __tablename__ = "rate_event"

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=40, index=True)
    key: str = Field(max_length=80, index=True)
    at: datetime = _created()


class SecurityEvent(SQLModel, table=True):
    """A refused attempt (forged or replayed link, forbidden action, ignored resume, throttled
    sign-in...). Kept apart from the request audit because most refusals have no request."""

    __tablename__ = "security_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _created()
    kind: str = Field(max_length=40, index=True)
    code: str = Field(max_length=40)
    request_id: int | None = Field(default=None, index=True)
    actor: str = Field(default="", max_length=120)
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class DailyJob(SQLModel, table=True):
    """A job done at most once a day by whichever sweeper claims it first (the primary key is
    the claim): the retention purge."""

    __tablename__ = "daily_job"

    job: str = Field(primary_key=True, max_length=40)
    day: date = Field(primary_key=True)
    claimed_at: datetime = _created()


class StaffSession(SQLModel, table=True):
    """A staff login that survives a reload (models/staff_sessions.py): the browser holds a
    signed, HttpOnly cookie with a random token; only the token's SHA-256 is kept here, and the
    one-time ticket that obtains it likewise. Closed on logout, after the idle timeout, after a
    maximum age, or when the account stops being an active staff account."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    token_hash: str | None = Field(default=None, unique=True, max_length=64)
    ticket_hash: str | None = Field(default=None, unique=True, max_length=64)
    ticket_expires_at: datetime | None = _ts()
    created_at: datetime = _created()
    last_seen_at: datetime = _created()
    closed_at: datetime | None = _ts()
    closed_reason: str = Field(default="", max_length=20)


class RequestStepTime(SQLModel, table=True):
    """Per request, when each of the history's marks (``models.history.MARKS``) last happened
    and when it was first submitted, in seconds since the epoch (UTC): the step durations are
    differences of these, read without grouping the audit events. Written by the database
    itself, an insert trigger on ``audit_event`` (migration 0011): never by the application."""

    __tablename__ = "request_step_time"

    request_id: int = Field(foreign_key="access_request.id", primary_key=True)
    first_submitted: float | None = None
    submitted: float | None = None
    authorized: float | None = None
    reviewed: float | None = None
    countersigned: float | None = None
    credentials_sent: float | None = None


class FederatedSignIn(SQLModel, table=True):
    """One sign-in at the organization's OpenID provider opens one RAMQ staff session
    (models/oidc.py): the identity's (issuer, subject, issued-at) is kept as a hash, so that the
    same identity token, still in the browser after a sign-out, opens nothing a second time."""

    __tablename__ = "federated_sign_in"

    id: int | None = Field(default=None, primary_key=True)
    identity_hash: str = Field(unique=True, max_length=64)
    account_id: int = Field(foreign_key="account.id", index=True)
    created_at: datetime = _created()
