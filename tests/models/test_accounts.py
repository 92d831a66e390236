"""Accounts: slow hashes, temporary passwords, password rules, usernames, lockout, validity."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlmodel import select

from models.accounts import (
    MAX_FAILED_LOGINS,
    AccountError,
    authenticate,
    change_password,
    create_staff,
    generate_temporary_password,
    hash_password,
    password_problem,
    propose_username,
    verify_password,
)
from models.db import session_scope
from models.tables import Account, utcnow

PASSWORD = "Bonjour-Quebec-2026"


def _staff(**kw) -> str:
    name = kw.pop("username", f"agent{uuid.uuid4().hex[:8]}")
    with session_scope() as s:
        create_staff(s, username=name, role=kw.pop("role", "respondent"), password=PASSWORD, **kw)
    return name


def test_hash_is_argon2id_and_verifies():
    h = hash_password("secret-phrase-123")
    assert h.startswith("$argon2id$") and "secret-phrase-123" not in h
    assert verify_password(h, "secret-phrase-123") and not verify_password(h, "other")
    assert not verify_password("not-a-hash", "x")


def test_temporary_passwords_are_random_long_and_mixed():
    seen = {generate_temporary_password() for _ in range(200)}
    assert len(seen) == 200
    assert all(len(p) >= 14 and any(c.isdigit() for c in p) and any(c.isalpha() for c in p) for p in seen)
    assert not any(c in p for p in seen for c in "0O1lI")


@pytest.mark.parametrize("password, problem", [
    ("court-1", "password_too_short"), ("seulementdeslettres", "password_too_simple"),
    ("agent-maison-2026", "password_contains_username"), ("Un-bon-mot-2026", None)])
def test_password_rules(password, problem):
    assert password_problem(password, "maison") == problem


def test_staff_login_and_roles(engine):
    name = _staff(role="manager")
    with session_scope() as s:
        assert authenticate(s, username=name.upper(), password=PASSWORD).role == "manager"
        assert authenticate(s, username=name, password="wrong") is None
        assert authenticate(s, username="nobody-here", password=PASSWORD) is None
        with pytest.raises(AccountError) as err:
            create_staff(s, username=name, role="respondent", password=PASSWORD)
        assert err.value.code == "username_taken"
        with pytest.raises(AccountError):
            create_staff(s, username="x" + name, role="admin", password=PASSWORD)


def test_repeated_wrong_passwords_lock_the_account(engine):
    name = _staff()
    for _ in range(MAX_FAILED_LOGINS):
        with session_scope() as s:
            assert authenticate(s, username=name, password="devine-encore-1") is None
    with session_scope() as s:  # locked: even the right password is refused for a while
        assert authenticate(s, username=name, password=PASSWORD) is None
        account = s.exec(select(Account).where(Account.username == name)).one()
        assert account.locked_until > utcnow()
        account.locked_until = utcnow() - timedelta(seconds=1)
    with session_scope() as s:
        assert authenticate(s, username=name, password=PASSWORD) is not None


def test_a_success_resets_the_failure_count(engine):
    name = _staff()
    for _ in range(MAX_FAILED_LOGINS - 1):
        with session_scope() as s:
            authenticate(s, username=name, password="faux-mot-de-passe-1")
    with session_scope() as s:
        assert authenticate(s, username=name, password=PASSWORD)
    with session_scope() as s:
        authenticate(s, username=name, password="faux-mot-de-passe-1")
        assert authenticate(s, username=name, password=PASSWORD)


def test_validity_period_and_password_change(engine):
    name = f"u{uuid.uuid4().hex[:8]}"
    temp = generate_temporary_password()
    with session_scope() as s:
        s.add(Account(username=name, kind="issued", role="user", password_hash=hash_password(temp),
                      must_change_password=True, valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31)))
    with session_scope() as s:
        account = authenticate(s, username=name, password=temp, today=date(2026, 6, 1))
        assert account and account.must_change_password
        assert authenticate(s, username=name, password=temp, today=date(2027, 1, 1)) is None
        assert authenticate(s, username=name, password=temp, today=date(2025, 12, 31)) is None
        with pytest.raises(AccountError) as err:
            change_password(s, account_id=account.id, current=temp, new=temp)
        assert err.value.code == "password_unchanged"
        change_password(s, account_id=account.id, current=temp, new="Nouveau-Depart-2026")
    with session_scope() as s:
        assert authenticate(s, username=name, password=temp, today=date(2026, 6, 1)) is None
        assert not authenticate(s, username=name, password="Nouveau-Depart-2026",
                                today=date(2026, 6, 1)).must_change_password


def test_proposed_usernames_are_unique_and_ascii(engine):
    with session_scope() as s:
        first = propose_username(s, first_name="ÉLODIE", last_name="CÔTÉ-D'ARCY")
        assert first.startswith("ecotedarcy") and first.isascii()
        s.add(Account(username=first, kind="issued", role="user", password_hash="x"))
        s.flush()
        assert propose_username(s, first_name="Élodie", last_name="Côté-d'Arcy") != first
