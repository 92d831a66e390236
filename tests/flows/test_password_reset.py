"""Forgotten password on « Mon accès » (flows.password_reset): a new temporary password goes to
the user's mailbox only, the old one stops working at once, and the caller learns nothing
(unknown, disabled, expired or rate-limited: the same silence). Real database, real SMTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from flows.password_reset import request_password_reset, retry_password_resets
from models.accounts import SignInRefused, sign_in
from models.db import session_scope
from models.enums import AuditEventKind
from models.tables import AccessRequest, Account, AuditEvent, OutboxEmail, SecurityEvent, quebec_today, utcnow
from notifications.templates import read_secret
from tests.conftest import _reset_caches
from tests.ui.conftest import issued_account, request_data, submit

OLD = "Ancien-mot-de-passe-2026"


@pytest.fixture
def mail(app_env, smtp_server, monkeypatch):
    """The session's SMTP server, the settings pointing at it, emptied for this test."""
    monkeypatch.setenv("RAMQ_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("RAMQ_SMTP_PORT", str(smtp_server.port))
    _reset_caches()
    smtp_server.clear()
    return smtp_server


def issued(**kw) -> tuple[dict, str, str, int]:
    """An issued account on a stored request: (account, user email, authorizer email, request id)."""
    data = request_data()
    sub = submit(data)
    account = issued_account(sub.request_id, OLD, must_change=False, **kw)
    return account, data["user"]["email"], data["authorizer"]["email"], sub.request_id


def text_of(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def html_of(msg) -> str:
    return msg.get_body(("html",)).get_content()


def password_mails(smtp, address: str) -> list:
    return [m for m in smtp.to(address) if "mot de passe" in str(m["Subject"])]


def refused(username: str, password: str, *, client: str | None = None) -> str | None:
    try:
        sign_in(username, password, client=client, kind="issued")
    except SignInRefused as exc:
        return exc.code
    return None


def test_a_new_password_goes_to_the_user_only_and_the_old_one_dies(mail):
    account, user, authorizer, request_id = issued()
    assert request_password_reset(account["username"].upper() + " ", client="10.0.0.1") is None

    (msg,) = password_mails(mail, user)
    assert not mail.to(authorizer)
    assert mail.envelopes[-1].rcpt_tos == [user]
    password = read_secret(text_of(msg))
    assert password and len(password) >= 14 and password in html_of(msg)
    assert account["username"] not in text_of(msg) + html_of(msg)  # one credential per email

    assert refused(account["username"], OLD) == "bad_credentials"
    signed = sign_in(account["username"], password, client=None, kind="issued")
    assert signed.must_change_password
    with session_scope() as s:
        row = s.exec(select(Account).where(Account.id == account["id"])).one()
        assert row.must_change_password and row.temp_password_expires_at is not None
        (email,) = s.exec(select(OutboxEmail).where(OutboxEmail.request_id == request_id,
                                                    OutboxEmail.kind == "password_reset")).all()
        assert email.status == "sent" and email.recipient == user
        assert email.body_text is None and email.body_html is None
        events = s.exec(select(AuditEvent).where(AuditEvent.request_id == request_id,
                                                 AuditEvent.event == AuditEventKind.password_reset.value)).all()
        assert len(events) == 1 and events[0].actor == "utilisateur"
        assert password not in str(events[0].detail)


def test_by_email_and_each_reset_is_its_own_email(mail):
    account, user, _, request_id = issued()
    request_password_reset(user.upper(), client=None)
    request_password_reset(account["username"], client=None)
    first, second = (read_secret(text_of(m)) for m in password_mails(mail, user))
    assert first != second
    assert refused(account["username"], first) == "bad_credentials"
    assert refused(account["username"], second) is None
    with session_scope() as s:
        keys = s.exec(select(OutboxEmail.key).where(OutboxEmail.request_id == request_id,
                                                    OutboxEmail.kind == "password_reset")).all()
    assert len(set(keys)) == 2


def test_unknown_disabled_or_expired_accounts_get_the_same_silence(mail):
    disabled, disabled_user, _, _ = issued()
    with session_scope() as s:
        s.get(Account, disabled["id"]).disabled = True
    today = quebec_today()
    expired, expired_user, _, _ = issued(valid_from=today - timedelta(days=400),
                                         valid_until=today - timedelta(days=1))
    for who in ("personne-inconnue", "inconnu@example.com", "", disabled["username"], disabled_user,
                expired["username"], expired_user):
        assert request_password_reset(who, client="10.0.0.2") is None
    assert mail.messages == []
    assert refused(expired["username"], OLD) == "bad_credentials"  # untouched (and still expired)
    with session_scope() as s:
        assert s.get(Account, disabled["id"]).password_hash.startswith("$argon2id$")


def test_staff_accounts_are_not_reset_here(mail):
    from tests.ui.conftest import STAFF_PASSWORD, staff_account

    staff = staff_account("respondent", email="agent.reset@ramq.example.qc.ca")
    request_password_reset(staff["username"], client=None)
    request_password_reset("agent.reset@ramq.example.qc.ca", client=None)
    assert mail.messages == []
    assert sign_in(staff["username"], STAFF_PASSWORD, client=None, kind="staff")


def test_over_the_account_limit_nothing_is_sent_and_a_security_event_is_kept(mail, monkeypatch):
    monkeypatch.setenv("RAMQ_PASSWORD_RESETS_PER_ACCOUNT_DAY", "2")
    _reset_caches()
    account, user, _, _ = issued()
    with session_scope() as s:
        before = len(s.exec(select(SecurityEvent).where(SecurityEvent.kind == "password_reset")).all())
    for _ in range(3):
        request_password_reset(account["username"], client=None)
    mails = password_mails(mail, user)
    assert len(mails) == 2
    last = read_secret(text_of(mails[-1]))
    assert refused(account["username"], last) is None  # the refused one changed nothing
    with session_scope() as s:
        events = s.exec(select(SecurityEvent).where(SecurityEvent.kind == "password_reset")).all()
    assert len(events) == before + 1
    assert events[-1].code == "rate_limited" and events[-1].detail["limit"] == "account"
    assert account["username"] not in str(events[-1].detail)


def test_over_the_client_limit_nothing_is_sent(mail, monkeypatch):
    monkeypatch.setenv("RAMQ_PASSWORD_RESETS_PER_CLIENT_HOUR", "2")
    _reset_caches()
    client = "10.9.8.7"
    request_password_reset("inconnu-1", client=client)  # unknown names count too
    request_password_reset("inconnu-2", client=client)
    account, user, _, _ = issued()
    request_password_reset(account["username"], client=client)
    assert password_mails(mail, user) == []
    assert refused(account["username"], OLD) is None  # still the old password
    with session_scope() as s:
        last = s.exec(select(SecurityEvent).where(SecurityEvent.kind == "password_reset")
                      .order_by(SecurityEvent.id.desc())).first()
    assert last.code == "rate_limited" and last.detail["limit"] == "client"
    request_password_reset(account["username"], client="10.9.8.8")  # another client may
    assert len(password_mails(mail, user)) == 1


def test_a_failed_send_is_retried_with_a_new_password(mail):
    account, user, _, request_id = issued()
    mail.fail_next(1)
    request_password_reset(account["username"], client=None)  # same silence
    assert password_mails(mail, user) == []
    assert refused(account["username"], OLD) == "bad_credentials"  # already replaced
    with session_scope() as s:
        (row,) = s.exec(select(OutboxEmail).where(OutboxEmail.request_id == request_id,
                                                  OutboxEmail.kind == "password_reset")).all()
        assert row.status == "failed" and row.body_text is None
    assert retry_password_resets() == []  # not before the outbox's backoff
    later = utcnow() + timedelta(minutes=5)
    assert retry_password_resets(later) == [request_id]
    (msg,) = password_mails(mail, user)
    password = read_secret(text_of(msg))
    assert refused(account["username"], password) is None
    assert retry_password_resets(later) == []  # sent: never again
    with session_scope() as s:
        row = s.exec(select(OutboxEmail).where(OutboxEmail.request_id == request_id,
                                               OutboxEmail.kind == "password_reset")).one()
        assert row.status == "sent" and row.body_text is None
        actors = s.exec(select(AuditEvent.actor).where(
            AuditEvent.request_id == request_id,
            AuditEvent.event == AuditEventKind.password_reset.value)).all()
    assert actors == ["utilisateur", "système"]


def test_the_request_email_is_the_address_used(mail):
    """The account's mailbox is the request's user email, whatever the account row holds."""
    account, user, authorizer, request_id = issued()
    with session_scope() as s:
        s.get(Account, account["id"]).email = authorizer
        assert s.get(AccessRequest, request_id).user_email == user
    request_password_reset(authorizer, client=None)  # the authorizer's address finds nothing
    assert mail.messages == []
    request_password_reset(account["username"], client=None)
    assert len(password_mails(mail, user)) == 1 and not mail.to(authorizer)


def test_the_sign_in_waits_apply(mail):
    """A guesser the sign-in makes wait cannot reset instead (the same waits as the login)."""
    account, user, _, request_id = issued()
    client = "10.6.6.6"
    for _ in range(3):  # the pair's counter: a wait after the third failure
        assert refused(account["username"], "mauvais-mot-de-passe-1", client=client) == "bad_credentials"
    request_password_reset(account["username"], client=client)
    assert password_mails(mail, user) == []
    assert refused(account["username"], OLD) is None  # unchanged
    with session_scope() as s:
        last = s.exec(select(SecurityEvent).where(SecurityEvent.kind == "password_reset")
                      .order_by(SecurityEvent.id.desc())).first()
    assert last.code == "throttled" and last.request_id == request_id
