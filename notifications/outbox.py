"""The email outbox: every email is a row with a unique key, sent at most once per key.

Callers address an email by its request, kind, round and recipient role (:func:`exists`,
:func:`enqueue`); the key made of them is this module's business. :func:`send_pending` sends
what is due; :func:`deliver` is the same for synchronous callers (the flow's steps, the sweeper).

A sender *claims* a row (``UPDATE … SET status='sending' WHERE status IN ('pending','failed')``
and checks the row count) before talking to SMTP, so two concurrent senders never both send
it; the claim is committed before the network call, so no database lock is held while the
SMTP server answers. A row whose send failed goes back to ``failed`` and the next call (a
Prefect task retry) tries it again.

The temporary-password email is claimed (:func:`claim_secret`) before the password is made,
then sent (:func:`send_claimed_secret`, or :func:`deliver_claimed_secret` from sync code;
:func:`send_secret` is the whole sequence the password steps use, making the password only
once the row is theirs): its row keeps no body, the message is sent from memory, and nothing it
raises carries the message.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Coroutine
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from enum import StrEnum
from typing import Any, TypeVar

import aiosmtplib
from sqlalchemy import ColumnElement, and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.db import get_row, session_scope
from models.enums import EmailStatus
from models.settings import get_settings
from models.tables import OutboxEmail, id_of, not_null
from notifications.templates import Message

log = logging.getLogger(__name__)

SENDING = "sending"  # claimed by a sender; the SMTP conversation is in progress
_SENDABLE = (EmailStatus.pending.value, EmailStatus.failed.value)
# Retries of the sweeper after a failed send: 30 s, 1 min, 2 min… at most every 30 minutes.
RETRY_BACKOFF_MAX = timedelta(minutes=30)


def stale_claim() -> timedelta:
    """How long a row may stay "sending" before another sender takes it: a live sender has
    finished or given up by then (every SMTP step has the settings' timeout), so a row older
    than this was left by a sender that died. (At-least-once for that narrow window: if the
    dead sender's message did go out, it goes out twice.)"""
    return timedelta(seconds=max(30.0, 3 * get_settings().smtp_timeout_seconds))


def retry_backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=30) * (2 ** max(0, attempts - 1)), RETRY_BACKOFF_MAX)

SessionFactory = Callable[[], AbstractContextManager[Session]]
T = TypeVar("T")


class OutboxError(Exception):
    """Some emails were not sent. They stay ``failed`` and the next call retries them.
    The message names outbox keys only (request id, kind, round, role): no personal data."""


class SecretEmailError(Exception):
    """The password email was not sent. Deliberately raised without cause or context, so no
    traceback can show the message it was carrying."""


def _key(*, request_id: int, kind: str, round: int, recipient_role: str) -> str:
    """The row's unique key; callers address an email by these four parts, never by the key."""
    return f"{request_id}:{kind}:{round}:{recipient_role}"


def _sender_address() -> str:
    return parseaddr(get_settings().mail_from)[1]


def _new_message_id() -> str:
    domain = _sender_address().rpartition("@")[2] or "ramq-access.localhost"
    return make_msgid(domain=domain)


# Emails that carry a password: their rows keep no body (claim_secret, then send from memory).
SECRET_KINDS = ("temporary_password", "password_reset")


def _check_recipient_role(kind: str, recipient_role: str) -> None:
    # One credential per person: the password to the user, the username to the authorizer.
    if kind in SECRET_KINDS and recipient_role != "user":
        raise ValueError("the temporary password goes to the user only")
    if kind == "username" and recipient_role != "authorizer":
        raise ValueError("the username goes to the authorizer only")


def _get_by_key(session: Session, key: str) -> OutboxEmail | None:
    stmt = select(OutboxEmail).where(OutboxEmail.key == key).execution_options(
        populate_existing=True)
    return session.exec(stmt).first()


def _enqueue(
    session: Session, *, request_id: int, kind: str, round: int, recipient_role: str,
    recipient: str, message: Message, lang: str, store_body: bool,
) -> OutboxEmail:
    _check_recipient_role(kind, recipient_role)
    key = _key(request_id=request_id, kind=kind, round=round, recipient_role=recipient_role)
    existing = _get_by_key(session, key)
    if existing is not None:
        return existing
    row = OutboxEmail(
        key=key, request_id=request_id, kind=kind, round=round, recipient=recipient,
        language=lang, subject=message.subject[:300],
        body_text=message.text if store_body else None,
        body_html=message.html if store_body else None,
        message_id=_new_message_id(),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        existing = _get_by_key(session, key)  # a concurrent enqueue won the race
        if existing is not None:
            return existing
        # e.g. no such request. Say so without the SQL parameters (they hold the body).
        raise OutboxError(f"cannot enqueue {key}: {type(exc.orig).__name__}") from None
    return row


def exists(session: Session, *, request_id: int, kind: str, round: int, recipient_role: str) -> bool:
    """Whether this email is in the outbox already (queued, being sent, sent or failed): a step
    that would compose it (a new signed link) looks first."""
    key = _key(request_id=request_id, kind=kind, round=round, recipient_role=recipient_role)
    return session.exec(select(OutboxEmail.id).where(OutboxEmail.key == key)).first() is not None


def enqueue(
    session: Session, *, request_id: int, kind: str, round: int, recipient_role: str,
    recipient: str, message: Message, lang: str,
) -> OutboxEmail:
    """Add an email to the outbox in the caller's transaction; idempotent on its key: a
    second call returns the existing row unchanged."""
    if kind in SECRET_KINDS:
        raise ValueError("the password email is never stored: use send_secret")
    return _enqueue(
        session, request_id=request_id, kind=kind, round=round, recipient_role=recipient_role,
        recipient=recipient, message=message, lang=lang, store_body=True,
    )


def build_message(
    *, to: str, subject: str, text: str, html: str, message_id: str | None = None
) -> EmailMessage:
    """``multipart/alternative`` (text, then HTML), UTF-8, with Date and Message-ID."""
    msg = EmailMessage()
    msg["From"] = get_settings().mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id or _new_message_id()
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies to us
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


async def send_email(
    *, to: str, subject: str, text: str, html: str, message_id: str | None = None
) -> str:
    """Send one email with the SMTP settings; returns the server's final answer."""
    s = get_settings()
    msg = build_message(to=to, subject=subject, text=text, html=html, message_id=message_id)
    _, response = await aiosmtplib.send(
        msg,
        sender=_sender_address(),
        recipients=[to],
        hostname=s.smtp_host,
        port=s.smtp_port,
        use_tls=s.smtp_tls,
        start_tls=s.smtp_starttls,
        username=s.smtp_username or None,
        password=s.smtp_password or None,
        timeout=s.smtp_timeout_seconds,
    )
    return response


def _describe(exc: BaseException, *, with_text: bool = True) -> str:
    """What went wrong, for ``last_error``. SMTP errors carry the server's answer, never ours."""
    name = type(exc).__name__
    code = getattr(exc, "code", None)
    if not with_text:
        return f"{name} {code}" if isinstance(code, int) else name
    detail = getattr(exc, "message", None) or str(exc)
    return (f"{name}: {code} {detail}" if isinstance(code, int) else f"{name}: {detail}")[:500]


def _claimable():
    """Pending or failed rows, and rows a crashed sender left "sending" for too long."""
    stale = datetime.now(UTC) - stale_claim()
    return or_(col(OutboxEmail.status).in_(_SENDABLE),
               and_(col(OutboxEmail.status) == SENDING, col(OutboxEmail.claimed_at) < stale))


def _due(now: datetime):
    """Claimable rows whose backoff has passed (the sweeper's retries during an outage)."""
    stale = now - stale_claim()
    status, tries, claimed_at = col(OutboxEmail.status), col(OutboxEmail.attempts), col(OutboxEmail.claimed_at)
    conditions: list[ColumnElement[bool]] = [
        status == EmailStatus.pending.value,
        and_(status == SENDING, claimed_at < stale)]
    for attempts in range(1, 8):
        conditions.append(and_(status == EmailStatus.failed.value,
                               tries == attempts,
                               claimed_at < now - retry_backoff(attempts)))
    conditions.append(and_(status == EmailStatus.failed.value, tries >= 8,
                           claimed_at < now - RETRY_BACKOFF_MAX))
    return or_(*conditions)


def _claim(row_id: int, session_factory: SessionFactory) -> OutboxEmail | None:
    """Take the row for this sender; ``None`` when another sender has it or it was sent."""
    with session_factory() as s:
        result = s.exec(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == row_id, _claimable())
            .values(status=SENDING, attempts=OutboxEmail.attempts + 1,
                    claimed_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return None
        return s.get(OutboxEmail, row_id, populate_existing=True)


def _finish(
    row_id: int, session_factory: SessionFactory, *, response: str | None = None,
    error: str | None = None,
) -> OutboxEmail:
    values: dict[str, Any]
    if error is None:
        values = {"status": EmailStatus.sent.value, "sent_at": datetime.now(UTC),
                  "smtp_response": (response or "")[:500], "last_error": None}
    else:
        values = {"status": EmailStatus.failed.value, "last_error": error[:500]}
    with session_factory() as s:
        s.exec(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == row_id, col(OutboxEmail.status) == SENDING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return get_row(s, OutboxEmail, row_id, populate_existing=True)


async def send_pending(
    *, request_id: int | None = None, keys: list[str] | None = None,
    session_factory: SessionFactory = session_scope, due_only: bool = False, limit: int | None = None,
) -> list[OutboxEmail]:
    """Send every pending or failed email (of one request, or with these keys; all if
    neither). Returns the rows this call sent; raises :class:`OutboxError` after trying all
    of them if any failed, so a task retry sends the rest. ``due_only``: failed rows wait
    their backoff (the sweeper's pass during an SMTP outage)."""
    stmt = select(OutboxEmail.id).where(
        _due(datetime.now(UTC)) if due_only else _claimable(),
        col(OutboxEmail.body_text).is_not(None),  # the password email is never sent from the DB
    ).order_by(col(OutboxEmail.id))
    if limit is not None:
        stmt = stmt.limit(limit)
    if request_id is not None:
        stmt = stmt.where(OutboxEmail.request_id == request_id)
    if keys is not None:
        stmt = stmt.where(col(OutboxEmail.key).in_(list(keys)))
    with session_factory() as s:
        ids = [not_null(row_id) for row_id in s.exec(stmt).all()]

    sent: list[OutboxEmail] = []
    failed: list[str] = []
    for row_id in ids:
        row = _claim(row_id, session_factory)
        if row is None:
            continue
        try:
            response = await send_email(
                to=row.recipient, subject=row.subject, text=row.body_text or "",
                html=row.body_html or "", message_id=row.message_id,
            )
        except Exception as exc:
            _finish(row_id, session_factory, error=_describe(exc))
            failed.append(row.key)
            log.warning("outbox email %s not sent (%s)", row.key, type(exc).__name__)
            continue
        except BaseException:  # cancelled mid-send: let the next call retry it
            _finish(row_id, session_factory, error="interrupted")
            raise
        sent.append(_finish(row_id, session_factory, response=response))
        log.info("outbox email %s sent", row.key)
    if failed:
        raise OutboxError(f"{len(failed)} email(s) not sent: {', '.join(failed)}")
    return sent


def claim_secret(
    session_factory: SessionFactory = session_scope, *, request_id: int, kind: str, round: int,
    recipient_role: str, recipient: str, subject: str, lang: str,
) -> int | None:
    """Takes the right to send an email whose body is never stored (the temporary password),
    *before* the secret is made: the id of its body-less row, now ``sending`` and ours; None
    when that email was already sent (never twice). Raises :class:`SecretEmailError` while
    another sender holds it, so a second execution never replaces a password in flight."""
    key = _key(request_id=request_id, kind=kind, round=round, recipient_role=recipient_role)
    with session_factory() as s:
        row = _enqueue(
            s, request_id=request_id, kind=kind, round=round, recipient_role=recipient_role,
            recipient=recipient, message=Message(subject=subject, text="", html=""), lang=lang,
            store_body=False,
        )
        row_id, status = id_of(row), row.status
    if status == EmailStatus.sent.value:
        return None
    if _claim(row_id, session_factory) is None:
        with session_factory() as s:
            if get_row(s, OutboxEmail, row_id).status == EmailStatus.sent.value:
                return None
        raise SecretEmailError(f"email {key} is being sent by another task")
    return row_id


def due_secrets(kind: str, *, since: datetime, now: datetime | None = None) -> list[tuple[int, int]]:
    """(request id, round) of the body-less rows of ``kind`` created since ``since`` whose send
    failed or whose sender died, once their backoff has passed: the caller makes a *new*
    secret and sends it through :func:`claim_secret` again (the body was never kept)."""
    if kind not in SECRET_KINDS:
        raise ValueError(f"{kind} is not a secret email")
    now = now or datetime.now(UTC)
    stmt = select(OutboxEmail.request_id, OutboxEmail.round).where(
        OutboxEmail.kind == kind, col(OutboxEmail.body_text).is_(None), _due(now),
        col(OutboxEmail.status) != EmailStatus.pending.value, col(OutboxEmail.created_at) >= since,
    ).order_by(col(OutboxEmail.id))
    with session_scope() as s:
        return [(request_id, round_) for request_id, round_ in s.exec(stmt).all()]


def last_round(session: Session, *, request_id: int, kind: str) -> int:
    """The highest round of this request's emails of ``kind`` (0 when none): an email sent again
    and again over time (a new password each time) takes the next one."""
    rounds = session.exec(select(OutboxEmail.round).where(
        OutboxEmail.request_id == request_id, OutboxEmail.kind == kind)).all()
    return max(rounds, default=0)


def release_secret(row_id: int, session_factory: SessionFactory = session_scope) -> None:
    """Gives a claimed secret row back (the secret could not be made): a retry takes it."""
    _finish(row_id, session_factory, error="released")


async def send_claimed_secret(
    row_id: int, *, recipient: str, message: Message, session_factory: SessionFactory = session_scope,
) -> None:
    """Sends the claimed secret email from memory and marks it sent. Raises
    :class:`SecretEmailError` (no cause, no body) when sending fails; the row is then
    ``failed`` and a retry, with a fresh secret, may send."""
    with session_factory() as s:
        row = get_row(s, OutboxEmail, row_id)
        key, message_id = row.key, row.message_id
    error: str | None = None
    try:
        response = await send_email(
            to=recipient, subject=message.subject, text=message.text, html=message.html,
            message_id=message_id,
        )
    except Exception as exc:
        error = _describe(exc, with_text=False)
    except BaseException:
        _finish(row_id, session_factory, error="interrupted")
        raise
    if error is not None:
        # Raised outside the except block: no __context__ pointing at the original error.
        _finish(row_id, session_factory, error=error)
        raise SecretEmailError(f"email {key} not sent: {error}")
    _finish(row_id, session_factory, response=response)


async def send_secret_once(
    session_factory: SessionFactory = session_scope, *, request_id: int, kind: str, round: int,
    recipient_role: str, recipient: str, message: Message, lang: str,
) -> bool:
    """Claim, then send, an email whose body must never be stored. Returns ``False`` without
    sending when that key was already sent (never twice)."""
    row_id = claim_secret(session_factory, request_id=request_id, kind=kind, round=round,
                          recipient_role=recipient_role, recipient=recipient,
                          subject=message.subject, lang=lang)
    if row_id is None:
        return False
    await send_claimed_secret(row_id, recipient=recipient, message=message,
                              session_factory=session_factory)
    return True


def _run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync code, even when an event loop is already running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def deliver(request_id: int | None = None, **options: Any) -> list[OutboxEmail]:
    """:func:`send_pending` for synchronous callers (the flow's steps, the sweeper): the
    emails of one request, or all; ``options`` are send_pending's (``due_only``, ``limit``…).
    Raises :class:`OutboxError` like it."""
    return _run_sync(send_pending(request_id=request_id, **options))


def send_now(*, to: str, message: Message) -> str:
    """Sends one message at once, outside the outbox, from sync code (the staff's daily digest,
    which belongs to no request; its caller keeps its own once-only claim)."""
    return _run_sync(send_email(to=to, subject=message.subject, text=message.text, html=message.html))


def deliver_claimed_secret(row_id: int, *, recipient: str, message: Message) -> None:
    """:func:`send_claimed_secret` for synchronous callers (the password step)."""
    _run_sync(send_claimed_secret(row_id, recipient=recipient, message=message))


class SecretNotSent(Exception):
    """The email carrying a secret failed: its row says so, without any text of it."""


class SecretSend(StrEnum):
    """What :func:`send_secret` did."""

    sent = "sent"
    already_sent = "already_sent"  # never a second email
    held = "held"  # another sender holds it, and makes its own secret


def send_secret(*, request_id: int, kind: str, round: int, recipient: str, subject: str, lang: str,
                make_message: Callable[[], Message]) -> SecretSend:
    """The one way an email carrying a secret (a temporary password) goes out: its body-less row
    is claimed first, then ``make_message`` makes the secret, stores its hash and returns the
    email (the secret lives only in that message, in memory); a failure there releases the row
    and is raised as it is. A failed send raises :class:`SecretNotSent` (the row says failed; a
    retry makes a *new* secret)."""
    try:
        row_id = claim_secret(request_id=request_id, kind=kind, round=round, recipient_role="user",
                              recipient=recipient, subject=subject, lang=lang)
    except SecretEmailError:
        return SecretSend.held
    if row_id is None:
        return SecretSend.already_sent
    try:
        message = make_message()
    except BaseException:
        release_secret(row_id)
        raise
    try:
        deliver_claimed_secret(row_id, recipient=recipient, message=message)
    except Exception:
        raise SecretNotSent(f"{kind} email of request {request_id} round {round} not sent") from None
    finally:
        del message
    return SecretSend.sent
