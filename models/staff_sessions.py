"""Staff sessions that survive a reload: the rule behind the ``ramq_staff`` cookie.

A staff sign-in (``models.accounts.sign_in``) happens inside Streamlit, which cannot set an
HttpOnly cookie; so it :func:`open_session` and gets a **ticket**: random, single use, valid
``TICKET_SECONDS``. The browser takes the ticket to the server's route ``/session/ouvrir``
(``ui/server.py``), which :func:`exchange_ticket` for the session **token** and sets it as the
cookie, signed (HS256 with the secret key, its own purpose). Every page then finds its staff
login with :func:`resolve_cookie`, and a page run of a login already known by id checks it with
:func:`check_session`.

Only SHA-256 hashes of tickets and tokens are stored: the table alone opens nothing. A session
ends on logout (:func:`close_session`), after ``settings.staff_session_idle_minutes`` without a
page run, after ``MAX_AGE_HOURS`` whatever the activity, or as soon as its account is no longer
an active staff account. Activity is written at most every ``TOUCH_EVERY_SECONDS``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from jose import jwt
from jose.exceptions import JWTError
from sqlalchemy import update
from sqlmodel import Session, col, select

from models.db import read_scope, session_scope
from models.enums import AccountKind
from models.settings import get_settings
from models.tables import Account, StaffSession, id_of, table_of, utcnow

COOKIE_NAME = "ramq_staff"
TICKET_SECONDS = 60
TOUCH_EVERY_SECONDS = 30
MAX_AGE_HOURS = 12  # a session ends after a working day, even when used all along
ALGORITHM = "HS256"
AUDIENCE = "ramq-staff-session"
MAX_COOKIE_LENGTH = 400


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class OpenedSession:
    session_id: int
    ticket: str  # for /session/ouvrir, once, within TICKET_SECONDS


@dataclass(frozen=True)
class Resolution:
    """What a cookie or a session id opens: the staff account (``models.queries.staff_session``'s
    dict) and its session, or nothing; ``expired`` when the session just ended by inactivity or
    age (the page says so once)."""

    session_id: int | None = None
    staff: dict | None = None
    expired: bool = False


def open_session(account_id: int, *, now: datetime | None = None) -> OpenedSession:
    """A new session for a staff account that has just signed in, and its one-time ticket."""
    now = now or utcnow()
    ticket = secrets.token_urlsafe(32)
    with session_scope() as s:
        row = StaffSession(account_id=account_id, ticket_hash=_hash(ticket), created_at=now,
                           last_seen_at=now, ticket_expires_at=now + timedelta(seconds=TICKET_SECONDS))
        s.add(row)
        s.flush()
        return OpenedSession(session_id=id_of(row), ticket=ticket)


def sign_token(token: str) -> str:
    return jwt.encode({"aud": AUDIENCE, "tok": token}, get_settings().secret_key, algorithm=ALGORITHM)


def read_cookie(value: str | None) -> str | None:
    """The token inside a cookie value, or None when it is absent, too long or not signed by us."""
    if not isinstance(value, str) or not value or len(value) > MAX_COOKIE_LENGTH:
        return None
    try:
        if jwt.get_unverified_header(value).get("alg") != ALGORITHM:
            return None
        claims = jwt.decode(value, get_settings().secret_key, algorithms=[ALGORITHM], audience=AUDIENCE)
    except (JWTError, ValueError, TypeError, AttributeError):
        return None
    token = claims.get("tok")
    return token if isinstance(token, str) and 20 <= len(token) <= 100 else None


def exchange_ticket(ticket: str | None, *, now: datetime | None = None) -> str | None:
    """The signed cookie value for a valid ticket, which is then spent; None for an unknown,
    used, expired or malformed ticket, or a session closed meanwhile (recorded as refused)."""
    from models.security import record_refusal

    now = now or utcnow()
    if not isinstance(ticket, str) or not 20 <= len(ticket) <= 100:
        record_refusal("staff_session", "ticket_invalid")
        return None
    token = secrets.token_urlsafe(32)
    table = table_of(StaffSession)
    with session_scope() as s:
        won = s.execute(update(table).where(
            table.c.ticket_hash == _hash(ticket), table.c.token_hash.is_(None),
            table.c.closed_at.is_(None), table.c.ticket_expires_at > now,
        ).values(ticket_hash=None, ticket_expires_at=None, token_hash=_hash(token), last_seen_at=now))
        spent = won.rowcount == 1  # type: ignore[attr-defined]
    if not spent:
        record_refusal("staff_session", "ticket_refused")
        return None
    return sign_token(token)


def _staff(s: Session, account_id: int) -> dict | None:
    """As ``models.queries.staff_session``, in the caller's transaction."""
    account = s.get(Account, account_id)
    if account is None or account.kind != AccountKind.staff.value or account.disabled:
        return None
    return {"account_id": account.id, "username": account.username, "role": account.role,
            "display_name": account.display_name or account.username}


def _live(s: Session, row: StaffSession, now: datetime, *, touch: bool) -> tuple[Resolution, dict | None]:
    """Judges a session row read in ``s`` (a read-only transaction): what it opens, and what
    to write once that transaction is over when ``touch`` (a page run: activity): the activity,
    at most every ``TOUCH_EVERY_SECONDS``, or the end of a session that has ended. Without
    ``touch`` nothing is written (an automatic refresh is no activity). Most page runs thus
    take no write lock."""
    idle = timedelta(minutes=get_settings().staff_session_idle_minutes)
    if row.closed_at is not None:
        return Resolution(), None
    reason = ""
    if now - row.last_seen_at > idle:
        reason = "idle"
    elif now - row.created_at > timedelta(hours=MAX_AGE_HOURS):
        reason = "max_age"
    staff = None if reason else _staff(s, row.account_id)
    if staff is None:
        change = {"closed_at": now, "closed_reason": reason or "account", "ticket_hash": None}
        return Resolution(expired=bool(reason)), change if touch else None
    seen = touch and (now - row.last_seen_at).total_seconds() >= TOUCH_EVERY_SECONDS
    return Resolution(session_id=row.id, staff=staff), {"last_seen_at": now} if seen else None


def _write(session_id: int | None, change: dict | None) -> None:
    if session_id is None or not change:
        return
    table = table_of(StaffSession)
    with session_scope() as s:
        s.execute(update(table).where(table.c.id == session_id, table.c.closed_at.is_(None))
                  .values(**change))


def resolve_cookie(value: str | None, *, now: datetime | None = None) -> Resolution:
    """The staff login a cookie value opens (and this counts as activity), or an empty
    :class:`Resolution`."""
    token = read_cookie(value)
    if token is None:
        return Resolution()
    now = now or utcnow()
    with read_scope() as s:
        row = s.exec(select(StaffSession).where(col(StaffSession.token_hash) == _hash(token))).first()
        if row is None:
            return Resolution()
        found, change = _live(s, row, now, touch=True)
    _write(row.id, change)
    return found


def check_session(session_id: int, account_id: int, *, now: datetime | None = None,
                  touch: bool = True) -> Resolution:
    """The same check for a login the page already knows by its session id: each page run
    (``touch``), or an automatic refresh (``touch=False``: reads only)."""
    now = now or utcnow()
    with read_scope() as s:
        row = s.get(StaffSession, session_id)
        if row is None or row.account_id != account_id:
            return Resolution()
        found, change = _live(s, row, now, touch=touch)
    _write(session_id, change)
    return found


def close_session(*, session_id: int | None = None, cookie: str | None = None,
                  reason: str = "logout", now: datetime | None = None) -> bool:
    """Ends a session, known by id or by its cookie value; True when one was open."""
    now = now or utcnow()
    table = table_of(StaffSession)
    if session_id is not None:
        which = table.c.id == session_id
    else:
        token = read_cookie(cookie)
        if token is None:
            return False
        which = table.c.token_hash == _hash(token)
    with session_scope() as s:
        done = s.execute(update(table).where(which, table.c.closed_at.is_(None))
                         .values(closed_at=now, closed_reason=reason[:20], ticket_hash=None))
        return done.rowcount == 1  # type: ignore[attr-defined]
