"""« Courriels » (development mode, staff login): the Maildir's messages newest first, links
clickable; the page does not exist outside development mode, and shows nothing (it holds temporary
passwords) to anyone without a staff login."""

from __future__ import annotations

import mailbox
import uuid
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from streamlit.testing.v1 import AppTest

from models.settings import get_settings
from models.tables import utcnow
from notifications.maildir import ensure_maildir
from tests.ui.conftest import SCREENS, TIMEOUT, goto, nav_error, texts
from tests.ui.conftest import staff_account as _staff_account
from ui.common import STAFF_KEY


def staff(role: str) -> dict:
    """A staff account of ``role`` with its own professional address."""
    return _staff_account(role, email=f"{role[:4]}.{uuid.uuid4().hex[:8]}@ramq.example.qc.ca")


def deliver(subject: str, to: str, body: str, when) -> None:
    msg = EmailMessage()
    msg["From"] = "ne-pas-repondre@ramq.example.qc.ca"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg.set_content(body)
    box = mailbox.Maildir(ensure_maildir(get_settings().maildir), create=True)
    box.add(msg)


def test_the_mailbox_lists_messages_newest_first_with_clickable_links(app):
    now = utcnow()
    link = f"{get_settings().base_url}/autoriser?t=abc.def.ghi"
    deliver("Demande SEL-TEST-1 reçue", "marie.tremblay@cisss.example.qc.ca", "Bonjour",
            now - timedelta(minutes=5))
    deliver("Autorisation demandée SEL-TEST-1", "jean.gagnon@cisss.example.qc.ca",
            f"Ouvrez ce lien :\n{link}\nMerci.", now)
    account = staff("respondent")
    at = goto(app(state={STAFF_KEY: account["id"]}), "emails.py")
    assert not at.exception
    labels = [e.label for e in at.expander]
    first = labels.index(next(lab for lab in labels if "Autorisation demandée SEL-TEST-1" in lab))
    second = labels.index(next(lab for lab in labels if "Demande SEL-TEST-1 reçue" in lab))
    assert first < second
    assert "jean.gagnon@cisss.example.qc.ca" in labels[first]
    assert f"]({link})" in texts(at)
    at.text_input(key="mail_filter").input("marie.tremblay@").run()
    filtered = [e.label for e in at.expander]
    assert any("Demande SEL-TEST-1 reçue" in lab for lab in filtered)  # the match stays listed
    assert filtered and all("marie.tremblay@" in lab for lab in filtered)
    assert not any("Autorisation demandée SEL-TEST-1" in lab for lab in filtered)  # the other goes


def test_without_a_staff_login_the_mailbox_shows_no_message(app):
    deliver("Demande SEL-TEST-2 — votre mot de passe temporaire", "marie@cisss.example.qc.ca",
            "Mot de passe temporaire : Tmp-Secret-4242", utcnow())
    at = app()
    assert nav_error(at, "emails.py")
    assert "Tmp-Secret-4242" not in texts(at)
    # The page checks the login itself too (defence in depth): run on its own, it stops.
    alone = AppTest.from_file(str(SCREENS / "emails.py"), default_timeout=TIMEOUT).run()
    assert not alone.exception
    assert "Tmp-Secret-4242" not in texts(alone) and not alone.expander
    assert any("personnel" in str(w.value) for w in alone.warning)


def test_any_staff_role_may_read_the_mailbox(app):
    deliver("Demande SEL-TEST-3 reçue", "marie@cisss.example.qc.ca", "Bonjour", utcnow())
    for role in ("respondent", "manager", "operator"):
        at = goto(app(state={STAFF_KEY: staff(role)["id"]}), "emails.py")
        assert not at.exception
        assert any("SEL-TEST-3" in e.label for e in at.expander), role


def test_the_mailbox_page_does_not_exist_outside_development(app, monkeypatch):
    for name, value in {"RAMQ_ENV": "prod", "RAMQ_SECRET_KEY": "x" * 48,
                        "RAMQ_SMTP_HOST": "smtp.relais.example.qc.ca",
                        "RAMQ_PREFECT_AUTH_STRING": "admin:x"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        account = staff("manager")
        at = app(state={STAFF_KEY: account["id"]})
        assert not at.exception
        assert nav_error(at, "emails.py")
    finally:
        get_settings.cache_clear()


def test_the_mailbox_page_exists_only_with_the_local_mail_sink(app, monkeypatch):
    """In development with a real SMTP relay, the Maildir is not where the mail goes: no page."""
    monkeypatch.setenv("RAMQ_SMTP_HOST", "smtp.relais.example.qc.ca")
    get_settings.cache_clear()
    try:
        at = app(state={STAFF_KEY: staff("manager")["id"]})
        assert not at.exception
        assert nav_error(at, "emails.py")
    finally:
        get_settings.cache_clear()
