import asyncio
import logging
import threading

import pytest
from sqlmodel import select

from models.db import session_scope
from models.settings import get_settings
from models.tables import OutboxEmail
from notifications.maildir import list_messages
from notifications.outbox import (
    OutboxError,
    SecretEmailError,
    deliver,
    enqueue,
    exists,
    send_email,
    send_pending,
    send_secret_once,
)
from notifications.templates import Message, compose
from tests.smtp_server import start_smtp_server

PASSWORD = "Zr8-Kp3w!Qa5mN7x"


def _message(ref: str, n: int = 0) -> Message:
    return compose("submission_confirmation", reference=ref, user_name="Marie Tremblay",
                   authorizer_name=f"Jean Gagnon {n}")


def _enqueue(rid: int, kind: str = "submission_confirmation", round: int = 1,
             role: str = "user", to: str = "marie.tremblay@cisss.example.qc.ca") -> OutboxEmail:
    with session_scope() as s:
        return enqueue(s, request_id=rid, kind=kind, round=round, recipient_role=role,
                       recipient=to, message=_message(f"REF-{rid}"), lang="fr")


def _row(key: str) -> OutboxEmail:
    with session_scope() as s:
        return s.exec(select(OutboxEmail).where(OutboxEmail.key == key)).one()


def _password_message(ref: str, password: str = PASSWORD) -> Message:
    return compose("temporary_password", reference=ref, user_name="Marie Tremblay",
                   authorizer_name="Jean Gagnon", temporary_password=password)


def _send_secret(rid: int, message: Message):
    return send_secret_once(
        request_id=rid, kind="temporary_password", round=1, recipient_role="user",
        recipient="marie.tremblay@cisss.example.qc.ca", message=message, lang="fr")


def test_enqueue_is_idempotent_on_its_key(make_request):
    rid = make_request()
    first = _enqueue(rid)
    with session_scope() as s:
        again = enqueue(s, request_id=rid, kind="submission_confirmation", round=1,
                        recipient_role="user", recipient="other@example.qc.ca",
                        message=Message("autre", "autre", "<p>autre</p>"), lang="en")
        assert again.id == first.id
        assert (again.recipient, again.subject, again.language) == (
            first.recipient, first.subject, "fr")
        assert len(s.exec(select(OutboxEmail).where(OutboxEmail.request_id == rid)).all()) == 1
        assert exists(s, request_id=rid, kind="submission_confirmation", round=1, recipient_role="user")
        assert not exists(s, request_id=rid, kind="submission_confirmation", round=2,
                          recipient_role="user")
    assert first.key == f"{rid}:submission_confirmation:1:user"
    assert first.status == "pending" and first.message_id and first.body_text and first.body_html
    assert _enqueue(rid, round=2).id != first.id


def test_enqueue_rolls_back_with_the_caller(make_request):
    rid = make_request()
    with pytest.raises(RuntimeError):
        with session_scope() as s:
            enqueue(s, request_id=rid, kind="submission_confirmation", round=1,
                    recipient_role="user", recipient="a@example.qc.ca",
                    message=_message("R"), lang="fr")
            raise RuntimeError("the step failed")
    with session_scope() as s:
        assert s.exec(select(OutboxEmail).where(OutboxEmail.request_id == rid)).first() is None


def test_enqueue_concurrently_makes_one_row(make_request):
    rid = make_request()
    barrier = threading.Barrier(4)
    ids: list[int] = []

    def worker():
        barrier.wait()
        ids.append(_enqueue(rid).id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(ids) == 4 and len(set(ids)) == 1


def test_enqueue_refuses_what_must_not_be_stored_or_misdirected(make_request):
    rid = make_request()
    with session_scope() as s:
        with pytest.raises(ValueError):
            enqueue(s, request_id=rid, kind="temporary_password", round=1, recipient_role="user",
                    recipient="a@example.qc.ca", message=_password_message("R"), lang="fr")
        with pytest.raises(ValueError):
            enqueue(s, request_id=rid, kind="username", round=1, recipient_role="user",
                    recipient="a@example.qc.ca", message=_message("R"), lang="fr")


def test_send_pending_delivers_a_well_formed_email(make_request, smtp_server):
    rid = make_request()
    row = _enqueue(rid)
    sent = asyncio.run(send_pending(request_id=rid))
    assert [r.key for r in sent] == [row.key]
    (msg,) = smtp_server.wait_for(1)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in msg.iter_parts())
    assert msg["Message-ID"] == row.message_id
    assert msg["From"] == get_settings().mail_from
    assert msg["To"] == "marie.tremblay@cisss.example.qc.ca"
    assert msg["Date"] is not None
    assert msg["Subject"] == row.subject and "accusé de réception" in msg["Subject"]
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == row.body_text
    assert "Régie de l'assurance maladie du Québec" in msg.get_body(("plain",)).get_content()
    assert smtp_server.envelopes[0].rcpt_tos == ["marie.tremblay@cisss.example.qc.ca"]
    after = _row(row.key)
    assert after.status == "sent" and after.attempts == 1 and after.last_error is None
    assert after.sent_at is not None and after.sent_at.tzinfo is not None
    assert "250" in after.smtp_response or "OK" in after.smtp_response
    (filed,) = list_messages(smtp_server.maildir)  # the test server's Maildir copy
    assert filed.message_id == row.message_id and filed.text == row.body_text


def test_send_pending_twice_sends_once(make_request, smtp_server):
    rid = make_request()
    _enqueue(rid)
    _enqueue(rid, kind="authorization_request", role="authorizer", to="jean.gagnon@cisss.example.qc.ca")
    assert len(asyncio.run(send_pending(request_id=rid))) == 2
    assert asyncio.run(send_pending(request_id=rid)) == []
    assert deliver(rid) == []
    assert len(smtp_server.wait_for(2)) == 2
    assert len(smtp_server.messages) == 2


def test_send_pending_concurrently_sends_each_email_once(make_request, smtp_server):
    rid = make_request()
    keys = [_enqueue(rid, round=n).key for n in range(1, 7)]

    async def gathered():
        return await asyncio.gather(*(send_pending(request_id=rid) for _ in range(3)))

    barrier = threading.Barrier(3)
    results: list[list[str]] = []

    def in_thread():
        barrier.wait(timeout=30)
        results.append([r.key for r in asyncio.run(send_pending(keys=keys))])

    threads = [threading.Thread(target=in_thread) for _ in range(2)]
    for t in threads:
        t.start()
    barrier.wait(timeout=30)
    results.extend([r.key for r in batch] for batch in asyncio.run(gathered()))
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)

    sent_keys = [k for batch in results for k in batch]
    assert sorted(sent_keys) == sorted(keys)  # each exactly once, across all senders
    smtp_server.wait_for(6)
    assert len(smtp_server.messages) == 6
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 6
    assert all(_row(k).attempts == 1 for k in keys)


def test_failure_then_retry_sends_once(make_request, smtp_server):
    rid = make_request()
    a = _enqueue(rid, round=1)
    b = _enqueue(rid, round=2)
    smtp_server.fail_next(1)
    with pytest.raises(OutboxError) as info:
        asyncio.run(send_pending(request_id=rid))
    assert a.key in str(info.value) and b.key not in str(info.value)
    failed = _row(a.key)
    assert failed.status == "failed" and failed.attempts == 1 and "451" in failed.last_error
    assert _row(b.key).status == "sent"  # tried all rows before raising
    assert smtp_server.failures == 1 and len(smtp_server.messages) == 1

    assert [r.key for r in asyncio.run(send_pending(request_id=rid))] == [a.key]
    retried = _row(a.key)
    assert retried.status == "sent" and retried.attempts == 2 and retried.last_error is None
    assert asyncio.run(send_pending(request_id=rid)) == []
    assert len(smtp_server.wait_for(2)) == 2
    assert sorted(m["Message-ID"] for m in smtp_server.messages) == sorted(
        [failed.message_id, _row(b.key).message_id])


def test_server_down_is_recorded_and_raised(make_request, smtp_server):
    rid = make_request()
    row = _enqueue(rid)
    smtp_server.stop()
    with pytest.raises(OutboxError):
        asyncio.run(send_pending(request_id=rid))
    down = _row(row.key)
    assert down.status == "failed" and down.last_error and down.sent_at is None


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_auth_and_no_password_in_errors(make_request, app_env, tmp_path, monkeypatch):
    rid = make_request()
    row = _enqueue(rid)
    with start_smtp_server(auth=("relay-user", "relay-secret-123")) as server:
        monkeypatch.setenv("RAMQ_SMTP_HOST", server.host)
        monkeypatch.setenv("RAMQ_SMTP_PORT", str(server.port))
        monkeypatch.setenv("RAMQ_SMTP_USERNAME", "relay-user")
        monkeypatch.setenv("RAMQ_SMTP_PASSWORD", "wrong-secret-456")
        get_settings.cache_clear()
        with pytest.raises(OutboxError) as info:
            asyncio.run(send_pending(request_id=rid))
        bad = _row(row.key)
        assert bad.status == "failed" and "wrong-secret-456" not in (bad.last_error + str(info.value))
        monkeypatch.setenv("RAMQ_SMTP_PASSWORD", "relay-secret-123")
        get_settings.cache_clear()
        assert len(asyncio.run(send_pending(request_id=rid))) == 1
        server.wait_for(1)
    get_settings.cache_clear()


def _no_password_anywhere(rid: int, password: str) -> None:
    with session_scope() as s:
        for row in s.exec(select(OutboxEmail).where(OutboxEmail.request_id == rid)).all():
            for value in row.model_dump().values():
                assert password not in str(value)


def test_send_secret_once_sends_from_memory_and_never_twice(make_request, smtp_server, caplog):
    caplog.set_level(logging.DEBUG)
    rid = make_request()
    message = _password_message(f"REF-{rid}")
    assert asyncio.run(_send_secret(rid, message)) is True
    (msg,) = smtp_server.wait_for(1)
    assert PASSWORD in msg.get_body(("plain",)).get_content()
    assert PASSWORD in msg.get_body(("html",)).get_content()

    key = f"{rid}:temporary_password:1:user"
    row = _row(key)
    assert row.body_text is None and row.body_html is None
    assert row.status == "sent" and row.attempts == 1 and msg["Message-ID"] == row.message_id
    _no_password_anywhere(rid, PASSWORD)
    with session_scope() as s:
        assert exists(s, request_id=rid, kind="temporary_password", round=1, recipient_role="user")

    # A second call, even with a new password, sends nothing.
    assert asyncio.run(_send_secret(rid, _password_message(f"REF-{rid}", "Other-Pass-9876x"))) is False
    assert asyncio.run(send_pending(request_id=rid)) == []
    assert len(smtp_server.messages) == 1
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]
    assert all(PASSWORD not in r.getMessage() for r in ours)


def test_send_secret_once_failure_is_clean_and_a_retry_sends_once(make_request, smtp_server):
    rid = make_request()
    smtp_server.fail_next(1)
    with pytest.raises(SecretEmailError) as info:
        asyncio.run(_send_secret(rid, _password_message(f"REF-{rid}")))
    err = info.value
    assert PASSWORD not in str(err) and PASSWORD not in repr(err)
    assert err.__cause__ is None and err.__context__ is None
    key = f"{rid}:temporary_password:1:user"
    row = _row(key)
    assert row.status == "failed" and row.body_text is None and "451" in row.last_error
    _no_password_anywhere(rid, PASSWORD)

    # The outbox sender never sends a body-less row, even a failed one.
    assert asyncio.run(send_pending(request_id=rid)) == []
    assert smtp_server.messages == []

    # The task retry comes with a fresh password: it is sent, once.
    assert asyncio.run(_send_secret(rid, _password_message(f"REF-{rid}", "Fresh-Pass-1234y"))) is True
    assert asyncio.run(_send_secret(rid, _password_message(f"REF-{rid}", "Third-Pass-5678z"))) is False
    (msg,) = smtp_server.wait_for(1)
    assert "Fresh-Pass-1234y" in msg.get_body(("plain",)).get_content()
    assert _row(key).attempts == 2
    _no_password_anywhere(rid, "Fresh-Pass-1234y")


def test_send_secret_once_concurrently_sends_once(make_request, smtp_server):
    rid = make_request()

    async def both():
        return await asyncio.gather(
            *(_send_secret(rid, _password_message(f"REF-{rid}")) for _ in range(3)),
            return_exceptions=True)

    outcomes = asyncio.run(both())
    assert outcomes.count(True) == 1
    assert all(o is False or isinstance(o, SecretEmailError) for o in outcomes if o is not True)
    smtp_server.wait_for(1)
    assert len(smtp_server.messages) == 1


def test_claimed_secret_delivered_from_sync_code_once(make_request, smtp_server):
    from notifications.outbox import claim_secret, deliver_claimed_secret

    rid = make_request()
    message = _password_message(f"REF-{rid}")
    claim = dict(request_id=rid, kind="temporary_password", round=1, recipient_role="user",
                 recipient="marie.tremblay@cisss.example.qc.ca", subject=message.subject, lang="fr")
    row_id = claim_secret(**claim)
    assert row_id is not None
    deliver_claimed_secret(row_id, recipient=claim["recipient"], message=message)
    (msg,) = smtp_server.wait_for(1)
    assert PASSWORD in msg.get_body(("plain",)).get_content()
    assert _row(f"{rid}:temporary_password:1:user").status == "sent"
    assert claim_secret(**claim) is None  # sent: never a second password email
    _no_password_anywhere(rid, PASSWORD)


def test_send_secret_once_refuses_the_authorizer(make_request, smtp_server):
    rid = make_request()
    with pytest.raises(ValueError):
        asyncio.run(send_secret_once(
            request_id=rid, kind="temporary_password", round=1, recipient_role="authorizer",
            recipient="jean.gagnon@cisss.example.qc.ca",
            message=_password_message("R"), lang="fr"))
    assert smtp_server.messages == []


def test_send_email_returns_the_server_answer(app_env, smtp_server):
    response = asyncio.run(send_email(to="x@example.qc.ca", subject="Sujet éè", text="Texte é",
                                      html="<p>Texte é</p>", message_id="<abc@test>"))
    assert "OK" in response
    (msg,) = smtp_server.wait_for(1)
    assert msg["Subject"] == "Sujet éè" and msg["Message-ID"] == "<abc@test>"
    assert msg.get_body(("plain",)).get_content().strip() == "Texte é"


def test_a_row_left_sending_by_a_dead_sender_is_sent_later(make_request, smtp_server):
    from datetime import timedelta

    from sqlalchemy import update

    from models.tables import utcnow
    from notifications.outbox import SENDING, stale_claim

    rid = make_request()
    row = _enqueue(rid)
    with session_scope() as s:  # a sender claimed it, then its process died
        s.exec(update(OutboxEmail).where(OutboxEmail.id == row.id)
               .values(status=SENDING, claimed_at=utcnow()))
    assert asyncio.run(send_pending(request_id=rid)) == []  # still fresh: someone may be sending
    assert smtp_server.messages == []
    with session_scope() as s:
        s.exec(update(OutboxEmail).where(OutboxEmail.id == row.id)
               .values(claimed_at=utcnow() - stale_claim() - timedelta(seconds=1)))
    sent = asyncio.run(send_pending(request_id=rid))
    assert [r.key for r in sent] == [row.key] and _row(row.key).status == "sent"
    assert len(smtp_server.wait_for(1)) == 1


def _send_made_secret(rid: int, make):
    from notifications.outbox import send_secret

    return send_secret(request_id=rid, kind="temporary_password", round=1,
                       recipient="marie.tremblay@cisss.example.qc.ca", subject="Votre mot de passe",
                       lang="fr", make_message=make)


def test_send_secret_makes_the_secret_only_once_its_row_is_ours(make_request, smtp_server):
    """The password steps' one path (flows.steps.issue_credentials, flows.password_reset): the
    secret is made after the claim, never when the email is already sent; a failure while making
    it leaves the row free for the retry; a failed send says so without any text of it."""
    from notifications.outbox import SecretNotSent, SecretSend

    rid = make_request()
    made: list[str] = []

    def make(password: str = PASSWORD):
        made.append(password)
        return _password_message(f"REF-{rid}", password)

    def broken():
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        _send_made_secret(rid, broken)
    assert _row(f"{rid}:temporary_password:1:user").status != "sending"  # released for the retry
    smtp_server.fail_next(1)
    with pytest.raises(SecretNotSent) as info:
        _send_made_secret(rid, make)
    assert PASSWORD not in str(info.value) and PASSWORD not in repr(info.value.__context__)
    assert _send_made_secret(rid, lambda: make("Fresh-Pass-1234y")) is SecretSend.sent
    assert _send_made_secret(rid, lambda: make("Third-Pass-5678z")) is SecretSend.already_sent
    assert made == [PASSWORD, "Fresh-Pass-1234y"]  # never made once the email went out
    (msg,) = smtp_server.wait_for(1)
    assert "Fresh-Pass-1234y" in msg.get_body(("plain",)).get_content()
    _no_password_anywhere(rid, "Fresh-Pass-1234y")
