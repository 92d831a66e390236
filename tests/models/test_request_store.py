"""Storage of requests: reference, audit, section 3 imports, export and corrections."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from models.db import session_scope
from models.request_store import (
    InvalidRequest,
    SignatureReused,
    authorization_from_canonical,
    export_request,
    get_request_by_reference,
    latest_authorization,
    make_reference,
    request_to_canonical,
    store_request,
    update_request_from_canonical,
)
from models.rules import normalize_request, validate_request
from models.tables import AccessRequest, AuditEvent, Authorization
from tests.models.helpers import establishment_with_authorization, load_sample, resigned

REFERENCE = re.compile(r"^SEL-\d{4}-\d{6,}$")


def _normalized(data: dict) -> dict:
    result = validate_request(data)
    assert result.ok, result.errors
    return result.normalized


def test_make_reference():
    when = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert make_reference(123, when) == "SEL-2026-000123"
    # Just after midnight UTC on New Year's Day, it is still the old year in Québec.
    assert make_reference(7, datetime(2027, 1, 1, 2, tzinfo=UTC)) == "SEL-2026-000007"


def test_store_request(engine):
    before = datetime.now(UTC)
    with session_scope() as session:
        request = store_request(session, normalized=_normalized(load_sample()), actor="cli",
                                language="en")
        request_id, reference = request.id, request.reference
    assert REFERENCE.match(reference)
    assert reference.endswith(f"-{request_id:06d}")
    with session_scope() as session:
        stored = session.get(AccessRequest, request_id)
        assert stored.status == "awaiting_authorizer"
        assert stored.revision == 1 and stored.language == "en"
        assert stored.user_first_name == "MARIE"
        assert stored.additional_establishment_numbers == ["12345", "23456"]
        assert before <= stored.user_signed_at <= datetime.now(UTC)
        assert latest_authorization(session, request_id) is None
        (event,) = session.exec(select(AuditEvent).where(AuditEvent.request_id == request_id)).all()
        assert (event.event, event.actor, event.detail) == ("submitted", "cli",
                                                             {"reference": reference})


def test_references_are_unique(engine):
    with session_scope() as session:
        first = store_request(session, normalized=load_sample(), actor="test").reference
        second = store_request(session, normalized=load_sample("optilab"), actor="test").reference
    assert first != second


def test_paper_signed_form_stores_section3(engine):
    data = establishment_with_authorization()
    with session_scope() as session:
        request = store_request(session, normalized=data, actor="import")
        request_id, reference = request.id, request.reference
    with session_scope() as session:
        section3 = latest_authorization(session, request_id)
        assert section3.revision == 1 and section3.role == "dsp"
        assert section3.board_resolution_number == "CA-2025-117"
        assert section3.board_resolution_date == date(2025, 3, 14)
        assert section3.signed_at is not None
        exported = export_request(session, reference=reference)
    assert exported == normalize_request(data)
    assert exported["authorization"]["function"] == "DIRECTEUR DES SERVICES PROFESSIONNELS"


@pytest.mark.parametrize("name", ["establishment", "gmf", "optilab"])
def test_export_of_submit_is_normalize(engine, name):
    data = load_sample(name)
    with session_scope() as session:
        reference = store_request(session, normalized=data, actor="test").reference
    with session_scope() as session:
        assert export_request(session, reference=reference) == normalize_request(data)


def test_store_refuses_an_invalid_request_and_stores_nothing(engine):
    data = load_sample()
    data["user"]["email"] = "info@cisss.example.qc.ca"
    with session_scope() as session:
        count = len(session.exec(select(AccessRequest.id)).all())
    with pytest.raises(InvalidRequest) as caught:
        with session_scope() as session:
            store_request(session, normalized=data, actor="test")
    assert [(e.path, e.code) for e in caught.value.errors] == [("user.email", "shared_mailbox")]
    assert "info@" not in str(caught.value)  # no personal data in the exception
    with session_scope() as session:
        assert len(session.exec(select(AccessRequest.id)).all()) == count


def test_store_is_part_of_the_callers_transaction(engine):
    with pytest.raises(RuntimeError):
        with session_scope() as session:
            reference = store_request(session, normalized=load_sample(), actor="test").reference
            raise RuntimeError("the caller failed after storing")
    with session_scope() as session:
        assert get_request_by_reference(session, reference) is None


def test_get_request_by_reference(engine):
    with session_scope() as session:
        reference = store_request(session, normalized=load_sample(), actor="test").reference
    with session_scope() as session:
        assert get_request_by_reference(session, reference).reference == reference
        assert get_request_by_reference(session, f"  {reference.lower()} ").reference == reference
        assert get_request_by_reference(session, "SEL-1999-999999") is None
        assert get_request_by_reference(session, "") is None
        assert get_request_by_reference(session, None) is None
        assert export_request(session, reference="nope") is None


def test_export_shows_the_latest_authorization(engine):
    with session_scope() as session:
        request = store_request(session, normalized=load_sample("gmf"), actor="test")
        request_id, reference = request.id, request.reference
        first = latest_authorization(session, request_id)
        second = Authorization(**{k: v for k, v in first.model_dump().items()
                                  if k not in ("id", "revision")}, revision=2)
        second.function = "MÉDECIN CORESPONSABLE"
        session.add(second)
    with session_scope() as session:
        assert export_request(session, reference=reference)["authorization"]["function"] == \
            "MÉDECIN CORESPONSABLE"


def test_request_to_canonical_without_section3(engine):
    with session_scope() as session:
        request = store_request(session, normalized=load_sample("gmf"), actor="test")
        canonical = request_to_canonical(request, None)
    assert canonical["authorization"] is None
    assert canonical["user"]["establishment_name"] == "GMF DES RIVIÈRES"


def test_update_request_from_canonical(engine):
    with session_scope() as session:
        request = store_request(session, normalized=load_sample(), actor="test")
        request_id, reference = request.id, request.reference
        first_signed_at = request.user_signed_at
    corrected = load_sample()
    corrected["register_scope"] = "all_installations"
    corrected["additional_establishment_numbers"] = []
    corrected["user"]["phone"] = "514-555-0111"
    corrected["authorization"] = establishment_with_authorization()["authorization"]  # ignored
    resigned(corrected)
    with session_scope() as session:
        request = session.get(AccessRequest, request_id)
        update_request_from_canonical(session, request=request, normalized=corrected,
                                      actor="user")
    with session_scope() as session:
        request = session.get(AccessRequest, request_id)
        assert request.revision == 2
        assert request.user_signed_at >= first_signed_at
        assert request.user_phone == "514 555-0111"
        assert request.additional_establishment_numbers == []
        assert latest_authorization(session, request_id) is None
        events = session.exec(select(AuditEvent).where(AuditEvent.request_id == request_id)
                              .order_by(AuditEvent.id)).all()
        assert [e.event for e in events] == ["submitted", "resubmitted"]
        assert events[1].detail == {"reference": reference, "revision": 2}
        exported = export_request(session, reference=reference)
    expected = normalize_request(corrected)
    expected["authorization"] = None
    assert exported == expected


def test_update_refuses_an_invalid_correction(engine):
    with session_scope() as session:
        request = store_request(session, normalized=load_sample(), actor="test")
        request_id = request.id
    broken = load_sample()
    broken["user"]["postal_code"] = "D0D 0D0"
    with pytest.raises(InvalidRequest):
        with session_scope() as session:
            update_request_from_canonical(session, request=session.get(AccessRequest, request_id),
                                          normalized=broken, actor="user")
    with session_scope() as session:
        assert session.get(AccessRequest, request_id).revision == 1


def test_long_texts_fit_the_columns(engine):
    data = establishment_with_authorization()
    data["user"]["function"] = "É" * 200
    data["user"]["establishment_name"] = "N" * 200
    data["authorization"]["function"] = "F" * 200
    data["user"]["first_name"] = "P" * 100
    data["existing_username"] = "u" * 100
    data["authorization"]["board_resolution"]["number"] = "9" * 50
    data["authorization"]["board_resolution"]["date"] = (date.today() - timedelta(days=1)).isoformat()
    with session_scope() as session:
        reference = store_request(session, normalized=data, actor="test").reference
    with session_scope() as session:
        assert export_request(session, reference=reference) == normalize_request(data)


def test_authorization_from_canonical(engine):
    """What the authorizer's screen stores for a new round."""
    with session_scope() as session:
        request = store_request(session, normalized=load_sample(), actor="test")
        section3 = validate_request(establishment_with_authorization()).normalized["authorization"]
        session.add(authorization_from_canonical(section3, request_id=request.id, revision=1))
        request_id, reference = request.id, request.reference
    with session_scope() as session:
        row = latest_authorization(session, request_id)
        assert row.revision == 1 and row.signed_at is not None
        assert export_request(session, reference=reference)["authorization"] == section3


def test_a_correction_may_be_signed_by_typing_the_same_name_again_but_not_by_replaying_a_drawing(engine):
    """Typing one's name with the attestation ticked is the act of signing: the same name typed
    on the changed request is a new signature. The same drawing sent again is not."""
    typed = {"method": "typed", "typed_name": "Marie Tremblay", "attested": True}
    data = load_sample()
    data["user"]["signature"] = dict(typed)
    with session_scope() as session:
        request_id = store_request(session, normalized=data, actor="test").id
    corrected = load_sample()
    corrected["user"]["phone"] = "514-555-0111"
    corrected["user"]["signature"] = dict(typed)
    with session_scope() as session:
        update_request_from_canonical(session, request=session.get(AccessRequest, request_id),
                                      normalized=corrected, actor="user")
    with session_scope() as session:
        assert session.get(AccessRequest, request_id).revision == 2

    drawn = resigned(load_sample())
    with session_scope() as session:
        request_id = store_request(session, normalized=drawn, actor="test").id
    replayed = load_sample()
    replayed["user"]["phone"] = "514-555-0111"
    replayed["user"]["signature"] = dict(drawn["user"]["signature"])
    with pytest.raises(SignatureReused), session_scope() as session:
        update_request_from_canonical(session, request=session.get(AccessRequest, request_id),
                                      normalized=replayed, actor="user")
