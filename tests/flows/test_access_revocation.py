"""Revoking and restoring an issued access, and telling people before it ends (issue 10,
item 2): a respondent or a manager revokes with a reason (the account stops working at once,
the user and the authorizer are told, audited), restores likewise; the sweeper tells the user
and the authorizer once, 30 days before the end, with a link to the form prefilled from the old
request."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlmodel import select

from flows import api
from flows.errors import ActionError
from flows.sweeper import _notify_expiring, sweep
from models import accounts
from models.db import session_scope
from models.settings import get_settings
from models.tables import AccessRequest, Account, AuditEvent, OutboxEmail, SecurityEvent, quebec_today, utcnow
from tests.smtp_server import start_smtp_server
from tests.ui.conftest import authorized_request, issued_account, staff_account

PASSWORD = "Acces-issued-2026!"


@pytest.fixture
def mail(app_env, tmp_path, monkeypatch):
    """A real SMTP server the product sends to, for this test."""
    server = start_smtp_server(maildir=tmp_path / "mail")
    for name, value in {"RAMQ_SMTP_HOST": server.host, "RAMQ_SMTP_PORT": str(server.port),
                        "RAMQ_SMTP_STARTTLS": "false", "RAMQ_SMTP_TLS": "false",
                        "RAMQ_SMTP_TIMEOUT_SECONDS": "10"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield server
    server.stop()
    get_settings.cache_clear()


def with_access(**kw) -> tuple[int, dict, AccessRequest]:
    sub, _ = authorized_request()
    account = issued_account(sub.request_id, PASSWORD, must_change=False, **kw)
    with session_scope() as s:
        req = s.get(AccessRequest, sub.request_id)
        s.expunge(req)
    return sub.request_id, account, req


def can_sign_in(username: str) -> bool:
    try:
        accounts.sign_in(username, PASSWORD, client=None, kind="issued")
    except accounts.SignInRefused as exc:
        assert exc.code == "bad_credentials"
        assert accounts.authenticate(username=username, password=PASSWORD) is None
        return False
    assert accounts.authenticate(username=username, password=PASSWORD) is not None
    return True


def told(mail, req: AccessRequest, word: str, count: int = 1, timeout: float = 10.0) -> dict:
    """The latest message about ``word`` (in its subject) to the user and to the authorizer of
    ``req``, once each has ``count`` of them (other tests' background sends may arrive too)."""
    deadline = time.monotonic() + timeout

    def found() -> dict:
        return {a: [m for m in mail.to(a) if word in m["Subject"]] for a in (req.user_email, req.authorizer_email)}

    with mail._cond:
        if not mail._cond.wait_for(lambda: all(len(v) >= count for v in found().values()),
                                   deadline - time.monotonic()):
            raise AssertionError(f"not told: {word}")
    return {a: v[-1] for a, v in found().items()}


def refused(code: str, fn, *args, **kwargs) -> None:
    with pytest.raises(ActionError) as err:
        fn(*args, **kwargs)
    assert err.value.code == code


def events(request_id: int, event: str) -> list[AuditEvent]:
    with session_scope() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.request_id == request_id,
                                                    AuditEvent.event == event)).all())


def outbox_rows(request_id: int, kind: str) -> list[OutboxEmail]:
    with session_scope() as s:
        return list(s.exec(select(OutboxEmail).where(OutboxEmail.request_id == request_id,
                                                     OutboxEmail.kind == kind)).all())


def test_revoked_and_expired_accounts_are_refused_on_both_sign_in_paths(engine):
    _, account, _ = with_access()
    assert can_sign_in(account["username"])
    with session_scope() as s:
        row = s.get(Account, account["id"])
        row.disabled = True
        s.add(row)
    assert not can_sign_in(account["username"])
    today = quebec_today()
    _, expired, _ = with_access(valid_from=today - timedelta(days=400), valid_until=today - timedelta(days=1))
    assert not can_sign_in(expired["username"])


def test_a_respondent_revokes_and_a_manager_restores_each_told_and_audited(mail):
    request_id, account, req = with_access()
    respondent, manager = staff_account("respondent")["username"], staff_account("manager")["username"]
    api.revoke_access(request_id, staff=respondent, reason="Engagement de confidentialité non respecté")
    assert not can_sign_in(account["username"])  # at once
    (event,) = events(request_id, "access_revoked")
    assert event.actor == respondent
    assert event.detail == {"account_id": account["id"], "round": 1,
                            "reason": "Engagement de confidentialité non respecté"}
    for message in told(mail, req, "révoqué").values():
        body = message.get_body(("plain",)).get_content()
        assert req.reference in body
        assert "Engagement de confidentialité non respecté" in body
        assert account["username"] not in message.as_string() and PASSWORD not in message.as_string()

    api.restore_access(request_id, staff=manager, reason="Vérification faite")
    assert can_sign_in(account["username"])
    assert events(request_id, "access_restored")[0].actor == manager
    told(mail, req, "rétabli")

    api.revoke_access(request_id, staff=manager, reason="Départ de l'établissement")  # again: told again
    assert not can_sign_in(account["username"])
    told(mail, req, "révoqué", count=2)
    assert sorted(r.round for r in outbox_rows(request_id, "access_revoked")) == [1, 1, 2, 2]


def test_who_may_revoke_and_the_refusals(engine):
    request_id, account, req = with_access()
    manager = staff_account("operator")["username"]
    for staff in (staff_account("soes")["username"], "", "personne-inconnue"):
        refused("not_allowed", api.revoke_access, request_id, staff=staff, reason="motif")
    refused("reason_required", api.revoke_access, request_id, staff=manager, reason="  ")
    party = staff_account("respondent", email=req.user_email)["username"]
    refused("conflict_of_interest", api.revoke_access, request_id, staff=party, reason="motif")
    refused("not_revoked", api.restore_access, request_id, staff=manager, reason="motif")
    assert can_sign_in(account["username"])
    api.revoke_access(request_id, staff=manager, reason="motif")
    refused("already_revoked", api.revoke_access, request_id, staff=manager, reason="encore")
    sub, _ = authorized_request()
    refused("no_account", api.revoke_access, sub.request_id, staff=manager, reason="motif")
    with session_scope() as s:
        codes = set(s.exec(select(SecurityEvent.code).where(SecurityEvent.request_id == request_id,
                                                            SecurityEvent.kind == "revoke_access")).all())
    assert {"not_allowed", "conflict_of_interest", "already_revoked"} <= codes


def test_an_access_past_its_validity_is_not_restored(engine):
    today = quebec_today()
    request_id, account, _ = with_access(valid_from=today - timedelta(days=400), valid_until=today - timedelta(days=1))
    manager = staff_account("manager")["username"]
    api.revoke_access(request_id, staff=manager, reason="motif")
    refused("access_expired", api.restore_access, request_id, staff=manager, reason="motif")


def test_the_sweeper_tells_both_people_once_before_the_end_with_a_renewal_link(mail):
    today = quebec_today()
    request_id, account, req = with_access(valid_until=today + timedelta(days=20))
    later, _, _ = with_access(valid_until=today + timedelta(days=40))
    for _ in range(2):
        sweep(grace_seconds=3600, request_ids=[request_id, later])
    assert len(events(request_id, "expiry_notified")) == 1 and events(later, "expiry_notified") == []
    assert len(outbox_rows(request_id, "access_expiring")) == 2
    notices = told(mail, req, "prend fin")
    for message in notices.values():
        assert account["username"] not in message.as_string()
    user_body = notices[req.user_email].get_body(("plain",)).get_content()
    url = next(word for word in user_body.split() if "/nouvelle-demande?t=" in word)
    assert "/nouvelle-demande?t=" not in notices[req.authorizer_email].get_body(("plain",)).get_content()
    data = api.renewal_form(parse_qs(urlparse(url).query)["t"][0])
    assert data["user"]["email"] == req.user_email and data["authorizer"]["email"] == req.authorizer_email
    assert data["user"]["signature"] is None and data["user"]["commitments_accepted"] is False
    assert data["authorization"] is None
    refused("link_invalid", api.renewal_form, url[-20:])


def test_two_sweepers_at_once_tell_once_and_a_revoked_access_is_not_told(engine):
    today = quebec_today()
    request_id, _, _ = with_access(valid_until=today + timedelta(days=5))
    revoked, _, _ = with_access(valid_until=today + timedelta(days=5))
    api.revoke_access(revoked, staff=staff_account("manager")["username"], reason="motif")
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def sweeper() -> None:
        barrier.wait()
        try:
            _notify_expiring(utcnow(), [request_id, revoked])
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert len(events(request_id, "expiry_notified")) == 1
    assert sorted(r.key.rsplit(":", 1)[1] for r in outbox_rows(request_id, "access_expiring")) == [
        "authorizer", "user"]
    assert outbox_rows(revoked, "access_expiring") == []
