"""Accounts: RAMQ staff (respondent, manager) and the accounts issued to users.

Passwords are kept only as Argon2id hashes (slow on purpose). A temporary password is made by
the caller, hashed here, and never stored in clear.

Signing in (:func:`sign_in`) never hashes inside a database transaction: the account is read in
a ``read_scope`` (no write lock on SQLite), the hash is checked with no connection held, and the
throttle counters (``models.throttle``) are short write transactions before and after. Guessing
is slowed by growing waits, never by a lockout that anyone could trigger.
"""

from __future__ import annotations

import re
import secrets
import string
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import update
from sqlmodel import Session, col, select

from models.enums import AccountKind
from models.i18n import exists, translate
from models.tables import Account, RamqProcessing, id_of, quebec_today, utcnow

_hasher = PasswordHasher()  # Argon2id, library defaults (64 MiB, 3 passes)

# An operator is a manager who may also open the Prefect UI (cancel, delete, resume runs there).
# A SOES countersigns section 4 after a respondent approved (RAMQ_COUNTERSIGN).
STAFF_ROLES = ("respondent", "soes", "manager", "operator")
MIN_PASSWORD_LENGTH = 12
TEMP_PASSWORD_LENGTH = 16
# No look-alike characters (0/O, 1/l/I): the user types it from an email.
_PASSWORD_ALPHABET = "".join(
    c for c in string.ascii_letters + string.digits + "-_!@#%+=?" if c not in "0O1lI"
)


class AccountError(Exception):
    """A refused account operation; ``code`` is stable, the message is for people."""

    def __init__(self, code: str, message: str = "", **params: str):
        # French sentences (the CLI prints them): errors.account.<code> in the catalogue.
        key = f"errors.account.{code}"
        if not message and exists(key):
            message = translate(key, "fr", **{"n": MIN_PASSWORD_LENGTH, **params})
        super().__init__(message or code)
        self.code = code


class SignInRefused(AccountError):
    """A refused sign-in: ``bad_credentials`` (wrong password, unknown, disabled or expired
    account: one answer for all), ``sign_in_throttled`` (wait ``wait_seconds``, the password was
    not even checked) or ``temp_password_expired`` (the right temporary password, too late)."""

    def __init__(self, code: str, *, wait_seconds: int = 0):
        super().__init__(code)
        self.wait_seconds = wait_seconds


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def generate_temporary_password(length: int = TEMP_PASSWORD_LENGTH) -> str:
    """Cryptographically random, with at least one letter and one digit."""
    while True:
        pw = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))
        if any(c.isdigit() for c in pw) and any(c.isalpha() for c in pw):
            return pw


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why a chosen password is refused (a message code), or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "password_too_short"
    if not (any(c.isalpha() for c in password) and any(not c.isalpha() for c in password)):
        return "password_too_simple"
    if username and username.lower() in password.lower():
        return "password_contains_username"
    return None


def _ascii_slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z]", "", text)


def _taken_usernames(session: Session, prefix: str, *, except_request: int | None = None) -> set[str]:
    """Usernames in use: accounts, and approvals whose account is not created yet (section 4
    reserves its username at approval)."""
    taken = set(session.exec(select(Account.username).where(col(Account.username).startswith(prefix))).all())
    reserved = select(RamqProcessing.username).where(col(RamqProcessing.username).startswith(prefix))
    if except_request is not None:
        reserved = reserved.where(RamqProcessing.request_id != except_request)
    return taken | {u for u in session.exec(reserved).all() if u}


def next_free_username(session: Session, base: str, *, except_request: int | None = None) -> str:
    """``base`` followed by the first free two-digit number (``mtremblay01``, ``mtremblay02``…)."""
    base = base[:37] or "utilisateur"
    taken = _taken_usernames(session, base, except_request=except_request)
    n = 1
    while f"{base}{n:02d}" in taken:
        n += 1
    return f"{base}{n:02d}"


def propose_username(session: Session, *, first_name: str, last_name: str,
                     except_request: int | None = None) -> str:
    """A unique username in the RAMQ style: first letter + last name + digits (``mtremblay01``),
    skipping usernames of accounts and of approvals not yet issued."""
    base = (_ascii_slug(first_name)[:1] + _ascii_slug(last_name)[:12]) or "utilisateur"
    return next_free_username(session, base, except_request=except_request)


def username_available(session: Session, username: str, *, except_request: int | None = None) -> bool:
    if session.exec(select(Account.id).where(Account.username == username)).first() is not None:
        return False
    reserved = select(RamqProcessing.id).where(RamqProcessing.username == username)
    if except_request is not None:
        reserved = reserved.where(RamqProcessing.request_id != except_request)
    return session.exec(reserved).first() is None


def suggest_username(session: Session, username: str, *, except_request: int | None = None) -> str:
    """The next free username after a taken one (``mtremblay01`` → ``mtremblay02``)."""
    return next_free_username(session, username.rstrip("0123456789"), except_request=except_request)


USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{2,39}$")


def staff_email(email: str | None) -> str:
    """A staff member's own professional address, normalized: required (the conflict-of-interest
    check compares it with the request's mailboxes), valid, and not a shared mailbox."""
    from models.rules import is_confusable_email, is_shared_mailbox, normalize_email

    if not (email or "").strip():
        raise AccountError("email_required")
    normalized = normalize_email(email)
    if normalized is None:
        raise AccountError("invalid_email")
    if is_shared_mailbox(normalized):
        raise AccountError("shared_mailbox")
    if is_confusable_email(normalized):  # it would slip past the conflict-of-interest check
        raise AccountError("confusable_email")
    return normalized


def person_key(text: str | None) -> str:
    """A name as compared for conflicts of interest: format characters (zero-width spaces,
    soft hyphens, joiners) removed, compatibility forms, case and accents folded, whitespace
    collapsed, words in order (``TREMBLAY Marie`` is ``Marie Tremblay``)."""
    from models.rules import fold

    cleaned = "".join(c for c in unicodedata.normalize("NFKC", text or "")
                      if unicodedata.category(c) != "Cf")
    return " ".join(sorted(fold(cleaned).split()))


def create_staff(
    session: Session, *, username: str, role: str, password: str, display_name: str = "",
    email: str | None = None,
) -> Account:
    """A staff account; ``email`` (their own professional address) is required."""
    if role not in STAFF_ROLES:
        raise AccountError("unknown_role", role=role)
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise AccountError("invalid_username")
    if not username_available(session, username):
        raise AccountError("username_taken")
    problem = password_problem(password, username)
    if problem:
        raise AccountError(problem)
    email = staff_email(email)
    account = Account(
        username=username, kind=AccountKind.staff.value, role=role, display_name=display_name,
        email=email, password_hash=hash_password(password), password_changed_at=utcnow(),
    )
    session.add(account)
    session.flush()
    return account


def temp_password_expiry(now: datetime | None = None) -> datetime:
    """When a temporary password issued now stops working if unused
    (``settings.temp_password_days``)."""
    from models.settings import get_settings

    return (now or utcnow()) + timedelta(days=get_settings().temp_password_days)


def set_temporary_password(account: Account, *, password_hash: str, now: datetime | None = None) -> None:
    """Gives ``account`` a temporary password (its :func:`hash_password`, made before the
    transaction: no hashing while the write lock is held): it must be changed at the next
    sign-in and stops working unused after ``settings.temp_password_days``. The previous
    password stops working with this change (the caller's transaction)."""
    account.password_hash = password_hash
    account.must_change_password = True
    account.temp_password_expires_at = temp_password_expiry(now)


@dataclass(frozen=True)
class SignedIn:
    """Who signed in (ids and labels only: no hash)."""

    account_id: int
    username: str
    kind: str
    role: str
    display_name: str
    must_change_password: bool


@dataclass(frozen=True)
class _Stored:
    id: int
    username: str
    kind: str
    role: str
    display_name: str
    password_hash: str
    must_change_password: bool
    temp_password_expires_at: datetime | None
    disabled: bool
    valid_from: date | None
    valid_until: date | None


def _read_account(username: str) -> _Stored | None:
    from models.db import read_scope

    with read_scope() as s:
        a = s.exec(select(Account).where(Account.username == username)).first()
        if a is None:
            return None
        return _Stored(id_of(a), a.username, a.kind, a.role, a.display_name or a.username,
                       a.password_hash, bool(a.must_change_password), a.temp_password_expires_at,
                       bool(a.disabled), a.valid_from, a.valid_until)


def in_use(account, today: date) -> bool:
    """Whether the account may be used today at all: not disabled, within its validity. The
    sign-in's rule (:func:`_unusable`) and the forgotten-password request's."""
    return not (account.disabled or (account.valid_from and today < account.valid_from) or (
        account.valid_until and today > account.valid_until))


def _unusable(account, today: date) -> str | None:
    """Why an account whose password matched may not be used today (the one rule for the
    screens' sign-in and the scripts' check), or None: disabled or outside its validity
    (``bad_credentials``), or an issued temporary password left unused past its expiry."""
    if not in_use(account, today):
        return "bad_credentials"
    if (account.kind == AccountKind.issued.value and account.must_change_password
            and account.temp_password_expires_at is not None
            and account.temp_password_expires_at <= utcnow()):
        return "temp_password_expired"
    return None


def sign_in(username: str, password: str, *, client: str | None,
            kind: Literal["staff", "issued"] | None, today: date | None = None) -> SignedIn:
    """Checks a sign-in; raises :class:`SignInRefused` when refused.

    ``client`` is the person's address as the server sees it (``st.context.ip_address``; None
    when unknown); ``kind`` the screen's kind of account (``staff`` also requires a staff role).
    No transaction is open while the password is hashed; an unknown username costs the same
    hash; a throttled attempt is refused before any hash, and recorded as a security event.
    """
    from models import throttle
    from models.security import hashed_key, record_refusal

    username = (username or "").strip().lower()
    try:
        throttle.take_attempt(username, client)  # a short write transaction
    except throttle.Throttled as exc:
        record_refusal("sign_in", "throttled", scope=exc.scope, wait_seconds=exc.wait_seconds,
                       account_kind=kind or "", user_key=hashed_key("login_user", username))
        raise SignInRefused("sign_in_throttled", wait_seconds=exc.wait_seconds) from None
    stored = _read_account(username) if username else None  # read_scope: no write lock
    # The slow part, with no connection held.
    if stored is None:
        verify_password(_DUMMY_HASH, password)
        raise SignInRefused("bad_credentials")
    if not verify_password(stored.password_hash, password):
        raise SignInRefused("bad_credentials")
    new_hash = hash_password(password) if _hasher.check_needs_rehash(stored.password_hash) else None
    throttle.succeeded(username, client)  # a short write transaction
    if new_hash is not None:
        from models.db import session_scope

        with session_scope() as s:  # only if nobody changed the password meanwhile
            s.execute(update(Account).where(col(Account.id) == stored.id,
                                            col(Account.password_hash) == stored.password_hash)
                      .values(password_hash=new_hash))
    if (kind is not None and stored.kind != kind) or (
            stored.kind == AccountKind.staff.value and stored.role not in STAFF_ROLES):
        raise SignInRefused("bad_credentials")
    refusal = _unusable(stored, today or quebec_today())
    if refusal is not None:
        raise SignInRefused(refusal)
    return SignedIn(stored.id, stored.username, stored.kind, stored.role, stored.display_name,
                    stored.must_change_password)


def authenticate(session: Session | None = None, *, username: str, password: str,
                 today: date | None = None) -> Account | None:
    """The account when the password matches and the account is usable today, else None.

    For scripts and tests only: it writes nothing (no throttle counters, no rehash), so it can
    run inside a caller's transaction without waiting on itself. Screens call :func:`sign_in`,
    which is throttled and never hashes inside a transaction. With ``session`` the account is
    read (and returned) through it; without, through a read_scope.
    """
    from models.db import read_scope

    def check(s: Session) -> Account | None:
        account = s.exec(select(Account).where(Account.username == username.strip().lower())).first()
        if account is None:
            verify_password(_DUMMY_HASH, password)
            return None
        if not verify_password(account.password_hash, password):
            return None
        return None if _unusable(account, today or quebec_today()) else account

    if session is not None:
        return check(session)
    with read_scope() as s:
        return check(s)


def change_own_password(*, account_id: int, current: str, new: str) -> None:
    """A signed-in person changes their password: both hashes are computed with no transaction
    open; the change applies only if the password was not changed meanwhile."""
    from models.db import read_scope, session_scope

    with read_scope() as s:
        account = s.get(Account, account_id)
        old_hash, username = (account.password_hash, account.username) if account else ("", "")
    if account is None or not verify_password(old_hash, current):
        raise AccountError("wrong_password")
    if new == current:
        raise AccountError("password_unchanged")
    problem = password_problem(new, username)
    if problem:
        raise AccountError(problem)
    new_hash = hash_password(new)
    with session_scope() as s:
        done = s.exec(update(Account).where(col(Account.id) == account_id,
                                            col(Account.password_hash) == old_hash)
                      .values(password_hash=new_hash, must_change_password=False,
                              temp_password_expires_at=None, password_changed_at=utcnow()))
        if done.rowcount != 1:
            raise AccountError("wrong_password")


def change_password(session: Session, *, account_id: int, current: str, new: str) -> Account:
    account = session.get(Account, account_id)
    if account is None or not verify_password(account.password_hash, current):
        raise AccountError("wrong_password")
    if new == current:
        raise AccountError("password_unchanged")
    problem = password_problem(new, account.username)
    if problem:
        raise AccountError(problem)
    account.password_hash = hash_password(new)
    account.must_change_password = False
    account.temp_password_expires_at = None
    account.password_changed_at = utcnow()
    session.add(account)
    return account


_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
