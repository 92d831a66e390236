"""Storage of access requests: canonical JSON (SPEC §3) in, table rows out, and back.

Every function works inside the caller's transaction (it flushes, never commits), so storing a
request, its audit event and whatever the caller adds are one unit of work. Audit details carry
the reference only: no personal data outside the request's own columns.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from models.audit import audit
from models.enums import AuditEventKind, SignerRole
from models.rules import FieldError, validate_request
from models.settings import get_settings
from models.signatures import authorizer_content, content_changed, plain_json, record_revision, sign, signatures_of
from models.tables import AccessRequest, Authorization, id_of, utcnow

REFERENCE_PREFIX = "SEL"


class InvalidRequest(ValueError):
    """Raised when asked to store a request that breaks the form's rules (nothing is stored)."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__(", ".join(f"{e.path}: {e.code}" for e in errors))


def _validated(normalized: dict) -> dict:
    """Re-check what we are asked to store: the rules are the gate, whoever the caller is."""
    result = validate_request(normalized)
    if not result.ok:
        raise InvalidRequest(result.errors)
    return result.data


def _local_year(when: datetime) -> int:
    try:
        from zoneinfo import ZoneInfo

        return when.astimezone(ZoneInfo(get_settings().timezone)).year
    except Exception:
        return when.year


def make_reference(request_id: int, when: datetime) -> str:
    """``SEL-2026-000123``: year of submission (Québec time) and the row id."""
    return f"{REFERENCE_PREFIX}-{_local_year(when)}-{request_id:06d}"


def _request_columns(data: dict) -> dict[str, Any]:
    """Sections 1, 2, 5 and the authorizer of a normalized request, as AccessRequest columns."""
    user, authorizer = data["user"], data["authorizer"]
    return {
        "applications": list(data["applications"]),
        "existing_username": data["existing_username"],
        "organization_type": data["organization_type"],
        "register_scope": data["register_scope"],
        "additional_establishment_numbers": list(data["additional_establishment_numbers"]),
        "user_first_name": user["first_name"],
        "user_last_name": user["last_name"],
        "user_sex": user["sex"],
        "user_function": user["function"],
        "user_email": user["email"],
        "user_phone": user["phone"],
        "user_extension": user["extension"],
        "user_fax": user["fax"],
        "establishment_name": user["establishment_name"],
        "establishment_number": user["establishment_number"],
        "user_address": user["address"],
        "user_postal_code": user["postal_code"],
        "user_commitments_accepted": user["commitments_accepted"],
        "user_signature": dict(user["signature"]),
        "authorizer_first_name": authorizer["first_name"],
        "authorizer_last_name": authorizer["last_name"],
        "authorizer_email": authorizer["email"],
    }


def authorization_columns(section3: dict) -> dict[str, Any]:
    """A normalized section 3 as Authorization columns (the flows API reuses it)."""
    resolution = section3.get("board_resolution") or None
    return {
        "role": section3["role"],
        "sex": section3["sex"],
        "function": section3["function"],
        "phone": section3["phone"],
        "extension": section3["extension"],
        "fax": section3["fax"],
        "organization_name": section3["organization_name"],
        "address": section3["address"],
        "postal_code": section3["postal_code"],
        "commitments_accepted": section3["commitments_accepted"],
        "signature": dict(section3["signature"]),
        "board_resolution_number": resolution["number"] if resolution else None,
        "board_resolution_date": date.fromisoformat(resolution["date"]) if resolution else None,
    }


def authorization_from_canonical(section3: dict, *, request_id: int, revision: int,
                                 signed_at: datetime | None = None) -> Authorization:
    """A new Authorization row (section 3 of one authorizer round) from a normalized section 3;
    signed now unless told otherwise (the signing date is never typed)."""
    now = utcnow()
    return Authorization(request_id=request_id, revision=revision, signed_at=signed_at or now,
                         created_at=now, **authorization_columns(section3))


def store_request(session: Session, *, normalized: dict, actor: str,
                  language: str = "fr") -> AccessRequest:
    """Insert a submitted request (and section 3 when it was signed on paper), give it its
    reference and record the ``submitted`` audit event. Raises InvalidRequest, storing nothing,
    if the request breaks a rule."""
    data = _validated(normalized)
    now = utcnow()
    request = AccessRequest(
        **_request_columns(data),
        language=language if language in ("fr", "en") else "fr",
        user_signed_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    session.flush()  # the id makes the reference
    request_id = id_of(request)
    request.reference = make_reference(request_id, now)
    session.add(request)
    _record_user_signature(session, request, data, now)
    if data["authorization"] is not None:
        session.add(authorization_from_canonical(
            data["authorization"], request_id=request_id, revision=request.revision, signed_at=now))
        session.flush()
        sign_section3(session, request, data["authorization"], at=now)
    audit(session, request_id, AuditEventKind.submitted, actor=actor, at=now, reference=request.reference)
    session.flush()
    return request


def user_signer(request: AccessRequest) -> str:
    return f"{request.user_first_name} {request.user_last_name}"


def _record_user_signature(session: Session, request: AccessRequest, data: dict, at: datetime) -> None:
    """This version of sections 1, 2 and 5 as an immutable revision, signed by the user."""
    revision = record_revision(session, request, data)
    signature = dict(data["user"]["signature"])
    sign(session, request_id=id_of(request), revision=request.revision, role=SignerRole.user,
         signer=user_signer(request), method=str(signature.get("method", "")), content=revision.content,
         image=signature, at=at)


def sign_section3(session: Session, request: AccessRequest, section3: dict, *, at: datetime) -> None:
    """The authorizer's signature over the current revision and the section 3 they completed."""
    signature = dict(section3["signature"])
    sign(session, request_id=id_of(request), revision=request.revision, role=SignerRole.authorizer,
         signer=f"{request.authorizer_first_name} {request.authorizer_last_name}",
         method=str(signature.get("method", "")), content=authorizer_content(session, request),
         image=signature, at=at)


def _signed_before(session: Session, request: AccessRequest, signature: dict) -> bool:
    """Whether this very signature (same method and image) was already given on this request,
    under the current revision or an earlier one: replaying an old image is not signing."""
    given = plain_json(dict(signature))
    if given == plain_json(dict(request.user_signature or {})):
        return True
    return any(s.image == given for s in signatures_of(session, id_of(request)) if s.role == SignerRole.user)


class SignatureReused(ValueError):
    """A correction changed what the user signed but kept the former signature."""


def update_request_from_canonical(session: Session, *, request: AccessRequest, normalized: dict,
                                  actor: str) -> AccessRequest:
    """A correction resubmitted by the user: new sections 1, 2, 5 and authorizer, a new
    revision (earlier links become void), a new user signature time. Section 3 is not taken
    from the input: the authorizer must sign again what they authorize. Raises SignatureReused
    when the content changed but the signature is the former one: a signature is never carried
    over to content its signer did not see."""
    data = _validated(normalized)
    signature = data["user"]["signature"]
    # A typed name is signed by submitting it with the attestation ticked: typed again on the
    # changed request, it is the same text as before but a new act (the screen never keeps a
    # typed signature: it asks for the attestation again). A drawing or an image replayed is not.
    if (content_changed(session, request, data) and signature.get("method") != "typed"
            and _signed_before(session, request, signature)):
        raise SignatureReused("a changed request needs a new signature")
    now = utcnow()
    for name, value in _request_columns(data).items():
        setattr(request, name, value)
    request.revision = (request.revision or 1) + 1
    request.user_signed_at = now
    request.updated_at = now
    session.add(request)
    session.flush()
    _record_user_signature(session, request, data, now)
    audit(session, id_of(request), AuditEventKind.resubmitted, actor=actor, at=now,
          reference=request.reference, revision=request.revision)
    session.flush()
    return request


def request_to_canonical(request: AccessRequest, authorization: Authorization | None) -> dict:
    """The canonical JSON of a stored request; section 3 from the given authorization."""
    section3 = None
    if authorization is not None:
        resolution = None
        if authorization.board_resolution_number is not None:
            when = authorization.board_resolution_date
            resolution = {"number": authorization.board_resolution_number,
                          "date": when.isoformat() if when else None}
        section3 = {
            "role": authorization.role,
            "sex": authorization.sex,
            "function": authorization.function,
            "phone": authorization.phone,
            "extension": authorization.extension,
            "fax": authorization.fax,
            "organization_name": authorization.organization_name,
            "address": authorization.address,
            "postal_code": authorization.postal_code,
            "commitments_accepted": authorization.commitments_accepted,
            "signature": dict(authorization.signature or {}),
            "board_resolution": resolution,
        }
    return {
        "applications": list(request.applications or []),
        "existing_username": request.existing_username,
        "organization_type": request.organization_type,
        "register_scope": request.register_scope,
        "additional_establishment_numbers": list(request.additional_establishment_numbers or []),
        "user": {
            "first_name": request.user_first_name,
            "last_name": request.user_last_name,
            "sex": request.user_sex,
            "function": request.user_function,
            "email": request.user_email,
            "phone": request.user_phone,
            "extension": request.user_extension,
            "fax": request.user_fax,
            "establishment_name": request.establishment_name,
            "establishment_number": request.establishment_number,
            "address": request.user_address,
            "postal_code": request.user_postal_code,
            "commitments_accepted": request.user_commitments_accepted,
            "signature": dict(request.user_signature or {}),
        },
        "authorizer": {
            "first_name": request.authorizer_first_name,
            "last_name": request.authorizer_last_name,
            "email": request.authorizer_email,
        },
        "authorization": section3,
    }


def normalize_reference(reference: object) -> str | None:
    """``sel-2026-000123 `` → ``SEL-2026-000123``; None when it cannot be a reference."""
    if not isinstance(reference, str):
        return None
    reference = reference.strip().upper()
    return reference if 0 < len(reference) <= 20 else None


def get_request_by_reference(session: Session, reference: object) -> AccessRequest | None:
    ref = normalize_reference(reference)
    if ref is None:
        return None
    return session.exec(select(AccessRequest).where(AccessRequest.reference == ref)).first()


def latest_authorization(session: Session, request_id: int) -> Authorization | None:
    """Section 3 of the most recent authorizer round, if any."""
    return session.exec(
        select(Authorization)
        .where(Authorization.request_id == request_id)
        .order_by(col(Authorization.revision).desc())
    ).first()


def export_request(session: Session, *, reference: str) -> dict | None:
    """The canonical JSON of a stored request (section 3 = latest authorization, or null)."""
    request = get_request_by_reference(session, reference)
    if request is None:
        return None
    return request_to_canonical(request, latest_authorization(session, id_of(request)))
