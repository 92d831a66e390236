"""The whole record of one request, as one JSON document: what an auditor is handed.

It carries the current revision of sections 1, 2 and 5, section 3, section 4, every earlier
revision, every signature's metadata, hash and verdict, and the decisions with their dates, so
that the JSON alone documents the request. Signature images are left out (their hash stays)
unless asked for: the PDF needs them, a listing does not.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from models.request_store import get_request_by_reference, latest_authorization, request_to_canonical
from models.signatures import revisions_of, sha256_of, verify_request
from models.tables import AccessRequest, Decision, HumanTask, RamqProcessing, id_of


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _signature_field(signature: dict, with_images: bool) -> dict:
    """A signature as shown in the record: its method, and its image or the image's hash."""
    if with_images or not signature:
        return dict(signature)
    return {"method": signature.get("method"), "image_sha256": sha256_of(signature)}


def build_record(session: Session, request: AccessRequest, *, with_images: bool = False) -> dict[str, Any]:
    request_id = id_of(request)
    authorization = latest_authorization(session, request_id)
    canonical = request_to_canonical(request, authorization)
    section3 = canonical.pop("authorization")
    canonical["user"]["signature"] = _signature_field(canonical["user"]["signature"], with_images)
    if section3 is not None:
        section3["signature"] = _signature_field(section3["signature"], with_images)
    ramq = session.exec(select(RamqProcessing).where(RamqProcessing.request_id == request_id)).first()
    verification = verify_request(session, request)
    images = {}
    if with_images:
        from models.tables import Signature

        images = {id_of(s): s.image for s in session.exec(select(Signature).where(Signature.request_id == request_id))}
    return {
        "reference": request.reference,
        "status": request.status,
        "language": request.language,
        "created_at": _iso(request.created_at),
        "updated_at": _iso(request.updated_at),
        "closed_at": _iso(request.closed_at),
        "purged_at": _iso(request.purged_at),
        "revision": request.revision,
        "request": canonical,
        "authorization": section3,
        "authorization_revision": authorization.revision if authorization else None,
        "section4": None if ramq is None or ramq.username is None else {
            "registration_date": _iso(ramq.registration_date), "reference_number": ramq.reference_number,
            "username": ramq.username, "valid_from": _iso(ramq.valid_from), "valid_until": _iso(ramq.valid_until),
            "respondent_id": ramq.respondent_id, "respondent_signed_at": _iso(ramq.respondent_signed_at),
            "soes_signed_by": ramq.soes_signed_by, "soes_signed_at": _iso(ramq.soes_signed_at)},
        "revisions": [{"revision": r.revision, "created_at": _iso(r.created_at), "sha256": r.sha256,
                       "content": r.content} for r in revisions_of(session, request_id)],
        "signatures": [{
            "section": c.section, "role": c.role, "signer": c.signer, "method": c.method,
            "signed_at": _iso(c.signed_at), "revision": c.revision, "sha256": c.sha256, "verdict": c.verdict.value,
            **({"problem": c.problem} if c.problem else {}),
            **({"image_png_base64": images[c.signature_id].get("image_png_base64")}
               if images.get(c.signature_id, {}).get("image_png_base64") else {}),
            **({"typed_name": images[c.signature_id].get("typed_name")}
               if images.get(c.signature_id, {}).get("typed_name") else {}),
        } for c in verification.checks],
        "intact": verification.intact,
        "decisions": _decisions(session, request_id),
    }


def _decisions(session: Session, request_id: int) -> list[dict[str, Any]]:
    rows = session.exec(select(Decision, HumanTask).join(HumanTask, col(Decision.task_id) == col(HumanTask.id))
                        .where(Decision.request_id == request_id).order_by(col(Decision.id))).all()
    return [{"step": task.kind, "round": task.round, "attempt": task.attempt, "outcome": d.outcome, "actor": d.actor,
             "reason": d.reason, "at": _iso(d.created_at)} for d, task in rows]


def record_by_reference(session: Session, reference: object, *, with_images: bool = False) -> dict | None:
    request = get_request_by_reference(session, reference)
    return None if request is None else build_record(session, request, with_images=with_images)


class RecordPurged(LookupError):
    """The request was purged (models/retention.py): there is no form left to print."""

    def __init__(self, purged_at: datetime) -> None:
        super().__init__("request purged")
        self.purged_at = purged_at


def sealed_pdf(session: Session, request: AccessRequest, *, lang: str = "fr") -> bytes:
    """The form as a PDF laid out like the paper one, sealed with the RAMQ's certificate (PAdES):
    any PDF reader shows whether it changed since. ``RecordPurged`` for a purged request."""
    if request.purged_at is not None:
        raise RecordPurged(request.purged_at)
    from models.record_pdf import render_record_pdf
    from models.seal import seal_pdf

    return seal_pdf(render_record_pdf(build_record(session, request, with_images=True), lang))
