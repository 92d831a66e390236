"""The signed record: immutable revisions, signatures bound to what was signed, ``verify``.

Alterations are made the way an intruder with database access would: raw SQL on the tables,
with the immutability triggers switched off inside the same transaction where they stand in
the way. ``verify`` must see every one of them.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlmodel import select
from typer.testing import CliRunner

from flows.cli import app
from models.db import get_engine, session_scope
from models.enums import SignatureVerdict, SignerRole
from models.record import record_by_reference
from models.request_store import SignatureReused, store_request, update_request_from_canonical
from models.signatures import respondent_content, sign, signatures_of, verify_request
from models.tables import AccessRequest, RamqProcessing, RequestRevision, Signature, quebec_today
from tests.models.helpers import establishment_with_authorization, load_sample, resigned

runner = CliRunner()


def _stored(data: dict | None = None) -> tuple[int, str]:
    with session_scope() as s:
        request = store_request(s, normalized=data or establishment_with_authorization(), actor="test")
        return request.id, request.reference


def _approved(request_id: int) -> None:
    """Section 4 completed and signed by a respondent (what the API does on approval)."""
    today = quebec_today()
    with session_scope() as s:
        request = s.get(AccessRequest, request_id)
        s.add(RamqProcessing(request_id=request_id, registration_date=today, reference_number=request.reference,
                             username=f"user{request_id}", valid_from=today, valid_until=today + timedelta(days=365),
                             respondent_id="clerk1"))
        s.flush()
        sign(s, request_id=request_id, revision=request.revision, role=SignerRole.respondent, signer="clerk1",
             method="typed", content=respondent_content(s, request))


def _verify(request_id: int):
    with session_scope() as s:
        return verify_request(s, s.get(AccessRequest, request_id))


def _verdicts(request_id: int) -> dict[str, str]:
    return {c.role: c.verdict for c in _verify(request_id).checks}


def _behind_the_back(sql: str, tables: tuple[str, ...] = (), **params) -> None:
    """Runs ``sql`` with the append-only triggers of ``tables`` off, in one transaction."""
    engine = get_engine()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in tables:
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            conn.execute(text(sql), params)
            for table in tables:
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        else:
            triggers = [row for table in tables for row in conn.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"), {"t": table})]
            for name, _ in triggers:
                conn.execute(text(f"DROP TRIGGER {name}"))
            conn.execute(text(sql), params)
            for _, create in triggers:
                conn.execute(text(create))


def test_an_untouched_request_verifies_intact(engine):
    request_id, reference = _stored()
    _approved(request_id)
    result = _verify(request_id)
    assert result.intact and result.revisions_intact
    assert [(c.section, c.role, c.verdict) for c in result.checks] == [
        ("2", "user", "intact"), ("3", "authorizer", "intact"), ("4", "respondent", "intact")]
    assert all(len(c.sha256) == 64 for c in result.checks)
    signed = runner.invoke(app, ["verify", reference])
    assert signed.exit_code == 0, signed.output
    assert "intacte" in signed.output and "ALTÉRÉE" not in signed.output


@pytest.mark.parametrize("what, sql, tables, altered", [
    ("a field of section 2", "UPDATE access_request SET user_phone = '514 555-9999' WHERE id = :id", (),
     {"user", "authorizer", "respondent"}),
    ("the user's signature image", "UPDATE access_request SET user_signature = :image WHERE id = :id", (),
     {"user"}),
    ("a field of section 3", "UPDATE request_authorization SET function = 'Autre' WHERE request_id = :id", (),
     {"authorizer", "respondent"}),
    ("the authorizer's signature image",
     "UPDATE request_authorization SET signature = :image WHERE request_id = :id", (), {"authorizer"}),
    ("section 4", "UPDATE ramq_processing SET valid_until = '2099-01-01' WHERE request_id = :id", (),
     {"respondent"}),
    ("the stored revision", "UPDATE request_revision SET content = :content WHERE request_id = :id",
     ("request_revision",), {"user"}),
    ("a signature's signer", "UPDATE signature SET signer = 'Quelqu''un' WHERE request_id = :id AND role = 'user'",
     ("signature",), {"user"}),
])
def test_verify_sees_each_kind_of_alteration(engine, what, sql, tables, altered):
    request_id, reference = _stored()
    _approved(request_id)
    assert _verify(request_id).intact
    other = json.dumps({"method": "drawn", "image_png_base64": resigned(load_sample())["user"]["signature"]
                        ["image_png_base64"]})
    with session_scope() as s:
        content = dict(s.exec(select(RequestRevision.content).where(RequestRevision.request_id == request_id)).one())
    content["user"] = dict(content["user"], function="Directrice")
    _behind_the_back(sql, tables, id=request_id, image=other, content=json.dumps(content))
    result = _verify(request_id)
    assert not result.intact, what
    assert {role for role, verdict in _verdicts(request_id).items() if verdict == SignatureVerdict.altered} \
        == altered, what
    checked = runner.invoke(app, ["verify", reference])
    assert checked.exit_code == 1, checked.output
    assert "ALTÉRÉE" in checked.output


def test_revisions_and_signatures_cannot_be_changed_or_deleted(engine):
    request_id, _ = _stored()
    with pytest.raises(DatabaseError):  # through the ORM
        with session_scope() as s:
            revision = s.exec(select(RequestRevision).where(RequestRevision.request_id == request_id)).one()
            revision.sha256 = "0" * 64
            s.add(revision)
    for sql in ("UPDATE request_revision SET revision = 9 WHERE request_id = :id",
                "DELETE FROM request_revision WHERE request_id = :id",
                "UPDATE signature SET sha256 = 'x' WHERE request_id = :id",
                "DELETE FROM signature WHERE request_id = :id"):
        with pytest.raises(DatabaseError), get_engine().begin() as conn:  # raw SQL
            conn.execute(text(sql), {"id": request_id})
    with pytest.raises(DatabaseError):
        with session_scope() as s:
            s.delete(s.exec(select(Signature).where(Signature.request_id == request_id)).first())
    assert _verify(request_id).intact


def test_a_corrected_request_cannot_keep_the_former_signature(engine):
    request_id, _ = _stored(load_sample())
    corrected = load_sample()
    corrected["user"]["function"] = "Technicienne en administration"
    with pytest.raises(SignatureReused), session_scope() as s:
        update_request_from_canonical(s, request=s.get(AccessRequest, request_id), normalized=corrected, actor="u")
    with session_scope() as s:
        assert s.get(AccessRequest, request_id).revision == 1
    # Unchanged content may keep its signature; changed content signed again is a new revision.
    with session_scope() as s:
        update_request_from_canonical(s, request=s.get(AccessRequest, request_id), normalized=load_sample(),
                                      actor="u")
    with session_scope() as s:
        update_request_from_canonical(s, request=s.get(AccessRequest, request_id), normalized=resigned(corrected),
                                      actor="u")
    with session_scope() as s:
        revisions = s.exec(select(RequestRevision).where(RequestRevision.request_id == request_id)
                           .order_by(RequestRevision.revision)).all()
        assert [r.revision for r in revisions] == [1, 2, 3]
        assert revisions[0].content["user"]["function"] != "TECHNICIENNE EN ADMINISTRATION"
        assert revisions[2].content["user"]["function"] == "TECHNICIENNE EN ADMINISTRATION"
        users = [(sig.revision, sig.role) for sig in signatures_of(s, request_id)]
    assert users == [(1, "user"), (2, "user"), (3, "user")]
    result = _verify(request_id)
    assert result.intact
    assert [c.verdict for c in result.checks] == ["superseded", "superseded", "intact"]
    # Replaying the signature of revision 1 under changed content is not signing either.
    replay = load_sample()
    replay["user"]["function"] = "Agente de bureau"
    with pytest.raises(SignatureReused), session_scope() as s:
        update_request_from_canonical(s, request=s.get(AccessRequest, request_id), normalized=replay, actor="u")


def test_export_documents_the_whole_record(engine):
    request_id, reference = _stored()
    _approved(request_id)
    plain = runner.invoke(app, ["export", reference.lower()])
    assert plain.exit_code == 0, plain.output
    record = json.loads(plain.stdout)
    assert record["reference"] == reference and record["revision"] == 1 and record["intact"] is True
    assert [r["revision"] for r in record["revisions"]] == [1]
    assert record["revisions"][0]["content"]["user"]["last_name"]
    assert [(s["role"], s["verdict"]) for s in record["signatures"]] == [
        ("user", "intact"), ("authorizer", "intact"), ("respondent", "intact")]
    assert record["section4"]["username"] == f"user{request_id}"
    assert "image_png_base64" not in plain.stdout  # images only when asked
    assert len(record["request"]["user"]["signature"]["image_sha256"]) == 64
    full = json.loads(runner.invoke(app, ["export", reference, "--with-images"]).stdout)
    assert full["request"]["user"]["signature"]["image_png_base64"]
    assert full["signatures"][0]["image_png_base64"] == full["request"]["user"]["signature"]["image_png_base64"]
    with session_scope() as s:
        assert record_by_reference(s, "SEL-1999-000000") is None


@pytest.mark.parametrize("name", ["establishment", "gmf", "optilab"])
def test_pdf_of_a_stored_request_prints_every_field_and_is_sealed(engine, tmp_path, name):
    from io import BytesIO

    from pypdf import PdfReader

    from models.seal import verify_seal
    from tests.models.test_record_pdf import build_record, expected, pages_text

    data = load_sample(name)
    data["authorization"] = build_record(f"request-{name}.json")["authorization"]  # section 3 of its type
    request_id, reference = _stored(data)
    _approved(request_id)
    target = tmp_path / "form.pdf"
    made = runner.invoke(app, ["pdf", reference, "-o", str(target)])
    assert made.exit_code == 0, made.output
    assert reference in made.output
    document = target.read_bytes()
    text = " ".join(pages_text(document))
    with session_scope() as s:
        record = record_by_reference(s, reference, with_images=True)
    missing = [value for value in expected(record) if value not in text]
    assert missing == []
    assert all(sig["sha256"] in text for sig in record["signatures"])
    assert sum(len(page.images) for page in PdfReader(BytesIO(document)).pages) >= 2
    assert verify_seal(document)["intact"] is True
    english = runner.invoke(app, ["pdf", reference, "-o", "-", "--lang", "en"])
    assert english.exit_code == 0 and english.stdout_bytes.startswith(b"%PDF")
    assert runner.invoke(app, ["pdf", "SEL-1999-000000"]).exit_code == 1


def test_audit_prints_the_timeline_and_checks_the_chain(engine):
    request_id, reference = _stored()
    shown = runner.invoke(app, ["audit", reference])
    assert shown.exit_code == 0, shown.output
    assert "Demande soumise" in shown.output
    _behind_the_back("UPDATE audit_event SET actor = 'quelqu''un' WHERE request_id = :id", ("audit_event",),
                     id=request_id)
    broken = runner.invoke(app, ["audit", reference])
    assert broken.exit_code == 1, broken.output
    assert runner.invoke(app, ["audit", "SEL-1999-000000"]).exit_code == 1


def test_typed_signatures_are_hashed_verified_and_printed(engine):
    """The keyboard path to sign (issue 11): typed names with their attestation are stored,
    hashed and verified like drawn ones; changing the typed name is seen; the PDF prints it."""
    from io import BytesIO

    from pypdf import PdfReader

    from models.record_pdf import render_record_pdf
    from models.rules import validate_request

    data = establishment_with_authorization()
    data["user"]["signature"] = {"method": "typed", "typed_name": "Marie Tremblay", "attested": True}
    data["authorization"]["signature"] = {"method": "typed", "typed_name": "Jean Gagnon", "attested": True}
    normalized = validate_request(data).normalized
    assert normalized is not None
    request_id, reference = _stored(normalized)
    _approved(request_id)
    assert _verify(request_id).intact
    assert runner.invoke(app, ["verify", reference]).exit_code == 0
    with session_scope() as s:
        record = record_by_reference(s, reference, with_images=True)
    assert record is not None
    text_ = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(BytesIO(render_record_pdf(record))).pages)
    assert "/s/ MARIE TREMBLAY — signé électroniquement" in text_
    assert "/s/ JEAN GAGNON — signé électroniquement" in text_
    forged = json.dumps({"method": "typed", "typed_name": "QUELQU'UN D'AUTRE", "attested": True})
    _behind_the_back("UPDATE access_request SET user_signature = :image WHERE id = :id", (), id=request_id,
                     image=forged)
    assert _verdicts(request_id)["user"] == SignatureVerdict.altered
    assert runner.invoke(app, ["verify", reference]).exit_code == 1
