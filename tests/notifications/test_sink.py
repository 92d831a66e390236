import asyncio
import mailbox
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest

from models.settings import PROJECT_ROOT, get_settings
from notifications.links import link_url, make_link_token
from notifications.maildir import extract_links, find_messages, list_messages
from notifications.outbox import send_email
from notifications.sink import start_sink
from notifications.templates import compose
from tests.smtp_server import free_port


@pytest.fixture
def sink(tmp_path, monkeypatch):
    port = free_port()
    maildir = tmp_path / "var" / "mail"
    controller = start_sink("127.0.0.1", port, maildir)
    monkeypatch.setenv("RAMQ_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RAMQ_SMTP_PORT", str(port))
    get_settings.cache_clear()
    try:
        yield maildir
    finally:
        controller.stop()
        get_settings.cache_clear()


def test_sink_files_messages_that_list_messages_reads_back(sink):
    link = link_url(make_link_token(request_id=12, purpose="authorize", revision=1).token, "authorize")
    msg = compose("authorization_request", reference="RAMQ-2026-000012",
                  authorizer_name="Jean Gagnon", user_name="Marie Tremblay",
                  applications=["online_payment_authorization"], organization="CISSS de la Capitale",
                  link_url=link, deadline=datetime.now(UTC) + timedelta(days=14))
    asyncio.run(send_email(to="jean.gagnon@cisss.example.qc.ca", subject=msg.subject,
                           text=msg.text, html=msg.html, message_id="<m1@test>"))
    asyncio.run(send_email(to="marie.tremblay@cisss.example.qc.ca", subject="Deuxième",
                           text="Sans lien.", html="<p>Sans lien.</p>"))

    items = list_messages(sink)  # the sink answered 250 only after filing the message
    assert len(items) == 2
    item = next(i for i in items if i.message_id == "<m1@test>")
    assert item.to == "jean.gagnon@cisss.example.qc.ca"
    assert item.from_ == get_settings().mail_from
    assert item.subject == msg.subject and "RAMQ-2026-000012" in item.subject
    assert item.date.tzinfo is not None
    assert abs(item.date - datetime.now(UTC)) < timedelta(minutes=5)
    assert item.text == msg.text and "Bonjour Jean Gagnon," in item.text
    assert "<!DOCTYPE html>" in item.html and "Examiner la demande" in item.html
    assert item.links == [link]

    assert [i.message_id for i in find_messages(sink, to="JEAN.GAGNON@cisss.example.qc.ca")] == ["<m1@test>"]
    assert [i.subject for i in find_messages(sink, subject_contains="deuxième")] == ["Deuxième"]
    assert find_messages(sink, to="jean.gagnon@cisss.example.qc.ca", subject_contains="Deuxième") == []


def test_list_messages_is_newest_first(tmp_path):
    box = mailbox.Maildir(tmp_path / "mail")
    base = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    for n, minutes in enumerate([5, 30, 1]):
        m = EmailMessage()
        m["To"], m["From"], m["Subject"] = "a@example.qc.ca", "b@example.qc.ca", f"n{n}"
        m["Date"] = format_datetime(base + timedelta(minutes=minutes))
        m.set_content(f"Voir https://example.qc.ca/corriger?t=abc{n}.")
        box.add(m)
    items = list_messages(tmp_path / "mail")
    assert [i.subject for i in items] == ["n1", "n0", "n2"]
    assert items[0].links == ["https://example.qc.ca/corriger?t=abc1"]


def test_missing_maildir_is_empty(tmp_path):
    assert list_messages(tmp_path / "nope") == []
    assert find_messages(tmp_path / "nope", to="a@example.qc.ca") == []


def test_extract_links():
    text = ("Ouvrez http://localhost:8501/autoriser?t=a.b-c_d. Puis (https://x.example/y), "
            "encore http://localhost:8501/autoriser?t=a.b-c_d")
    assert extract_links(text) == ["http://localhost:8501/autoriser?t=a.b-c_d", "https://x.example/y"]


def test_sink_module_runs_until_sigterm(tmp_path):
    port = free_port()
    maildir = tmp_path / "mail"
    env = dict(os.environ, RAMQ_VAR_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "notifications.sink", "--host", "127.0.0.1", "--port", str(port),
         "--maildir", str(maildir)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line_read = threading.Event()
        first: list[str] = []

        def read_first_line():
            first.append(proc.stdout.readline())
            line_read.set()

        threading.Thread(target=read_first_line, daemon=True).start()
        assert line_read.wait(30), "the sink did not announce itself"
        assert f"127.0.0.1:{port}" in first[0] and str(maildir) in first[0]

        asyncio.run(_send_to(port))
        assert [i.subject for i in list_messages(maildir)] == ["Essai du puits"]

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        proc.stdout.close()


async def _send_to(port: int) -> None:
    import aiosmtplib

    m = EmailMessage()
    m["To"], m["From"], m["Subject"] = "a@example.qc.ca", "b@example.qc.ca", "Essai du puits"
    m.set_content("Bonjour.")
    await aiosmtplib.send(m, hostname="127.0.0.1", port=port, start_tls=False, timeout=10)


def test_a_reader_parses_each_message_once_however_often_it_looks(tmp_path):
    """``simulate`` (the benchmarks' people) looks for its next email every 50 ms in each of up
    to 32 threads. Parsing every message of the Maildir at each look took the two cores away from
    the stack it measured; a reader parses a message the first time it sees it, never again."""
    from notifications.maildir import MaildirReader

    box = mailbox.Maildir(tmp_path / "mail")
    for n in range(3):
        m = EmailMessage()
        m["To"], m["From"], m["Subject"] = f"u{n}@example.qc.ca", "b@example.qc.ca", f"n{n}"
        m.set_content("Bonjour.")
        box.add(m)
    reader = MaildirReader(tmp_path / "mail")
    for _ in range(5):
        assert [i.subject for i in reader.find(to="U1@example.qc.ca")] == ["n1"]
    assert reader.parsed == 3
    late = EmailMessage()
    late["To"], late["From"], late["Subject"] = "u1@example.qc.ca", "b@example.qc.ca", "n3"
    late.set_content("Encore.")
    key = box.add(late)
    box[key]  # noqa: B018 - a mail client that reads it moves nothing; the reader still sees it
    assert sorted(i.subject for i in reader.find(to="u1@example.qc.ca")) == ["n1", "n3"]
    assert reader.parsed == 4
    assert [i.subject for i in reader.messages()] == [i.subject for i in list_messages(tmp_path / "mail")]
