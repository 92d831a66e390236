"""The audit writer and the words it writes: every event is an AuditEventKind, stored as its
plain string."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime
from threading import Barrier, Thread
from uuid import uuid4

import pytest
from sqlalchemy import text
from sqlmodel import select

from models.audit import ALTERED, OK, SYSTEM, UNLINKED, audit, audit_once, event_hash, timeline, verify_chain
from models.audit_report import format_audit
from models.db import session_scope
from models.enums import AuditEventKind, Outcome, TaskKind
from models.tables import AuditEvent
from tests.models.helpers import bare_request


def _request(reference: str | None = None) -> int:
    with session_scope() as s:
        req = bare_request()
        req.reference = reference
        s.add(req)
        s.flush()
        return req.id


def _events(request_id: int) -> list[AuditEvent]:
    with session_scope() as s:
        return s.exec(select(AuditEvent).where(AuditEvent.request_id == request_id)
                      .order_by(AuditEvent.id)).all()


def test_event_names_are_the_stored_strings():
    assert AuditEventKind.task_opened(TaskKind.respondent) == "respondent_task_opened"
    assert AuditEventKind.task_opened("correction") is AuditEventKind.correction_task_opened
    assert AuditEventKind.decision(TaskKind.respondent, Outcome.send_back) == "respondent_send_back"
    assert AuditEventKind.decision("authorizer", "expire") is AuditEventKind.authorizer_expire
    assert f"{AuditEventKind.claimed}" == "claimed"
    with pytest.raises(ValueError):
        AuditEventKind.decision(TaskKind.authorizer, Outcome.approve)  # no step takes it


def test_audit_writes_in_the_callers_transaction(engine):
    rid = _request()
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with session_scope() as s:
        audit(s, rid, AuditEventKind.claimed, actor="agent1", task_id=7)
        audit(s, rid, AuditEventKind.submitted, actor="cli", at=at, reference="SEL-2026-000001")
    with pytest.raises(RuntimeError):
        with session_scope() as s:
            audit(s, rid, AuditEventKind.completed, actor=SYSTEM)
            raise RuntimeError("the step failed")
    claimed, submitted = _events(rid)
    assert (claimed.event, claimed.actor, claimed.detail) == ("claimed", "agent1", {"task_id": 7})
    assert type(claimed.event) is str and claimed.at.tzinfo is not None
    assert (submitted.event, submitted.at, submitted.detail) == (
        "submitted", at, {"reference": "SEL-2026-000001"})


def test_audit_once_writes_an_event_once(engine):
    rid = _request()
    for _ in range(2):
        with session_scope() as s:
            audit_once(s, rid, AuditEventKind.flow_started, actor=SYSTEM, flow_run_id="abc")
    (event,) = _events(rid)
    assert (event.event, event.actor, event.detail) == ("flow_started", "système", {"flow_run_id": "abc"})


def test_details_are_stored_as_json_gives_them_back(engine):
    rid = _request()
    with session_scope() as s:
        audit(s, rid, AuditEventKind.closed, actor=SYSTEM, outcome=Outcome.refuse, round=1)
    (event,) = _events(rid)
    assert event.detail == {"outcome": "refuse", "round": 1} and type(event.detail["outcome"]) is str
    with session_scope() as s:
        assert verify_chain(s, rid).intact


# --- the hash chain -----------------------------------------------------------------------------------


def _history(reference: str | None = None) -> tuple[int, list[AuditEvent]]:
    """A request with five events: one per transaction, then two in one transaction."""
    rid = _request(reference)
    with session_scope() as s:
        audit(s, rid, AuditEventKind.submitted, actor="cli", reference=reference or "R")
    with session_scope() as s:
        audit(s, rid, AuditEventKind.flow_started, actor=SYSTEM, flow_run_id="f-1")
    with session_scope() as s:
        audit(s, rid, AuditEventKind.respondent_task_opened, actor=SYSTEM, round=1, task_id=4)
    with session_scope() as s:
        audit(s, rid, AuditEventKind.claimed, actor="agent1", task_id=4)
        audit(s, rid, AuditEventKind.respondent_approve, actor="agent1", task_id=4, round=1, decision_id=9)
    return rid, _events(rid)


def test_each_event_is_chained_to_the_previous_one_of_its_request(engine):
    rid, events = _history()
    other = _request()
    with session_scope() as s:  # another request's history is its own chain
        audit(s, other, AuditEventKind.submitted, actor="cli")
    assert events[0].prev_hash is None
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    for e in events:
        assert e.hash == event_hash(prev_hash=e.prev_hash, request_id=rid, at=e.at, actor=e.actor,
                                    event=e.event, detail=e.detail)
        assert len(e.hash) == 64 and int(e.hash, 16) >= 0
    (first_of_other,) = _events(other)
    assert first_of_other.prev_hash is None
    with session_scope() as s:
        report = verify_chain(s, rid)
    assert report.intact and report.first_broken is None
    assert [(c.event_id, c.status) for c in report.events] == [(e.id, OK) for e in events]


def test_the_hash_covers_every_field_and_its_link():
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    base = dict(prev_hash=None, request_id=1, at=at, actor="agent1", event="claimed", detail={"task_id": 4})
    digest = event_hash(**base)
    # The canonical form: sorted keys, no spaces, UTF-8, time in UTC with microseconds.
    import hashlib
    canonical = ('{"actor":"agent1","at":"2026-03-01T12:00:00.000000+00:00","detail":{"task_id":4},'
                 '"event":"claimed","prev_hash":null,"request_id":1}')
    assert digest == hashlib.sha256(canonical.encode()).hexdigest()
    for name, value in [("prev_hash", "0" * 64), ("request_id", 2), ("at", at.replace(microsecond=1)),
                        ("actor", "agent2"), ("event", "unclaimed"), ("detail", {"task_id": 5})]:
        assert event_hash(**{**base, name: value}) != digest, name
    # The same instant in another zone, or naive (as SQLite gives it), is the same event.
    from zoneinfo import ZoneInfo
    assert event_hash(**{**base, "at": at.astimezone(ZoneInfo("America/Montreal"))}) == digest
    assert event_hash(**{**base, "at": at.replace(tzinfo=None)}) == digest


@contextmanager
def _behind_the_triggers(engine):
    """One transaction with the append-only triggers off (what a superuser or a restored file
    could do), put back before it commits; rolled back with them on any error."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            triggers = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                            "AND tbl_name = 'audit_event' AND name LIKE 'audit_event_no_%'").all()
            assert len(triggers) == 2  # no delete, no change: the step-time trigger stays
            for name, _ in triggers:
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
            yield conn
            for _, sql in triggers:
                conn.exec_driver_sql(sql)
        else:
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change")
            yield conn
            conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_change")


def _check(rid: int) -> list[tuple[int, str]]:
    with session_scope() as s:
        return [(c.event_id, c.status) for c in verify_chain(s, rid).events]


@pytest.mark.parametrize("sql", [
    "UPDATE audit_event SET actor = 'agent2' WHERE id = :id",
    "UPDATE audit_event SET detail = '{\"task_id\": 5}' WHERE id = :id",
    "UPDATE audit_event SET event = 'unclaimed' WHERE id = :id",
])
def test_an_event_altered_behind_the_triggers_is_pointed_at(engine, sql):
    rid, events = _history()
    claimed = events[3]
    with _behind_the_triggers(engine) as conn:
        conn.execute(text(sql), {"id": claimed.id})
    assert _check(rid) == [(e.id, ALTERED if e.id == claimed.id else OK) for e in events]
    with session_scope() as s:
        assert verify_chain(s, rid).first_broken.event_id == claimed.id
    with pytest.raises(Exception, match="append-only"):  # the triggers are back
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_event SET actor = 'x' WHERE id = :id"), {"id": claimed.id})


def test_an_event_rewritten_with_a_fresh_hash_breaks_the_next_link(engine):
    rid, events = _history()
    target = events[1]
    forged = event_hash(prev_hash=target.prev_hash, request_id=rid, at=target.at, actor="agent9",
                        event=target.event, detail=target.detail)
    with _behind_the_triggers(engine) as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'agent9', hash = :h WHERE id = :id"),
                     {"h": forged, "id": target.id})
    assert _check(rid) == [(e.id, UNLINKED if e.id == events[2].id else OK) for e in events]


@pytest.mark.parametrize("index", [0, 2])
def test_a_deleted_event_is_found_where_it_was(engine, index):
    rid, events = _history()
    with _behind_the_triggers(engine) as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": events[index].id})
    kept = [e for i, e in enumerate(events) if i != index]
    after = events[index + 1]  # the first event is missing: the new first one has a prev_hash
    assert _check(rid) == [(e.id, UNLINKED if e.id == after.id else OK) for e in kept]


def test_concurrent_writers_never_fork_the_chain(engine):
    """Threads with their own sessions add events to one request at the same moment, round
    after round: each event chains on a different one and the whole chain verifies. On
    PostgreSQL the request row lock orders them (without it they would read the same last
    event, and the unique prev_hash would refuse all but one); on SQLite BEGIN IMMEDIATE does."""
    rid = _request()
    threads, rounds, per_transaction = 6, 4, 3
    start = Barrier(threads, timeout=60)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for r in range(rounds):
                start.wait()  # every thread begins its transaction together
                with session_scope() as s:
                    for k in range(per_transaction):
                        audit(s, rid, AuditEventKind.claimed, actor=f"agent{n}", round=r, k=k)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            start.abort()

    workers = [Thread(target=write, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not any(w.is_alive() for w in workers) and errors == []
    events = _events(rid)
    assert len(events) == threads * rounds * per_transaction
    assert len({e.prev_hash for e in events}) == len(events)  # no two on the same previous event
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    with session_scope() as s:
        assert verify_chain(s, rid).intact
    # One transaction's events stay together: nobody slipped in between them.
    by_transaction = [(e.actor, e.detail["round"]) for e in events]
    assert all(by_transaction[i] == by_transaction[i - i % per_transaction] for i in range(len(events)))


def test_audit_once_writes_once_even_when_racing(engine):
    rid = _request()
    threads = 5
    start = Barrier(threads, timeout=60)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            start.wait()
            with session_scope() as s:
                audit_once(s, rid, AuditEventKind.password_sent, actor=SYSTEM)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    workers = [Thread(target=write) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert errors == [] and [e.event for e in _events(rid)] == ["password_sent"]


# --- the timeline and the CLI's text -----------------------------------------------------------------


def test_the_timeline_labels_each_event(engine):
    rid, events = _history()
    with session_scope() as s:
        french, english = timeline(s, rid), timeline(s, rid, "en")
    assert [e.id for e in french] == [e.id for e in events]
    assert french[0].label == "Demande soumise" and english[0].label == "Request submitted"
    assert (french[3].event, french[3].actor, french[3].detail) == ("claimed", "agent1", {"task_id": 4})


def test_format_audit_tells_an_intact_history(engine):
    reference = f"T-{uuid4().hex[:10].upper()}"
    rid, events = _history(reference)
    with session_scope() as s:
        text_fr, ok = format_audit(s, reference.lower())
        text_en, ok_en = format_audit(s, reference, "en")
    assert ok and ok_en
    lines = text_fr.splitlines()
    assert reference in lines[0] and "5 événements" in lines[0]
    assert len(lines) == 1 + len(events) + 1
    assert f"n° {events[0].id}" in lines[1] and "Demande soumise" in lines[1]
    assert "Prise en charge" in lines[4] and "agent1" in lines[4] and "(task_id=4)" in lines[4]
    assert lines[-1] == "Chaîne d'intégrité vérifiée : aucun événement modifié ni retiré."
    assert "Request submitted" in text_en and text_en.endswith("no event altered or removed.")


def test_format_audit_points_at_the_broken_place(engine):
    reference = f"T-{uuid4().hex[:10].upper()}"
    rid, events = _history(reference)
    with _behind_the_triggers(engine) as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'agent2' WHERE id = :id"), {"id": events[3].id})
        conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": events[1].id})
    with session_scope() as s:
        shown, ok = format_audit(s, reference)
    assert not ok
    lines = shown.splitlines()
    assert lines[2].endswith("[ÉVÉNEMENT PRÉCÉDENT MANQUANT]") and lines[3].endswith("[MODIFIÉ APRÈS COUP]")
    assert lines[-1] == (f"Chaîne d'intégrité rompue : un événement manque (ou a été ajouté) juste avant "
                         f"l'événement n° {events[2].id}.")


def test_format_audit_of_an_unknown_or_empty_request(engine):
    reference = f"T-{uuid4().hex[:10].upper()}"
    _request(reference)
    with session_scope() as s:
        assert format_audit(s, reference) == (f"La demande {reference} n'a aucun événement : rien ne peut être "
                                              "vérifié.", False)
        assert format_audit(s, "NOPE-1", "en") == ('No request has the reference number "NOPE-1".', False)
