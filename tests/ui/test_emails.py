"""« Courriels » (development mode): the Maildir's messages newest first, links clickable; the
page does not exist outside development mode."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import timedelta

from models.settings import get_settings
from notifications.maildir import ensure_maildir
from tests.ui.conftest import goto, nav_error, texts
from models.tables import utcnow


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
    at = goto(app(), "emails.py")
    assert not at.exception
    labels = [e.label for e in at.expander]
    first = labels.index(next(lab for lab in labels if "Autorisation demandée SEL-TEST-1" in lab))
    second = labels.index(next(lab for lab in labels if "Demande SEL-TEST-1 reçue" in lab))
    assert first < second
    assert "jean.gagnon@cisss.example.qc.ca" in labels[first]
    assert f"]({link})" in texts(at)
    at.text_input(key="mail_filter").input("marie.tremblay@").run()
    assert all("marie.tremblay@" in e.label for e in at.expander)


def test_the_mailbox_page_does_not_exist_outside_development(app, monkeypatch):
    monkeypatch.setenv("RAMQ_ENV", "prod")
    monkeypatch.setenv("RAMQ_SECRET_KEY", "x" * 48)
    get_settings.cache_clear()
    try:
        at = app()
        assert not at.exception
        assert nav_error(at, "emails.py")
    finally:
        get_settings.cache_clear()
