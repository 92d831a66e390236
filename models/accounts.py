"""Accounts: RAMQ staff (respondent, manager) and the accounts issued to users.

Passwords are kept only as Argon2id hashes (slow on purpose). A temporary password is made by
the caller, hashed here, and never stored in clear.
"""

from __future__ import annotations

import re
import secrets
import string
import unicodedata
from datetime import date, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, select

from models.tables import Account, AccountKind, RamqProcessing, quebec_today, utcnow

_hasher = PasswordHasher()  # Argon2id, library defaults (64 MiB, 3 passes)

# An operator is a manager who may also open the Prefect UI (cancel, delete, resume runs there).
STAFF_ROLES = ("respondent", "manager", "operator")
MIN_PASSWORD_LENGTH = 12
# Guessing: five wrong passwords in a row lock the account for fifteen minutes.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
TEMP_PASSWORD_LENGTH = 16
# No look-alike characters (0/O, 1/l/I): the user types it from an email.
_PASSWORD_ALPHABET = "".join(
    c for c in string.ascii_letters + string.digits + "-_!@#%+=?" if c not in "0O1lI"
)


class AccountError(Exception):
    """A refused account operation; ``code`` is stable, the message is for people."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(message or code)
        self.code = code


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
    taken = set(session.exec(select(Account.username).where(Account.username.startswith(prefix))).all())
    reserved = select(RamqProcessing.username).where(RamqProcessing.username.startswith(prefix))
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


def create_staff(
    session: Session, *, username: str, role: str, password: str, display_name: str = "",
    email: str | None = None,
) -> Account:
    if role not in STAFF_ROLES:
        raise AccountError("unknown_role", f"Rôle inconnu : {role}")
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise AccountError("invalid_username")
    if not username_available(session, username):
        raise AccountError("username_taken")
    problem = password_problem(password, username)
    if problem:
        raise AccountError(problem)
    account = Account(
        username=username, kind=AccountKind.staff.value, role=role, display_name=display_name,
        email=(email or "").strip().lower() or None, password_hash=hash_password(password),
        password_changed_at=utcnow(),
    )
    session.add(account)
    session.flush()
    return account


def authenticate(session: Session, *, username: str, password: str, today: date | None = None) -> Account | None:
    """The account when the password matches and the account is usable today, else None.

    The same slow hash runs for unknown usernames, so timing does not reveal which exist.
    """
    account = session.exec(
        select(Account).where(Account.username == username.strip().lower())
    ).first()
    if account is None:
        verify_password(_DUMMY_HASH, password)
        return None
    now = utcnow()
    if account.locked_until and account.locked_until > now:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(account.password_hash, password):
        account.failed_logins += 1
        if account.failed_logins >= MAX_FAILED_LOGINS:
            account.locked_until = now + LOCKOUT
            account.failed_logins = 0
        session.add(account)
        return None
    account.failed_logins = 0
    account.locked_until = None
    session.add(account)
    if account.disabled:
        return None
    today = today or quebec_today()
    if account.valid_from and today < account.valid_from:
        return None
    if account.valid_until and today > account.valid_until:
        return None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    return account


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
    account.password_changed_at = utcnow()
    session.add(account)
    return account


_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
