"""« Mot de passe oublié ? » on « Mon accès »: a new temporary password, by email, to the user.

:func:`request_password_reset` answers nothing, whatever happens: an unknown name, a staff
account, a disabled or expired access, a refused (rate-limited or throttled) request and a
reset all return ``None``, so the screen says one sentence and nobody learns whether an access
exists. For each issued account the name (its username, or the request's user email) finds and
that may be used today (:func:`models.accounts.in_use`, the sign-in's rule):

- the request obeys the sign-in's waits (``models.throttle.blocked``: a guesser made to wait
  cannot reset instead) and the limits ``RAMQ_PASSWORD_RESETS_PER_ACCOUNT_DAY`` and
  ``RAMQ_PASSWORD_RESETS_PER_CLIENT_HOUR`` (``models.rate_limits``; every request counts for
  its client, known name or not); a refusal is a security event, and changes nothing;
- the email is sent like the first password (``flows.steps.issue_credentials``): its outbox
  row (kind ``password_reset``, one round per reset) is claimed *before* the password is made
  and keeps no body; the password is hashed with no transaction open, set with
  ``must_change_password`` and the usual expiry, and audited (``password_reset``) in one
  transaction; the old password stops working there; the message goes to the request's user
  email only, from memory. The password exists only in this function's memory and that email.
- if sending fails the row stays ``failed`` (no body) and the old password is gone: the
  sweeper's :func:`retry_password_resets` makes a *new* password and sends it, after the
  outbox's backoff (the design of the first password: a retry makes a new password).

Synchronous, like the screens; a reset costs one Argon2 hash and one SMTP conversation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import col, select

from models import rate_limits, throttle
from models.accounts import generate_temporary_password, hash_password, in_use, set_temporary_password
from models.audit import SYSTEM, audit
from models.db import get_row, session_scope
from models.enums import AccountKind, AuditEventKind
from models.security import hashed_key, record_refusal
from models.settings import get_settings
from models.tables import AccessRequest, Account, id_of, not_null, quebec_today, utcnow
from notifications import outbox
from notifications.templates import compose, request_context

log = logging.getLogger("ramq.password_reset")

KIND = "password_reset"
# The actor of a reset someone asked for on the screen (nobody is signed in).
REQUESTER = "utilisateur"


@dataclass(frozen=True)
class _Reset:
    account_id: int
    request_id: int
    username: str


def _limits(*, client: str | None = None, account_id: int | None = None) -> list[rate_limits.Limit]:
    settings = get_settings()
    if client is not None:
        return [rate_limits.Limit("client", rate_limits.RESET_CLIENT, client,
                                  settings.password_resets_per_client_hour, rate_limits.HOUR)]
    return [rate_limits.Limit("account", rate_limits.RESET_ACCOUNT, str(account_id),
                              settings.password_resets_per_account_day, rate_limits.DAY)]


def _find(session, name: str) -> list[Account]:
    """The issued accounts ``name`` designates: by username, or (with an ``@``) by the user email
    of their request (case-insensitive). Staff accounts are never reset here."""
    stmt = select(Account).join(AccessRequest, col(AccessRequest.id) == col(Account.request_id)).where(
        Account.kind == AccountKind.issued.value)
    if "@" in name:
        stmt = stmt.where(func.lower(AccessRequest.user_email) == name.lower())
    else:
        stmt = stmt.where(Account.username == name.lower())
    return list(session.exec(stmt.order_by(col(Account.id))).all())


def request_password_reset(username_or_email: str, *, client: str | None) -> None:
    """Sends a new temporary password to the user of the access ``username_or_email`` names, if
    any may be used today; returns ``None`` in every case (see the module). ``client`` is the
    person's address as the server sees it (None when unknown: no per-client limit)."""
    name = " ".join((username_or_email or "").split())[:254]
    refusals: list[dict] = []
    todo: list[_Reset] = []
    with session_scope() as s:
        client_limits = _limits(client=client) if client else []
        over = rate_limits.exceeded(s, client_limits)
        if over is not None:
            refusals.append({"limit": over.name})
        else:
            rate_limits.count(s, client_limits)
            today = quebec_today()
            for account in (_find(s, name) if name else []):
                if not in_use(account, today):
                    continue
                limits = _limits(account_id=id_of(account))
                over = rate_limits.exceeded(s, limits)
                if over is not None:
                    refusals.append({"limit": over.name, "request_id": account.request_id})
                    continue
                rate_limits.count(s, limits)
                todo.append(_Reset(id_of(account), not_null(account.request_id), account.username))
    detail = {"client": hashed_key("client", client)} if client else {}
    for refusal in refusals:
        record_refusal(KIND, "rate_limited", request_id=refusal.pop("request_id", None),
                       **refusal, **detail)
    done = 0
    for reset in todo:
        waiting = throttle.blocked(reset.username, client)
        if waiting is not None:  # the sign-in's waits apply here too
            record_refusal(KIND, "throttled", request_id=reset.request_id, scope=waiting.scope,
                           wait_seconds=waiting.wait_seconds, **detail)
            continue
        with session_scope() as s:
            round_ = outbox.last_round(s, request_id=reset.request_id, kind=KIND) + 1
        done += _reset(reset.request_id, round_, actor=REQUESTER)
    if not done:
        hash_password(generate_temporary_password())  # about the same time whatever happened
    return None


def retry_password_resets(now=None) -> list[int]:
    """The sweeper's part: each reset email whose send failed (or whose sender died) is sent
    again, after the outbox's backoff, with a *new* password (the body was never kept), unless
    a later reset of the same request superseded it or the access may no longer be used. Only
    emails younger than ``settings.temp_password_days`` are retried. Returns the request ids
    whose email went out."""
    now = now or utcnow()
    since = now - timedelta(days=get_settings().temp_password_days)
    sent = []
    for request_id, round_ in outbox.due_secrets(KIND, since=since, now=now):
        with session_scope() as s:
            if outbox.last_round(s, request_id=request_id, kind=KIND) != round_:
                continue  # a later reset sent (or will send) its own password
        if _reset(request_id, round_, actor=SYSTEM):
            sent.append(request_id)
    return sent


def _reset(request_id: int, round_: int, *, actor: str) -> bool:
    """One reset email: claim its row, make and set the password, audit, send from memory.
    True when the email went out. Never raises for a failed send (the row says it)."""
    with session_scope() as s:
        req = get_row(s, AccessRequest, request_id)
        account = s.exec(select(Account).where(Account.request_id == request_id,
                                               Account.kind == AccountKind.issued.value)).first()
        if account is None or not in_use(account, quebec_today()):
            return False
        account_id, recipient, lang = id_of(account), req.user_email, req.language
        subject = compose(KIND, lang=lang, **request_context(req), temporary_password="-").subject

    def set_password_and_email():
        password = generate_temporary_password()
        password_hash = hash_password(password)  # the slow part, no transaction open
        with session_scope() as s:
            req = get_row(s, AccessRequest, request_id)
            account = get_row(s, Account, account_id)
            set_temporary_password(account, password_hash=password_hash)
            s.add(account)
            audit(s, request_id, AuditEventKind.password_reset, actor=actor, round=round_)
            return compose(KIND, lang=lang, **request_context(req), temporary_password=password)

    try:
        done = outbox.send_secret(request_id=request_id, kind=KIND, round=round_, recipient=recipient,
                                  subject=subject, lang=lang, make_message=set_password_and_email)
    except outbox.SecretNotSent:
        # No text of the message: the row is failed, and the sweeper makes a new password.
        log.warning("reset email of request %s round %s not sent", request_id, round_)
        return False
    # held: another sender holds this very email and makes its own password; already sent: never twice
    return done is outbox.SecretSend.sent
