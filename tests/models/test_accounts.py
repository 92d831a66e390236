"""Accounts: slow hashes, temporary passwords, password rules, usernames, staff emails,
sign-in (no hard lockout), validity. The attacks on sign-in are in tests/security/test_sign_in.py."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlmodel import select

from models.accounts import (
    AccountError,
    change_own_password,
    change_password,
    create_staff,
    generate_temporary_password,
    hash_password,
    password_problem,
    propose_username,
    sign_in,
    verify_password,
)
from models.db import session_scope
from models.tables import Account

PASSWORD = "Bonjour-Quebec-2026"


def _staff(**kw) -> str:
    name = kw.pop("username", f"agent{uuid.uuid4().hex[:8]}")
    kw.setdefault("email", f"{name}@ramq.example.qc.ca")
    with session_scope() as s:
        create_staff(s, username=name, role=kw.pop("role", "respondent"), password=PASSWORD, **kw)
    return name


def _signed_in(username: str, password: str, **kw):
    """The signed-in account, or None when refused."""
    kw.setdefault("client", None)
    kw.setdefault("kind", None)
    try:
        return sign_in(username, password, **kw)
    except AccountError:
        return None


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
    assert sign_in(name.upper(), PASSWORD, client=None, kind="staff").role == "manager"
    assert _signed_in(name, "wrong") is None
    assert _signed_in("nobody-here", PASSWORD) is None
    assert _signed_in(name, PASSWORD, kind="issued") is None  # a staff account is no user
    with session_scope() as s:
        with pytest.raises(AccountError) as err:
            create_staff(s, username=name, role="respondent", password=PASSWORD,
                         email="autre.agent@ramq.example.qc.ca")
        assert err.value.code == "username_taken"
        with pytest.raises(AccountError):
            create_staff(s, username="x" + name, role="admin", password=PASSWORD,
                         email="autre.agent@ramq.example.qc.ca")


@pytest.mark.parametrize("email, code", [
    (None, "email_required"), ("  ", "email_required"), ("pas-une-adresse", "invalid_email"),
    ("Info@ramq.example.qc.ca", "shared_mailbox"), ("ne-pas-repondre@ramq.example.qc.ca", "shared_mailbox"),
])
def test_a_staff_account_needs_a_personal_email(engine, email, code):
    with session_scope() as s:
        with pytest.raises(AccountError) as err:
            create_staff(s, username=f"agent{uuid.uuid4().hex[:8]}", role="respondent",
                         password=PASSWORD, email=email)
    assert err.value.code == code
    assert "adresse" in str(err.value)  # a French sentence, not a code


def test_a_staff_email_is_stored_normalized(engine):
    name = _staff(email="  Julie.Roy@RAMQ.example.qc.ca ")
    with session_scope() as s:
        assert s.exec(select(Account.email).where(Account.username == name)).one() == \
            "julie.roy@ramq.example.qc.ca"


def test_cli_staff_add_says_in_french_that_the_email_is_missing(engine, monkeypatch):
    from typer.testing import CliRunner

    from flows.cli import app

    monkeypatch.setenv("RAMQ_STAFF_PASSWORD", PASSWORD)
    name = f"agent{uuid.uuid4().hex[:8]}"
    runner = CliRunner()
    result = runner.invoke(app, ["staff", "add", name, "--role", "respondent"])
    assert result.exit_code != 0
    assert "adresse électronique professionnelle est obligatoire" in result.output
    result = runner.invoke(app, ["staff", "add", name, "--role", "respondent", "--email", "info@ramq.qc.ca"])
    assert result.exit_code != 0 and "boîte partagée" in result.output
    result = runner.invoke(app, ["staff", "add", name, "--role", "respondent",
                                 "--email", f"{name}@ramq.example.qc.ca"])
    assert result.exit_code == 0, result.output
    assert _signed_in(name, PASSWORD, kind="staff") is not None
    soes = f"soes{uuid.uuid4().hex[:8]}"
    result = runner.invoke(app, ["staff", "add", soes, "--role", "soes", "--email", f"{soes}@ramq.example.qc.ca"])
    assert result.exit_code == 0, result.output
    with session_scope() as s:
        assert s.exec(select(Account.role).where(Account.username == soes)).one() == "soes"


def test_wrong_passwords_never_lock_the_account(engine):
    """Today's rule was five wrong passwords and a 15-minute lockout for everyone: now the
    guesser waits, the real user (another client) signs in."""
    name = _staff()
    for _ in range(8):
        assert _signed_in(name, "devine-encore-1", client="203.0.113.9") is None
    assert _signed_in(name, PASSWORD, client="198.51.100.4") is not None


def test_validity_period_and_password_change(engine):
    name = f"u{uuid.uuid4().hex[:8]}"
    temp = generate_temporary_password()
    with session_scope() as s:
        s.add(Account(username=name, kind="issued", role="user", password_hash=hash_password(temp),
                      must_change_password=True, valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31)))
    account = _signed_in(name, temp, today=date(2026, 6, 1), kind="issued")
    assert account and account.must_change_password
    assert _signed_in(name, temp, today=date(2027, 1, 1)) is None
    assert _signed_in(name, temp, today=date(2025, 12, 31)) is None
    with pytest.raises(AccountError) as err:
        change_own_password(account_id=account.account_id, current=temp, new=temp)
    assert err.value.code == "password_unchanged"
    with pytest.raises(AccountError) as err:
        change_own_password(account_id=account.account_id, current="pas-le-bon-2026",
                            new="Nouveau-Depart-2026")
    assert err.value.code == "wrong_password"
    change_own_password(account_id=account.account_id, current=temp, new="Nouveau-Depart-2026")
    assert _signed_in(name, temp, today=date(2026, 6, 1)) is None
    assert not _signed_in(name, "Nouveau-Depart-2026", today=date(2026, 6, 1)).must_change_password
    with session_scope() as s:
        stored = s.exec(select(Account).where(Account.username == name)).one()
        assert stored.temp_password_expires_at is None
    with session_scope() as s:  # the session-bound form still works
        change_password(s, account_id=account.account_id, current="Nouveau-Depart-2026",
                        new="Encore-Nouveau-2026")
    assert _signed_in(name, "Encore-Nouveau-2026", today=date(2026, 6, 1)) is not None


def test_proposed_usernames_are_unique_and_ascii(engine):
    with session_scope() as s:
        first = propose_username(s, first_name="ÉLODIE", last_name="CÔTÉ-D'ARCY")
        assert first.startswith("ecotedarcy") and first.isascii()
        s.add(Account(username=first, kind="issued", role="user", password_hash="x"))
        s.flush()
        assert propose_username(s, first_name="Élodie", last_name="Côté-d'Arcy") != first


def test_authenticate_for_scripts_writes_nothing_and_works_inside_a_transaction(engine):
    from models.accounts import authenticate

    name = _staff()
    with session_scope() as s:
        s.exec(select(Account.id).where(Account.username == name)).one()  # a write transaction is open
        assert authenticate(s, username=name, password=PASSWORD).username == name
        assert authenticate(s, username=name, password="faux-mot-2026") is None
    assert authenticate(username=name, password=PASSWORD).username == name
