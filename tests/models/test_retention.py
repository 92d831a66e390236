"""The retention purge (models/retention.py, ``ramq-access purge``, migration 0009).

Each request carries strings made unique by a uuid tag (names, emails, phones, addresses, the
signature images, the emails' bodies, a decision's reason); after the purge, every text column
of every table of the application database is scanned for them.
"""

from __future__ import annotations

import base64
import io
import json
import os
import threading
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import inspect, text, update
from sqlalchemy.exc import DatabaseError
from sqlmodel import col, select
from typer.testing import CliRunner

from flows.cli import app
from flows.sweeper import SweepReport
from models import queries, retention
from models.accounts import hash_password
from models.audit import audit, verify_chain
from models.db import get_engine, session_scope
from models.enums import AuditEventKind, RequestStatus, SignatureVerdict, SignerRole
from models.request_store import store_request
from models.settings import get_settings
from models.signatures import sign, soes_content, verify_request
from models.tables import (
    AccessRequest,
    Account,
    AuditEvent,
    Decision,
    HumanTask,
    OutboxEmail,
    RamqProcessing,
    RequestRevision,
    Signature,
    quebec_today,
    utcnow,
)
from tests.models.helpers import establishment_with_authorization

runner = CliRunner()
OLD = timedelta(days=4000)  # closed this long ago: past any retention the tests ask for
DAYS = 3000


def _noise_png() -> str:
    """A signature image no other row has (random pixels)."""
    from PIL import Image

    img = Image.frombytes("L", (16, 8), os.urandom(128))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _tagged() -> tuple[dict, list[str]]:
    """A request whose every personal field holds a unique string; those strings."""
    tag = uuid.uuid4().hex[:12]
    n = uuid.uuid4().int
    data = establishment_with_authorization()
    user, auth = data["user"], data["authorization"]
    user.update(first_name=f"PRENOM{tag}", last_name=f"NOM{tag}", email=f"u{tag}@cisss.example.qc.ca",
                phone=f"418 {200 + n % 800:03d}-{n // 1000 % 10000:04d}", function=f"Agente {tag}",
                establishment_name=f"Clinique {tag}", address=f"{tag}, rue Saint-Jean, Québec",
                signature={"method": "drawn", "image_png_base64": _noise_png()})
    data["authorizer"].update(first_name=f"APRENOM{tag}", last_name=f"ANOM{tag}", email=f"a{tag}@cisss.example.qc.ca")
    auth.update(function=f"Directeur {tag}", phone=f"581 {200 + n // 10**7 % 800:03d}-{n // 10**10 % 10000:04d}",
                organization_name=f"Organisme {tag}", address=f"{tag}, boulevard Laurier",
                signature={"method": "drawn", "image_png_base64": _noise_png()})
    secrets = [tag, user["phone"], auth["phone"], user["signature"]["image_png_base64"],
               auth["signature"]["image_png_base64"]]
    return data, secrets


def _closed_request(*, closed_ago: timedelta | None = OLD, status: RequestStatus = RequestStatus.completed,
                    access_days: int = 365) -> tuple[int, str, list[str]]:
    """A request through every table that holds personal data: stored and signed (user,
    authorizer), approved and countersigned (section 4, username), a decision with a reason,
    emails with bodies, an issued account valid ``access_days`` from the closing; closed
    ``closed_ago`` (None: still open)."""
    data, secrets = _tagged()
    tag = secrets[0]
    today = quebec_today() - (closed_ago or timedelta(0))
    with session_scope() as s:
        request = store_request(s, normalized=data, actor="test")
        request_id, reference = request.id, request.reference
        s.add(RamqProcessing(request_id=request_id, registration_date=today, reference_number=reference,
                             username=f"u{tag}", valid_from=today, valid_until=today + timedelta(days=365),
                             respondent_id="clerk1", soes_signed_by="soes1"))
        s.flush()
        from models.signatures import respondent_content

        sign(s, request_id=request_id, revision=request.revision, role=SignerRole.respondent, signer="clerk1",
             method="typed", content=respondent_content(s, request))
        sign(s, request_id=request_id, revision=request.revision, role=SignerRole.soes, signer="soes1",
             method="typed", content=soes_content(s, request))
        task = HumanTask(request_id=request_id, kind="respondent", round=1, status="done", closed_at=utcnow())
        s.add(task)
        s.flush()
        s.add(Decision(task_id=task.id, request_id=request_id, outcome="approve", actor="clerk1",
                       reason=f"Vu avec PRENOM{tag} au téléphone"))
        for role, recipient in (("user", data["user"]["email"]), ("authorizer", data["authorizer"]["email"])):
            s.add(OutboxEmail(key=f"{request_id}:test:1:{role}", request_id=request_id, kind="test",
                              recipient=recipient, subject=f"Demande de PRENOM{tag}",
                              body_text=f"Bonjour PRENOM{tag} NOM{tag}", body_html=f"<p>PRENOM{tag}</p>",
                              status="sent", smtp_response=f"250 OK <{recipient}>"))
        account = Account(username=f"u{tag}", kind="issued", role="user", display_name=f"PRENOM{tag} NOM{tag}",
                          email=data["user"]["email"], password_hash=hash_password("x" * 12), request_id=request_id,
                          valid_from=today, valid_until=today + timedelta(days=access_days))
        s.add(account)
        s.flush()
        # Free-text reasons staff wrote in the history (flows.api: revoke, restore, reassign).
        audit(s, request_id, AuditEventKind.reassigned, actor="manager1", task_id=task.id, previous="clerk1",
              to="clerk2", reason=f"PRENOM{tag} a appelé")
        audit(s, request_id, AuditEventKind.access_revoked, actor="manager1", account_id=account.id, round=1,
              reason=f"NOM{tag} a quitté l'établissement (« é »)")
        if closed_ago is not None:
            request.status = status.value
            request.closed_at = utcnow() - closed_ago
        else:
            request.status = RequestStatus.awaiting_respondent.value
        s.add(request)
    return request_id, reference, secrets


def _texts_holding(secrets: list[str]) -> list[str]:
    """Every (table.column) of the application database where one of ``secrets`` is found
    (in any case: names are stored in capitals)."""
    secrets = [x.casefold() for x in secrets]
    engine = get_engine()
    found = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            if table == "alembic_version":
                continue
            for row in conn.execute(text(f'SELECT * FROM "{table}"')).mappings():
                for column, value in row.items():
                    if value is None or isinstance(value, int | float | bool):
                        continue
                    as_text = value if isinstance(value, str) else json.dumps(value, default=str,
                                                                              ensure_ascii=False)
                    found += [f"{table}.{column}" for s in secrets if s in as_text.casefold()]
    return found


def _snapshot(request_id: int) -> dict:
    """What the statistics read of a request, and the managers' counts."""
    with session_scope() as s:
        r = s.get(AccessRequest, request_id)
        kept = {k: getattr(r, k) for k in ("reference", "status", "created_at", "updated_at", "closed_at",
                                            "organization_type", "register_scope", "applications", "revision",
                                            "establishment_number", "additional_establishment_numbers",
                                            "language", "user_signed_at")}
        ramq = s.exec(select(RamqProcessing).where(RamqProcessing.request_id == request_id)).one()
        kept["section4"] = (ramq.registration_date, ramq.valid_from, ramq.valid_until, ramq.respondent_id,
                            ramq.soes_signed_by)
        kept["tasks"] = [(t.kind, t.status, t.closed_at) for t in s.exec(
            select(HumanTask).where(HumanTask.request_id == request_id)).all()]
        kept["decisions"] = [(d.outcome, d.actor, d.created_at) for d in s.exec(
            select(Decision).where(Decision.request_id == request_id)).all()]
        kept["signatures"] = [(g.role, g.section, g.method, g.signed_at, g.revision, g.sha256) for g in s.exec(
            select(Signature).where(Signature.request_id == request_id).order_by(col(Signature.id))).all()]
    kept["timeline"] = [(e["at"], e["event"], e["actor"]) for e in queries.request_timeline(request_id)
                        if e["event"] != AuditEventKind.purged]
    return kept


def _purge(**kw) -> retention.PurgeResult:
    return retention.purge(older_than_days=DAYS, **kw)


def test_purge_leaves_no_personal_data_and_keeps_the_statistics(engine):
    request_id, reference, secrets = _closed_request()
    assert set(_texts_holding(secrets)) >= {"access_request.user_first_name", "signature.content",
                                            "request_revision.content", "outbox_email.body_text",
                                            "decision.reason", "account.display_name",
                                            "request_authorization.address", "signature.image",
                                            "audit_event.detail"}
    before, counts, tasks = _snapshot(request_id), queries.status_counts(), queries.open_task_counts()

    result = _purge()

    assert reference in result.references and not result.dry_run
    assert _texts_holding(secrets) == []
    assert _snapshot(request_id) == before
    assert queries.status_counts() == counts and queries.open_task_counts() == tasks
    with session_scope() as s:
        account = s.exec(select(Account).where(Account.request_id == request_id)).one()
        assert account.disabled and account.email is None and account.username == f"purged-{account.id}"
        events = s.exec(select(AuditEvent).where(AuditEvent.request_id == request_id,
                                                 AuditEvent.event == AuditEventKind.purged.value)).all()
        assert [e.detail["older_than_days"] for e in events] == [DAYS]
        assert len(events[0].detail["redacted"]) == 2  # the reassignment's and revocation's reasons
        assert verify_chain(s, request_id).intact
        assert s.get(AccessRequest, request_id).purged_at is not None
    # The status link's view still shows the steps (and no personal data, as before).
    view = queries.request_status_view(request_id)
    assert view["reference"] == reference and view["closed"] and view["steps"]
    # A second purge finds nothing more to do.
    assert reference not in _purge().references


def test_open_and_recently_closed_requests_are_untouched(engine):
    open_id, open_ref, open_secrets = _closed_request(closed_ago=None)
    recent_id, recent_ref, recent_secrets = _closed_request(closed_ago=timedelta(days=DAYS - 1))
    with session_scope() as s:  # an open request created long ago is still not purged
        s.exec(update(AccessRequest).where(col(AccessRequest.id) == open_id)
               .values(created_at=utcnow() - OLD))

    result = _purge()

    assert open_ref not in result.references and recent_ref not in result.references
    for request_id, secrets in ((open_id, open_secrets), (recent_id, recent_secrets)):
        assert "access_request.user_first_name" in _texts_holding(secrets)
        with session_scope() as s:
            assert s.get(AccessRequest, request_id).purged_at is None
            assert verify_request(s, s.get(AccessRequest, request_id)).intact


def test_an_access_still_valid_waits_for_its_end(engine):
    """Closed long ago but its issued access still runs (a renewal, a long validity): a short
    ``--older-than`` does not take the access away; once it ended, the request is purged."""
    request_id, reference, secrets = _closed_request(access_days=OLD.days + 10)
    assert reference not in _purge().references
    assert "account.display_name" in _texts_holding(secrets)
    with session_scope() as s:
        s.exec(update(Account).where(col(Account.request_id) == request_id)
               .values(valid_until=quebec_today() - timedelta(days=1)))
    assert reference in _purge().references


def test_dry_run_shows_and_changes_nothing(engine):
    request_id, reference, secrets = _closed_request(status=RequestStatus.refused_by_ramq)
    held = sorted(_texts_holding(secrets))

    shown = runner.invoke(app, ["purge", "--older-than", str(DAYS), "--dry-run"])

    assert shown.exit_code == 0, shown.output
    assert reference in shown.output and "rien n'a été modifié" in shown.output
    assert sorted(_texts_holding(secrets)) == held
    with session_scope() as s:
        assert s.get(AccessRequest, request_id).purged_at is None
    done = runner.invoke(app, ["purge", "--older-than", str(DAYS)])
    assert done.exit_code == 0 and reference in done.output
    assert _texts_holding(secrets) == []


def test_purged_request_verifies_as_purged_its_chain_holds_and_no_pdf(engine):
    request_id, reference, _ = _closed_request()
    _purge()

    verified = runner.invoke(app, ["verify", reference])
    assert verified.exit_code == 0, verified.output
    assert "purgée le" in verified.output and "ALTÉRÉE" not in verified.output
    with session_scope() as s:
        result = verify_request(s, s.get(AccessRequest, request_id))
        assert result.intact and result.purged_at is not None
        assert {c.verdict for c in result.checks} == {SignatureVerdict.purged}
    chain = runner.invoke(app, ["audit", reference])
    assert chain.exit_code == 0, chain.output
    printed = runner.invoke(app, ["pdf", reference, "-o", "-"])
    assert printed.exit_code == 1 and "purgée" in printed.output
    # The record and the staff's views still open, emptied.
    exported = runner.invoke(app, ["export", reference, "--with-images"])
    assert exported.exit_code == 0, exported.output
    record = json.loads(exported.output)
    assert record["purged_at"] and record["intact"] and record["status"] == "completed"
    assert queries.request_review(request_id) is not None
    assert queries.signed_record(request_id)["purged_at"]


def test_purged_marker_alone_does_not_pass_verify(engine):
    """Emptying a signed row through the purge's allowed update, without the purge (no
    ``purged`` event), is an alteration like any other."""
    request_id, _, _ = _closed_request(closed_ago=None)
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE request_revision SET purged_at = :now, content = :c WHERE request_id = :r"),
                     {"now": utcnow(), "c": json.dumps(retention.PURGED_CONTENT), "r": request_id})
        conn.execute(text("UPDATE access_request SET purged_at = :now WHERE id = :r"),
                     {"now": utcnow(), "r": request_id})
    with session_scope() as s:
        result = verify_request(s, s.get(AccessRequest, request_id))
        assert not result.intact and not result.revisions_intact


def _raw(sql: str, **params) -> None:
    with get_engine().begin() as conn:
        conn.execute(text(sql), params)


@pytest.mark.parametrize("table", ["request_revision", "signature"])
def test_a_purged_row_never_changes_again_nor_goes_away(engine, table):
    request_id, _, _ = _closed_request()
    _purge()
    for sql in (f"UPDATE {table} SET content = '{{\"x\": 1}}' WHERE request_id = :r",
                f"UPDATE {table} SET purged_at = NULL WHERE request_id = :r",
                f"UPDATE {table} SET purged_at = CURRENT_TIMESTAMP WHERE request_id = :r",
                f"UPDATE {table} SET sha256 = 'x' WHERE request_id = :r",
                f"DELETE FROM {table} WHERE request_id = :r"):
        with pytest.raises(DatabaseError):
            _raw(sql, r=request_id)


def test_only_the_purged_form_is_allowed_on_a_signed_row(engine):
    request_id, _, _ = _closed_request(closed_ago=None)
    marker = json.dumps(retention.PURGED_CONTENT)
    refused = (
        # content changed without purged_at, or purged_at with other content
        ("UPDATE request_revision SET content = :m WHERE request_id = :r", {"m": marker}),
        ("UPDATE request_revision SET purged_at = :now WHERE request_id = :r", {}),
        ("UPDATE request_revision SET purged_at = :now, content = '{\"purged\": false}' WHERE request_id = :r", {}),
        # the purge form, but a kept column changed too
        ("UPDATE request_revision SET purged_at = :now, content = :m, sha256 = 'x' WHERE request_id = :r",
         {"m": marker}),
        ("UPDATE signature SET purged_at = :now, content = :m, image = '{\"a\": 1}' WHERE request_id = :r",
         {"m": marker}),
        ("UPDATE signature SET purged_at = :now, content = :m, image = '{}', signer = 'someone' "
         "WHERE request_id = :r", {"m": marker}),
        ("UPDATE signature SET purged_at = :now, content = :m, image = '{}', role = 'soes' WHERE request_id = :r",
         {"m": marker}),
        ("DELETE FROM signature WHERE request_id = :r", {}),
    )
    for sql, params in refused:
        with pytest.raises(DatabaseError):
            _raw(sql, r=request_id, now=utcnow(), **params)
    # The purge's form itself is accepted (as the purge writes it).
    _raw("UPDATE signature SET purged_at = :now, content = :m, image = '{}', signer = '' WHERE request_id = :r",
         r=request_id, now=utcnow(), m=marker)


def test_two_purges_at_once_purge_each_request_once(engine):
    ids = [_closed_request()[0] for _ in range(3)]
    results: list = []
    barrier = threading.Barrier(2)

    def run():
        barrier.wait()
        results.append(_purge())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 2
    with session_scope() as s:
        refs = [s.get(AccessRequest, i).reference for i in ids]
        for request_id in ids:
            assert len(s.exec(select(AuditEvent.id).where(AuditEvent.request_id == request_id,
                                                         AuditEvent.event == AuditEventKind.purged.value)).all()) == 1
    purged = [ref for r in results for ref in r.references]
    assert sorted(ref for ref in purged if ref in refs) == sorted(refs)
    for reference in refs:
        assert runner.invoke(app, ["audit", reference]).exit_code == 0


def test_the_sweeper_part_purges_once_a_day_and_only_when_enabled(engine, monkeypatch):
    assert "purged" in SweepReport.__dataclass_fields__
    _, reference, _ = _closed_request(closed_ago=timedelta(days=get_settings().retention_days + 1))
    day = date(2100, 1, 1) + timedelta(days=uuid.uuid4().int % 100000)
    assert retention.purge_daily(day=day) == []  # off by default
    monkeypatch.setenv("RAMQ_PURGE_ENABLED", "true")
    get_settings.cache_clear()
    try:
        first = retention.purge_daily(day=day)
        assert reference in first
        assert retention.purge_daily(day=day) == []
        # Two sweepers on the same new day: one claims it.
        other = day + timedelta(days=1)
        claims: list[bool] = []
        barrier = threading.Barrier(2)

        def claim():
            barrier.wait()
            claims.append(retention.claim_daily(retention.JOB, other, utcnow()))

        threads = [threading.Thread(target=claim) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(claims) == [False, True]
    finally:
        monkeypatch.delenv("RAMQ_PURGE_ENABLED")
        get_settings.cache_clear()


def test_revisions_of_a_purged_request_keep_their_hash(engine):
    request_id, _, _ = _closed_request()
    with session_scope() as s:
        before = [(r.revision, r.sha256) for r in s.exec(select(RequestRevision).where(
            RequestRevision.request_id == request_id)).all()]
    _purge()
    with session_scope() as s:
        rows = s.exec(select(RequestRevision).where(RequestRevision.request_id == request_id)).all()
        assert [(r.revision, r.sha256) for r in rows] == before
        assert all(r.content == retention.PURGED_CONTENT and r.purged_at for r in rows)


def test_a_redacted_audit_event_is_still_checked(engine):
    """The purge redacts the reasons; what the redacted events hold now is checked against the
    hashes its own event recorded: a change made behind the triggers' back still shows."""
    request_id, reference, _ = _closed_request()
    _purge()
    with session_scope() as s:
        redacted = s.exec(select(AuditEvent).where(AuditEvent.request_id == request_id,
                                                   col(AuditEvent.purged_at).is_not(None))).all()
        assert {e.event for e in redacted} == {"reassigned", "access_revoked"}
        assert all(e.detail["reason"] == retention.REDACTED for e in redacted)
        target = redacted[0].id
    shown = runner.invoke(app, ["audit", reference])
    assert shown.exit_code == 0 and "motif purgé" in shown.output, shown.output
    engine_ = get_engine()
    with engine_.begin() as conn:  # the intruder: triggers off, one detail key changed
        if engine_.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
            conn.execute(text("UPDATE audit_event SET detail = CAST(:d AS json) WHERE id = :i"),
                         {"d": json.dumps({"reason": retention.REDACTED, "task_id": 999999}), "i": target})
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
        else:
            create = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'audit_event_no_update'")).scalar()
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("UPDATE audit_event SET detail = :d WHERE id = :i"),
                         {"d": json.dumps({"reason": retention.REDACTED, "task_id": 999999}), "i": target})
            conn.execute(text(create))
    broken = runner.invoke(app, ["audit", reference])
    assert broken.exit_code == 1 and f"n° {target}" in broken.output, broken.output


def test_audit_events_allow_only_the_reason_purge_once(engine):
    request_id, _, _ = _closed_request(closed_ago=None)
    with session_scope() as s:
        event_id = s.exec(select(AuditEvent.id).where(AuditEvent.request_id == request_id,
                                                      AuditEvent.event == "access_revoked")).one()
        plain_id = s.exec(select(AuditEvent.id).where(AuditEvent.request_id == request_id,
                                                      AuditEvent.event == "submitted")).one()
        detail = dict(s.get(AuditEvent, event_id).detail)
    purged = json.dumps({**detail, "reason": retention.REDACTED})
    refused = (
        ("UPDATE audit_event SET detail = :d WHERE id = :i", purged),  # no purged_at
        ("UPDATE audit_event SET purged_at = :now, detail = :d WHERE id = :i",
         json.dumps({**detail, "reason": "autre chose"})),
        ("UPDATE audit_event SET purged_at = :now, detail = :d WHERE id = :i",
         json.dumps({**detail, "reason": retention.REDACTED, "round": 7})),
        ("UPDATE audit_event SET purged_at = :now, detail = :d, actor = 'x' WHERE id = :i", purged),
        ("UPDATE audit_event SET purged_at = :now, detail = :d WHERE id = :p", purged),  # no reason there
        ("DELETE FROM audit_event WHERE id = :i", None),
    )
    cast = "CAST(:d AS json)" if get_engine().dialect.name == "postgresql" else ":d"
    for sql, d in refused:
        with pytest.raises(DatabaseError, match="append-only"):
            _raw(sql.replace(":d", cast), i=event_id, p=plain_id, now=utcnow(), d=d)
    _raw(f"UPDATE audit_event SET purged_at = :now, detail = {cast} WHERE id = :i", i=event_id, now=utcnow(),
         d=purged)
    with pytest.raises(DatabaseError, match="append-only"):  # once
        _raw(f"UPDATE audit_event SET purged_at = :now, detail = {cast} WHERE id = :i", i=event_id, now=utcnow(),
             d=purged)
    # Allowed by the trigger, but not done by a purge (no ``purged`` event vouching for it):
    # the chain reports the event altered.
    with session_scope() as s:
        report = verify_chain(s, request_id)
        assert not report.intact and report.first_broken.event_id == event_id
