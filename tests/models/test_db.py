from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import db as models_db
from models.audit import audit, event_hash, verify_chain
from models.db import session_scope
from models.enums import AuditEventKind
from models.tables import AccessRequest, AuditEvent
from tests.models.helpers import bare_request

APPEND_ONLY = "audit_event is append-only"


def test_migrations_create_every_table(engine):
    names = set(inspect(engine).get_table_names())
    assert {"access_request", "request_authorization", "ramq_processing", "human_task", "decision",
            "audit_event", "outbox_email", "account", "used_link"} <= names


def _request_with_event() -> tuple[int, int]:
    with session_scope() as s:
        req = bare_request()
        s.add(req)
        s.flush()
        event = audit(s, req.id, AuditEventKind.submitted, actor="test", task_id=1)
        return req.id, event.id


def test_datetimes_come_back_timezone_aware(engine):
    rid, _ = _request_with_event()
    with session_scope() as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.request_id == rid)).one()
        assert ev.at.tzinfo is not None


# --- audit_event is append-only, whoever asks ----------------------------------------------------------


def _unchanged(event_id: int) -> None:
    with session_scope() as s:
        ev = s.get(AuditEvent, event_id)
        assert ev is not None and ev.actor == "test" and ev.detail == {"task_id": 1}
        assert verify_chain(s, ev.request_id).intact


@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_orm_cannot_change_or_delete_an_audit_event(engine, change):
    _, eid = _request_with_event()
    with pytest.raises(IntegrityError, match=APPEND_ONLY):
        with session_scope() as s:
            ev = s.get(AuditEvent, eid)
            if change == "update":
                ev.detail = {"task_id": 2}
                s.add(ev)
            else:
                s.delete(ev)
    _unchanged(eid)


@pytest.mark.parametrize("sql", [
    "UPDATE audit_event SET actor = 'someone' WHERE id = :id",
    "UPDATE audit_event SET hash = prev_hash WHERE id = :id",
    "DELETE FROM audit_event WHERE id = :id",
    "DELETE FROM audit_event",  # SQLite's whole-table shortcut is off when a trigger exists
])
def test_raw_sql_cannot_change_or_delete_an_audit_event(engine, sql):
    _, eid = _request_with_event()
    with pytest.raises(IntegrityError, match=APPEND_ONLY):
        with engine.begin() as conn:
            conn.execute(text(sql), {"id": eid} if ":id" in sql else {})
    _unchanged(eid)


@pytest.mark.parametrize("sql", ["TRUNCATE audit_event", "TRUNCATE access_request CASCADE"])
def test_postgresql_refuses_truncate(engine, sql):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    _, eid = _request_with_event()
    with pytest.raises(IntegrityError, match=APPEND_ONLY):
        with engine.begin() as conn:
            conn.execute(text(sql))
    _unchanged(eid)


def test_a_request_with_history_cannot_be_deleted(engine):
    rid, eid = _request_with_event()
    with pytest.raises(IntegrityError):  # the foreign key: no cascade into the history
        with session_scope() as s:
            s.delete(s.get(AccessRequest, rid))
    _unchanged(eid)


def test_an_event_not_written_by_audit_is_refused(engine):
    with pytest.raises(IntegrityError):  # no hash: it would enter the history unchained
        with session_scope() as s:
            req = bare_request()
            s.add(req)
            s.flush()
            s.add(AuditEvent(request_id=req.id, actor="test", event="probe"))


def test_two_events_cannot_chain_on_the_same_one(engine):
    """A fork is refused by the database itself (prev_hash is unique), whatever the locks."""
    rid, eid = _request_with_event()
    with session_scope() as s:
        first = s.get(AuditEvent, eid)
        second = audit(s, rid, AuditEventKind.claimed, actor="test")
        assert second.prev_hash == first.hash
    with pytest.raises(IntegrityError):
        with session_scope() as s:
            fields = dict(request_id=rid, at=datetime.now(UTC), actor="forger", event="unclaimed",
                          detail={}, prev_hash=first.hash)
            s.add(AuditEvent(**fields, hash=event_hash(**fields)))


# --- migration 0003 on a database that already has a history -----------------------------------------


@pytest.fixture
def empty_database_url(database_url, tmp_path):
    """A new, empty database of the session's backend (migrated by the test itself)."""
    from tests.conftest import PG_URL, _create_pg_database, _drop_pg_database

    if make_url(database_url).get_backend_name() == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        yield url
        models_db.get_engine(url).dispose()
        return
    name, url = _create_pg_database(PG_URL)
    try:
        yield url
    finally:
        models_db.get_engine(url).dispose()
        _drop_pg_database(PG_URL, name)


def _migrate(url: str, direction: str, revision: str) -> None:
    cfg = models_db.alembic_config(url)
    with models_db.get_engine(url).begin() as connection:
        cfg.attributes["connection"] = connection
        getattr(command, direction)(cfg, revision)


# The tables as migration 0002 left them (only the columns these rows fill).
_REQUESTS = sa.table(
    "access_request", *(sa.column(name, sa.String) for name in (
        "status", "language", "organization_type", "register_scope", "user_first_name", "user_last_name",
        "user_sex", "user_function", "user_email", "user_phone", "establishment_name", "establishment_number",
        "user_address", "user_postal_code", "authorizer_first_name", "authorizer_last_name", "authorizer_email")),
    sa.column("id", sa.Integer), sa.column("revision", sa.Integer),
    sa.column("applications", sa.JSON), sa.column("additional_establishment_numbers", sa.JSON),
    sa.column("user_signature", sa.JSON), sa.column("user_commitments_accepted", sa.Boolean),
    sa.column("created_at", sa.DateTime(timezone=True)), sa.column("updated_at", sa.DateTime(timezone=True)))
_EVENTS = sa.table("audit_event", sa.column("request_id", sa.Integer), sa.column("at", sa.DateTime(timezone=True)),
                   sa.column("actor", sa.String), sa.column("event", sa.String), sa.column("detail", sa.JSON))


def test_the_migration_chains_an_existing_history(empty_database_url):
    url = empty_database_url
    _migrate(url, "upgrade", "0002")
    now = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    texts = {c.name: "X" for c in _REQUESTS.columns if isinstance(c.type, sa.String)}
    with models_db.get_engine(url).begin() as conn:
        for rid in (1, 2):
            conn.execute(sa.insert(_REQUESTS).values(
                **texts, id=rid, revision=1, applications=[], additional_establishment_numbers=[],
                user_signature={}, user_commitments_accepted=True, created_at=now, updated_at=now))
        # Interleaved histories; one detail with an accent (the hash is of UTF-8, not \\u escapes).
        for n, (rid, event, detail) in enumerate([
                (1, "submitted", {"reference": "SÉL-1"}), (2, "submitted", {}), (1, "flow_started", {"round": 1}),
                (1, "claimed", {"task_id": 3}), (2, "closed", {"outcome": "expired", "round": 1})]):
            conn.execute(sa.insert(_EVENTS).values(request_id=rid, at=now.replace(second=n), actor="système",
                                                   event=event, detail=detail))

    def check(expected: dict[int, int]) -> None:
        with Session(models_db.get_engine(url)) as s:
            for rid, count in expected.items():
                report = verify_chain(s, rid)
                assert report.intact and len(report.events) == count, (rid, report)
                events = s.exec(select(AuditEvent).where(AuditEvent.request_id == rid).order_by(AuditEvent.id)).all()
                assert events[0].prev_hash is None
                assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]

    _migrate(url, "upgrade", "head")
    check({1: 3, 2: 2})
    with Session(models_db.get_engine(url)) as s:  # the next event chains on the backfilled ones
        audit(s, 1, AuditEventKind.completed, actor="système")
        s.commit()
    check({1: 4, 2: 2})
    with pytest.raises(IntegrityError, match=APPEND_ONLY):
        with models_db.get_engine(url).begin() as conn:
            conn.execute(text("DELETE FROM audit_event WHERE request_id = 2"))

    _migrate(url, "downgrade", "0002")  # the triggers and columns go
    with models_db.get_engine(url).begin() as conn:
        assert "hash" not in {c["name"] for c in inspect(conn).get_columns("audit_event")}
        conn.execute(text("UPDATE audit_event SET actor = 'cli' WHERE request_id = 2"))
    _migrate(url, "upgrade", "head")
    check({1: 4, 2: 2})


# --- migration 0008 on a database with tasks reminded once ------------------------------------------


def test_a_task_reminded_before_the_schedule_counts_one_reminder(empty_database_url):
    url = empty_database_url
    _migrate(url, "upgrade", "0005")
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    texts = {c.name: "X" for c in _REQUESTS.columns if isinstance(c.type, sa.String)}
    tasks = sa.table("human_task", sa.column("id", sa.Integer), sa.column("request_id", sa.Integer),
                     sa.column("kind", sa.String), sa.column("round", sa.Integer), sa.column("attempt", sa.Integer),
                     sa.column("status", sa.String), sa.column("reminded_at", sa.DateTime(timezone=True)),
                     sa.column("created_at", sa.DateTime(timezone=True)))
    with models_db.get_engine(url).begin() as conn:
        conn.execute(sa.insert(_REQUESTS).values(
            **texts, id=1, revision=1, applications=[], additional_establishment_numbers=[],
            user_signature={}, user_commitments_accepted=True, created_at=now, updated_at=now))
        for task_id, reminded in ((1, now), (2, None)):
            conn.execute(sa.insert(tasks).values(id=task_id, request_id=1, kind="authorizer", round=task_id,
                                                 attempt=1, status="open", reminded_at=reminded, created_at=now))
    _migrate(url, "upgrade", "0008")
    with models_db.get_engine(url).begin() as conn:
        counts = dict(conn.execute(text("SELECT id, reminders_sent FROM human_task ORDER BY id")).all())
    assert counts == {1: 1, 2: 0}
    assert "staff_digest" in inspect(models_db.get_engine(url)).get_table_names()
    _migrate(url, "downgrade", "0005")
    assert "staff_digest" not in inspect(models_db.get_engine(url)).get_table_names()
    _migrate(url, "upgrade", "head")


# --- migration 0011: the step times, kept by the database, and the indexes --------------------------


def _epoch(at: datetime) -> float:
    return (at - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()


def test_the_step_times_are_backfilled_then_kept_by_the_events(empty_database_url):
    url = empty_database_url
    _migrate(url, "upgrade", "0010")
    t0 = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
    texts = {c.name: "X" for c in _REQUESTS.columns if isinstance(c.type, sa.String)}
    events = sa.table("audit_event", *(sa.column(c.name, c.type) for c in _EVENTS.columns),
                      sa.column("hash", sa.String), sa.column("prev_hash", sa.String))
    with models_db.get_engine(url).begin() as conn:
        for rid in (1, 2, 3):
            conn.execute(sa.insert(_REQUESTS).values(
                **texts, id=rid, revision=1, applications=[], additional_establishment_numbers=[],
                user_signature={}, user_commitments_accepted=True, created_at=t0, updated_at=t0))
        # Request 1 sent back and authorized twice: the last authorization counts, the first
        # submission starts the total. Request 2 has no mark (no row); 3 is only submitted.
        for n, (rid, event, minutes) in enumerate([
                (1, "submitted", 0), (1, "authorizer_authorize", 10), (1, "claimed", 20),
                (1, "respondent_send_back", 30), (1, "correction_resubmit", 40),
                (1, "authorizer_authorize", 50), (2, "flow_started", 0), (3, "submitted", 5)]):
            conn.execute(sa.insert(events).values(
                request_id=rid, at=t0 + timedelta(minutes=minutes), actor="système", event=event,
                detail={}, hash=f"{n:064d}", prev_hash=None))
    _migrate(url, "upgrade", "0011")

    def step_times() -> dict[int, dict]:
        with models_db.get_engine(url).connect() as conn:
            rows = conn.execute(text("SELECT * FROM request_step_time ORDER BY request_id")).mappings().all()
        return {r["request_id"]: {k: v for k, v in r.items() if k != "request_id"} for r in rows}

    def at(minutes: float) -> float:
        return _epoch(t0 + timedelta(minutes=minutes))

    expected = {1: {"first_submitted": at(0), "submitted": at(40), "authorized": at(50), "reviewed": at(30),
                    "countersigned": None, "credentials_sent": None},
                3: {"first_submitted": at(5), "submitted": at(5), "authorized": None, "reviewed": None,
                    "countersigned": None, "credentials_sent": None}}

    def check() -> None:
        found = step_times()
        assert found.keys() == expected.keys()
        for rid, marks in expected.items():
            for mark, value in marks.items():
                assert found[rid][mark] == (None if value is None else pytest.approx(value, abs=0.001)), (rid, mark)

    check()
    with Session(models_db.get_engine(url)) as s:  # written by the steps from now on
        audit(s, 1, AuditEventKind.respondent_approve, actor="test", at=t0 + timedelta(minutes=60))
        audit(s, 1, AuditEventKind.claimed, actor="test", at=t0 + timedelta(minutes=70))
        audit(s, 2, AuditEventKind.submitted, actor="test", at=t0 + timedelta(minutes=80))
        # An event written late with an earlier time moves neither the last mark nor the first.
        audit(s, 1, AuditEventKind.authorizer_authorize, actor="test", at=t0 + timedelta(minutes=1))
        audit(s, 1, AuditEventKind.submitted, actor="test", at=t0 + timedelta(minutes=90))
        s.commit()
    expected[1] |= {"reviewed": at(60), "submitted": at(90)}
    expected[2] = {"first_submitted": at(80), "submitted": at(80), "authorized": None, "reviewed": None,
                   "countersigned": None, "credentials_sent": None}
    check()
    indexes = {i["name"] for i in inspect(models_db.get_engine(url)).get_indexes("human_task")}
    assert "ix_human_task_queue" in indexes

    _migrate(url, "downgrade", "0010")  # the table, its trigger and the indexes go
    engine = models_db.get_engine(url)
    assert "request_step_time" not in inspect(engine).get_table_names()
    assert "ix_human_task_queue" not in {i["name"] for i in inspect(engine).get_indexes("human_task")}
    with Session(engine) as s:  # an event without the table behind its trigger
        audit(s, 3, AuditEventKind.authorizer_authorize, actor="test", at=t0 + timedelta(minutes=100))
        s.commit()
    _migrate(url, "upgrade", "head")
    expected[3] |= {"authorized": at(100)}
    check()
