"""Reminders that escalate (issue 10, item 8): the authorizer is reminded on the schedule of
RAMQ_REMINDER_DAYS, the user is told from the second reminder on that the authorizer has not
answered, a pending correction is reminded too, and RAMQ staff get one daily digest of new and
overdue tasks. Nothing goes twice, even with two sweepers at once. Times are explicit (``now``)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from flows.sweeper import _remind, _send_reminders, _take_digest, send_digests
from models.db import session_scope
from models.enums import TaskKind
from models.settings import SettingsError, get_settings
from models.tables import AccessRequest, Account, AuditEvent, Decision, HumanTask, OutboxEmail, StaffDigest
from notifications import outbox
from notifications.links import read_link_token
from tests.smtp_server import start_smtp_server
from tests.ui.conftest import request_data, staff_account, submit

QC = ZoneInfo("America/Montreal")


@pytest.fixture
def mail(app_env, tmp_path, monkeypatch):
    """A real SMTP server the product sends to, for this test; the default schedule (3 and 7
    days) and digest hour (7 h) set explicitly."""
    server = start_smtp_server(maildir=tmp_path / "mail")
    for name, value in {"RAMQ_SMTP_HOST": server.host, "RAMQ_SMTP_PORT": str(server.port),
                        "RAMQ_SMTP_STARTTLS": "false", "RAMQ_SMTP_TLS": "false",
                        "RAMQ_SMTP_TIMEOUT_SECONDS": "10", "RAMQ_REMINDER_DAYS": "3,7",
                        "RAMQ_DIGEST_HOUR": "7"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield server
    server.stop()
    get_settings.cache_clear()


def pending(kind: TaskKind, *, opened: datetime, due: datetime, claimed_by: str | None = None,
            claimed_at: datetime | None = None, request_id: int | None = None) -> tuple[int, AccessRequest]:
    """An open task of ``kind`` (a new stored request unless ``request_id``): (task id, request)."""
    request_id = request_id or submit(request_data()).request_id
    with session_scope() as s:
        task = HumanTask(request_id=request_id, kind=kind.value, round=1, created_at=opened, due_at=due,
                         claimed_by=claimed_by, claimed_at=claimed_at)
        s.add(task)
        s.flush()
        req = s.get(AccessRequest, request_id)
        s.expunge(req)
        return task.id, req


def subjects(mail, address: str, word: str) -> list:
    return [m for m in mail.to(address) if word.lower() in str(m["Subject"]).lower()]


def text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_token(message) -> str:
    word = next(w for w in text(message).split() if "?t=" in w)
    return parse_qs(urlparse(word).query)["t"][0]


def outbox_kinds(request_id: int) -> list[str]:
    with session_scope() as s:
        return sorted(s.exec(select(OutboxEmail.kind).where(OutboxEmail.request_id == request_id)).all())


def events(request_id: int, event: str) -> list[dict]:
    with session_scope() as s:
        return [e.detail for e in s.exec(select(AuditEvent).where(
            AuditEvent.request_id == request_id, AuditEvent.event == event).order_by(AuditEvent.id)).all()]


def run_at_once(n: int, target) -> list:
    """``target()`` in ``n`` threads released together; their results (failures re-raised)."""
    barrier = threading.Barrier(n)
    results: list = []
    failures: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(target())
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    return results


# --- Settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "days"), [("3,7", (3, 7)), (" 7, 3 ,3", (3, 7)), ("0.5", (0.5,)), ("", ())])
def test_the_schedule_is_parsed_sorted(app_env, monkeypatch, value, days):
    monkeypatch.setenv("RAMQ_REMINDER_DAYS", value)
    get_settings.cache_clear()
    assert get_settings().reminder_delays == tuple(timedelta(days=d) for d in days)


@pytest.mark.parametrize(("name", "value"), [("RAMQ_REMINDER_DAYS", "trois"), ("RAMQ_REMINDER_DAYS", "3,0"),
                                             ("RAMQ_REMINDER_DAYS", "-2"), ("RAMQ_REMINDER_DAYS", "nan"),
                                             ("RAMQ_REMINDER_DAYS", "inf"), ("RAMQ_DIGEST_HOUR", "24")])
def test_a_bad_schedule_is_refused_in_one_line_naming_the_variable(app_env, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with pytest.raises(SettingsError) as err:
        get_settings()
    assert name in str(err.value) and "\n" not in str(err.value)
    get_settings.cache_clear()


def test_the_single_reminder_of_earlier_versions_still_works(app_env, monkeypatch):
    monkeypatch.delenv("RAMQ_REMINDER_DAYS", raising=False)
    monkeypatch.setenv("RAMQ_REMINDER_AFTER_HOURS", "1.5")
    get_settings.cache_clear()
    assert get_settings().reminder_delays == (timedelta(hours=1.5),)
    monkeypatch.setenv("RAMQ_REMINDER_DAYS", "2")  # the schedule wins when both are set
    get_settings.cache_clear()
    assert get_settings().reminder_delays == (timedelta(days=2),)
    for off in ("", "-1"):
        monkeypatch.setenv("RAMQ_DIGEST_HOUR", off)
        get_settings.cache_clear()
        assert get_settings().digest_hour is None
    get_settings.cache_clear()


# --- Authorizer and correction reminders ---------------------------------------------------------------


def test_the_authorizer_is_reminded_on_schedule_once_each_and_the_user_after_the_second(mail):
    opened = datetime.now(UTC) - timedelta(minutes=1)
    task_id, req = pending(TaskKind.authorizer, opened=opened, due=opened + timedelta(days=14))
    rid = req.id
    assert _send_reminders(opened + timedelta(days=2.9), [rid]) == []
    assert _send_reminders(opened + timedelta(days=3.1), [rid]) == [rid]
    assert _send_reminders(opened + timedelta(days=3.2), [rid]) == []
    assert len(subjects(mail, req.authorizer_email, "rappel")) == 1
    assert mail.to(req.user_email) == []  # the first reminder is the authorizer's only

    assert _send_reminders(opened + timedelta(days=7.1), [rid]) == [rid]
    assert _send_reminders(opened + timedelta(days=8), [rid]) == []
    assert _send_reminders(opened + timedelta(days=15), [rid]) == []  # past the deadline: expiry's business
    reminders = subjects(mail, req.authorizer_email, "rappel")
    assert len(reminders) == 2
    assert link_token(reminders[0]) != link_token(reminders[1])  # each with a fresh link
    claims = read_link_token(link_token(reminders[1]), purpose="authorize")
    assert claims.request_id == rid and claims.revision == 1
    [late] = mail.to(req.user_email)
    assert req.reference in late["Subject"] and "toujours en attente" in late["Subject"]
    body = text(late)
    assert body.startswith("Bonjour Marie Tremblay,")
    assert "Jean Gagnon" in body and "communiquer avec" in body  # the authorizer's name, and what to do
    assert "?t=" not in body  # nothing that acts
    assert outbox_kinds(rid) == ["authorization_reminder", "authorization_reminder_2", "authorizer_late_2"]
    assert [e["number"] for e in events(rid, "authorizer_reminded")] == [1, 2]
    with session_scope() as s:
        assert s.get(HumanTask, task_id).reminders_sent == 2


def test_after_an_outage_only_the_latest_reminder_goes(mail):
    opened = datetime.now(UTC) - timedelta(days=8)
    task_id, req = pending(TaskKind.authorizer, opened=opened, due=opened + timedelta(days=14))
    assert _send_reminders(datetime.now(UTC), [req.id]) == [req.id]
    assert len(subjects(mail, req.authorizer_email, "rappel")) == 1
    assert len(mail.to(req.user_email)) == 1
    assert outbox_kinds(req.id) == ["authorization_reminder_2", "authorizer_late_2"]
    assert _send_reminders(datetime.now(UTC), [req.id]) == []


def test_a_reminder_the_mail_server_refused_is_sent_later_by_the_outbox_not_taken_again(mail):
    opened = datetime.now(UTC) - timedelta(days=3.5)
    _, req = pending(TaskKind.authorizer, opened=opened, due=opened + timedelta(days=14))
    mail.fail_next(1)
    assert _send_reminders(datetime.now(UTC), [req.id]) == [req.id]
    assert mail.to(req.authorizer_email) == []
    assert _send_reminders(datetime.now(UTC), [req.id]) == []  # taken: the outbox holds its email
    with session_scope() as s:
        [row] = s.exec(select(OutboxEmail).where(OutboxEmail.request_id == req.id)).all()
        assert row.status == "failed" and row.kind == "authorization_reminder"
    outbox.deliver(req.id)
    assert len(subjects(mail, req.authorizer_email, "rappel")) == 1


def test_two_sweepers_at_once_send_each_reminder_once(mail):
    opened = datetime.now(UTC) - timedelta(days=7.5)
    tasks = [pending(TaskKind.authorizer, opened=opened, due=opened + timedelta(days=14)) for _ in range(3)]
    with session_scope() as s:  # reminder 1 went already (day 3): two sweepers race for reminder 2
        for task_id, _ in tasks:
            s.get(HumanTask, task_id).reminders_sent = 1
    ids = [req.id for _, req in tasks]
    results = run_at_once(4, lambda: _send_reminders(datetime.now(UTC), ids))
    assert sorted(rid for result in results for rid in result) == sorted(ids)
    for _, req in tasks:
        assert len(subjects(mail, req.authorizer_email, "rappel")) == 1
        assert len(mail.to(req.user_email)) == 1
        assert [e["number"] for e in events(req.id, "authorizer_reminded")] == [2]


def test_two_sweepers_that_read_the_same_count_remind_once(mail):
    """The race itself: every sweeper read « one reminder sent » and takes reminder 2."""
    opened = datetime.now(UTC) - timedelta(days=7.5)
    task_id, req = pending(TaskKind.authorizer, opened=opened, due=opened + timedelta(days=14))
    with session_scope() as s:
        s.get(HumanTask, task_id).reminders_sent = 1
    results = run_at_once(4, lambda: _remind(task_id, 1, 2, datetime.now(UTC)))
    assert results.count(None) == 3 and results.count(req.id) == 1
    assert [e["number"] for e in events(req.id, "authorizer_reminded")] == [2]
    assert outbox_kinds(req.id) == ["authorization_reminder_2", "authorizer_late_2"]


def test_a_pending_correction_is_reminded_with_a_link_until_the_deadline(mail):
    opened = datetime.now(UTC) - timedelta(days=3.5)
    respondent_task, req = pending(TaskKind.respondent, opened=opened - timedelta(days=2), due=opened)
    with session_scope() as s:
        s.get(HumanTask, respondent_task).status = "done"
        s.add(Decision(task_id=respondent_task, request_id=req.id, outcome="send_back",
                       reason="Précisez la fonction.", actor="test"))
    task_id, _ = pending(TaskKind.correction, opened=opened, due=opened + timedelta(days=30), request_id=req.id)
    results = run_at_once(2, lambda: _send_reminders(datetime.now(UTC), [req.id]))
    assert sorted(rid for result in results for rid in result) == [req.id]
    [reminder] = mail.to(req.user_email)
    assert "rappel" in reminder["Subject"].lower() and req.reference in reminder["Subject"]
    body = text(reminder)
    assert "Précisez la fonction." in body and "/corriger?t=" in body
    claims = read_link_token(link_token(reminder), purpose="correct")
    with session_scope() as s:
        due_at = s.get(HumanTask, task_id).due_at
    assert claims.request_id == req.id and abs((claims.expires_at - due_at).total_seconds()) < 120
    assert mail.to(req.authorizer_email) == []
    assert [e["number"] for e in events(req.id, "correction_reminded")] == [1]
    assert _send_reminders(datetime.now(UTC), [req.id]) == []


# --- The staff's daily digest ------------------------------------------------------------------------


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=QC).astimezone(UTC)


def digests(account_id: int) -> list[StaffDigest]:
    with session_scope() as s:
        return list(s.exec(select(StaffDigest).where(StaffDigest.account_id == account_id)).all())


def test_each_staff_member_gets_one_digest_a_day_of_their_queue_in_french(mail):
    day = date(2003, 3, 10)  # tasks of a past day of its own: no other test's tasks in it
    new_id, new = pending(TaskKind.respondent, opened=local(day, 7) - timedelta(hours=16),
                          due=local(day, 7) + timedelta(days=9))
    _, overdue = pending(TaskKind.countersign, opened=local(day, 7) - timedelta(days=20),
                         due=local(day, 7) - timedelta(days=2))
    _, stale = pending(TaskKind.respondent, opened=local(day, 7) - timedelta(days=20),
                       due=local(day, 7) + timedelta(days=5), claimed_by="quelquun",
                       claimed_at=local(day, 7) - timedelta(days=5))
    respondent, soes, manager = (staff_account(role) for role in ("respondent", "soes", "manager"))
    operator, away = staff_account("operator"), staff_account("respondent")
    with session_scope() as s:
        s.get(Account, away["id"]).disabled = True
    ids = [a["id"] for a in (respondent, soes, manager, operator, away)]
    address = {a["id"]: f"{a['username']}@ramq.example.qc.ca" for a in (respondent, soes, manager)}

    assert send_digests(local(day, 6, 59), ids) == []  # not before the hour
    results = run_at_once(3, lambda: send_digests(local(day, 7), ids))
    assert sorted(a for result in results for a in result) == sorted(address)
    assert send_digests(local(day, 9), ids) == []  # once a day
    assert digests(operator["id"]) == [] and digests(away["id"]) == []

    got = {account_id: mail.to(to) for account_id, to in address.items()}
    assert all(len(messages) == 1 for messages in got.values())
    by_role = {role: text(got[account["id"]][0]) for role, account in
               (("respondent", respondent), ("soes", soes), ("manager", manager))}
    message = got[manager["id"]][0]
    assert message["Subject"] == "Services en ligne RAMQ — résumé des tâches du 2003-03-10"
    assert by_role["manager"].startswith(f"Bonjour {manager['username'].upper()},")
    assert "1 nouvelle(s) tâche(s)" in by_role["manager"] and "1 tâche(s) en retard" in by_role["manager"]
    for ref in (new.reference, overdue.reference, stale.reference):
        assert ref in by_role["manager"]
    assert new.reference in by_role["respondent"] and stale.reference in by_role["respondent"]
    assert overdue.reference not in by_role["respondent"]  # a respondent's queue has no countersign
    assert overdue.reference in by_role["soes"] and new.reference not in by_role["soes"]
    assert "En analyse à la RAMQ" in by_role["manager"] and "échéance : " in by_role["manager"]
    assert "/file-de-travail" in by_role["manager"] and "/contre-signature" in by_role["soes"]
    for req in (new, overdue, stale):  # references and step names only
        for personal in (req.user_email, req.user_last_name, req.authorizer_email, req.establishment_name):
            assert personal.lower() not in by_role["manager"].lower()

    # The next day reports what was opened since: the new task of yesterday is not new anymore.
    with session_scope() as s:
        s.get(HumanTask, new_id).status = "done"
    assert sorted(send_digests(local(day + timedelta(days=1), 7, 30), ids)) == sorted(address)
    later = text(mail.to(address[manager["id"]])[-1])
    assert "0 nouvelle(s) tâche(s)" in later and new.reference not in later


def test_no_digest_when_there_is_nothing_to_report(mail):
    day = date(2001, 6, 1)  # before any task of the database
    account = staff_account("manager")
    assert send_digests(local(day, 8), [account["id"]]) == []
    assert send_digests(local(day, 9), [account["id"]]) == []
    assert mail.to(f"{account['username']}@ramq.example.qc.ca") == []
    assert [row.status for row in digests(account["id"])] == ["empty"]


def test_a_failed_digest_is_sent_later_once(mail):
    day = date(2004, 2, 2)
    _, req = pending(TaskKind.respondent, opened=local(day, 6), due=local(day, 6) + timedelta(days=9))
    first, second = staff_account("respondent"), staff_account("respondent")
    ids = [first["id"], second["id"]]
    mail.fail_next(1)
    assert send_digests(local(day, 7), ids) == []
    assert [row.status for row in digests(first["id"])] == ["failed"]
    assert digests(second["id"]) == []  # the server failing, the others wait for the next pass
    assert send_digests(local(day, 7) + timedelta(seconds=5), ids) == [second["id"]]  # the first waits its backoff
    assert send_digests(local(day, 7, 5), ids) == [first["id"]]
    assert send_digests(local(day, 7, 10), ids) == []
    for account in (first, second):
        [message] = mail.to(f"{account['username']}@ramq.example.qc.ca")
        assert req.reference in text(message)


def test_four_sweepers_taking_the_same_digest_at_once_take_it_once(mail):
    day = date(2005, 5, 5)
    account = staff_account("manager")
    with session_scope() as s:  # the row is there (a first pass stopped before taking it)
        s.add(StaffDigest(day=day, account_id=account["id"]))
    results = run_at_once(4, lambda: _take_digest(account["id"], day, local(day, 8)))
    assert sum(result is not None for result in results) == 1
    [row] = digests(account["id"])
    assert row.status == "sending" and row.attempts == 1


def test_a_digest_left_sending_by_a_dead_sweeper_is_sent_once_later(mail):
    day = date(2006, 6, 6)
    _, req = pending(TaskKind.respondent, opened=local(day, 6), due=local(day, 6) + timedelta(days=9))
    account = staff_account("manager")
    with session_scope() as s:  # a sweeper took it at 8 h and died before sending
        s.add(StaffDigest(day=day, account_id=account["id"], status="sending", attempts=1,
                          claimed_at=local(day, 8)))
    assert send_digests(local(day, 8) + timedelta(seconds=10), [account["id"]]) == []  # it may be alive
    assert send_digests(local(day, 8, 5), [account["id"]]) == [account["id"]]
    assert send_digests(local(day, 8, 30), [account["id"]]) == []
    [message] = mail.to(f"{account['username']}@ramq.example.qc.ca")
    assert req.reference in text(message)
