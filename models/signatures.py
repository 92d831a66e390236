"""The signed record: immutable revisions and signatures bound by SHA-256 to what was signed.

LCCJTI art. 39: a signature must be linked to the document so that any change to it can be
detected. Each signature keeps ``content``, exactly what its signer saw (the canonical JSON of
the request revision; plus section 3 for the authorizer; plus section 4 for the RAMQ), and
``sha256``, the hash of that content together with the signature's own metadata (signer, role,
method, time, the image's hash). :func:`verify_request` recomputes every hash and compares
each signature that is still current with what the record holds now, so a field changed behind
the product's back, in any table, is seen.

Everything works in the caller's transaction (adds and flushes, never commits).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from models.enums import AuditEventKind, SignatureVerdict, SignerRole
from models.tables import AccessRequest, Authorization, RamqProcessing, RequestRevision, Signature, id_of, utcnow

SECTION_OF = {SignerRole.user: "2", SignerRole.authorizer: "3", SignerRole.respondent: "4", SignerRole.soes: "4"}


def canonical_json(value: Any) -> bytes:
    """The one serialization that is hashed: sorted keys, no spaces, UTF-8, dates in ISO."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_iso).encode("utf-8")


def _iso(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def sha256_of(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def plain_json(value: Any) -> Any:
    """``value`` as it reads back from a JSON column (dates as text), so a hash made before
    storing equals the hash made from the stored row."""
    return json.loads(canonical_json(value))


# --- What each role signs -------------------------------------------------------------------------


def revision_content(request_canonical: dict) -> dict:
    """Sections 1, 2, 5 and the authorizer named, without the user's signature (the signature
    is bound by its own hash) and without section 3 (the authorizer's)."""
    content = plain_json({k: v for k, v in request_canonical.items() if k != "authorization"})
    content["user"] = {k: v for k, v in content["user"].items() if k != "signature"}
    return content


def section3_content(section3: dict) -> dict:
    return plain_json({k: v for k, v in section3.items() if k != "signature"})


def section4_content(row: RamqProcessing) -> dict:
    """Section 4 as the respondent signs it: date, reference, username, validity, respondent."""
    return plain_json({"registration_date": row.registration_date, "reference_number": row.reference_number,
                   "username": row.username, "valid_from": row.valid_from, "valid_until": row.valid_until,
                   "respondent_id": row.respondent_id})


def _digest(content: dict, *, role: str, signer: str, method: str, signed_at: datetime, revision: int,
            image: dict) -> str:
    image_hash = sha256_of(image) if image else None
    return sha256_of({"signed": content, "signature": {
        "role": role, "section": SECTION_OF[SignerRole(role)], "signer": signer, "method": method,
        "signed_at": signed_at.isoformat(), "revision": revision, "image_sha256": image_hash}})


def digest_of(sig: Signature) -> str:
    """The hash a signature row should carry, recomputed from the row itself."""
    return _digest(sig.content, role=sig.role, signer=sig.signer, method=sig.method,
                   signed_at=sig.signed_at, revision=sig.revision, image=sig.image or {})


# --- Writing ---------------------------------------------------------------------------------------


def record_revision(session: Session, request: AccessRequest, request_canonical: dict) -> RequestRevision:
    """The request's current version as a new immutable revision row."""
    content = revision_content(request_canonical)
    row = RequestRevision(request_id=id_of(request), revision=request.revision, content=content,
                          sha256=sha256_of(content))
    session.add(row)
    session.flush()
    return row


def sign(session: Session, *, request_id: int, revision: int, role: SignerRole, signer: str,
         method: str, content: dict, image: dict | None = None, at: datetime | None = None) -> Signature:
    """One signature over ``content`` (see the ``*_content`` helpers for what each role signs).
    ``image``: the signature as given (method, image or data, base64), empty for a typed one."""
    signed_at = at or utcnow()
    content = plain_json(content)
    image = plain_json(dict(image or {}))
    row = Signature(request_id=request_id, revision=revision, section=SECTION_OF[role], role=role.value,
                    signer=signer, method=method, image=image, signed_at=signed_at, content=content,
                    sha256=_digest(content, role=role.value, signer=signer, method=method, signed_at=signed_at,
                                   revision=revision, image=image))
    session.add(row)
    session.flush()
    return row


def signatures_of(session: Session, request_id: int) -> list[Signature]:
    return list(session.exec(select(Signature).where(Signature.request_id == request_id)
                             .order_by(col(Signature.id))).all())


def revisions_of(session: Session, request_id: int) -> list[RequestRevision]:
    return list(session.exec(select(RequestRevision).where(RequestRevision.request_id == request_id)
                             .order_by(col(RequestRevision.revision))).all())


def latest_signature(session: Session, request_id: int, role: SignerRole) -> Signature | None:
    return session.exec(select(Signature).where(Signature.request_id == request_id, Signature.role == role.value)
                        .order_by(col(Signature.id).desc())).first()


def content_changed(session: Session, request: AccessRequest, request_canonical: dict) -> bool:
    """Would storing ``request_canonical`` change anything the user signed in sections 1, 2, 5?"""
    current = session.exec(select(RequestRevision).where(RequestRevision.request_id == request.id,
                                                         RequestRevision.revision == request.revision)).first()
    return current is None or current.content != revision_content(request_canonical)


# --- Verifying -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureCheck:
    signature_id: int
    role: str
    section: str
    signer: str
    method: str
    signed_at: datetime
    revision: int
    sha256: str
    verdict: SignatureVerdict
    problem: str | None = None  # why altered: the catalogue's ``verify.problem_*`` word


@dataclass(frozen=True)
class Verification:
    reference: str
    revision: int
    revisions_intact: bool
    checks: list[SignatureCheck]
    # When the retention purge removed the record's content (models/retention.py): its
    # signatures are then ``purged``, their hashes kept but no longer checkable.
    purged_at: datetime | None = None

    @property
    def intact(self) -> bool:
        return self.revisions_intact and all(c.verdict != SignatureVerdict.altered for c in self.checks)


def _live_contents(session: Session, request: AccessRequest) -> dict[str, dict | None]:
    """What the record holds now, per role, in the shape each role signed."""
    from models.request_store import request_to_canonical

    request_id = id_of(request)
    live_request = revision_content(request_to_canonical(request, None))
    auth = session.exec(select(Authorization).where(Authorization.request_id == request_id,
                                                    Authorization.revision == request.revision)).first()
    ramq = session.exec(select(RamqProcessing).where(RamqProcessing.request_id == request_id)).first()
    live: dict[str, dict | None] = {SignerRole.user: live_request, SignerRole.authorizer: None,
                                    SignerRole.respondent: None, SignerRole.soes: None}
    if auth is not None:
        section3 = section3_content(request_to_canonical(request, auth)["authorization"])
        live[SignerRole.authorizer] = {"request": live_request, "section3": section3}
        if ramq is not None and ramq.username is not None:
            live[SignerRole.respondent] = {"request": live_request, "section3": section3,
                                           "section4": section4_content(ramq)}
    return live


def _live_images(request: AccessRequest, auth: Authorization | None) -> dict[str, dict]:
    return {SignerRole.user: plain_json(dict(request.user_signature or {})),
            SignerRole.authorizer: plain_json(dict(auth.signature or {})) if auth else {}}


def verify_request(session: Session, request: AccessRequest) -> Verification:
    """Every signature of the request: its hash recomputed, and, while it is the current one of
    its role, its content compared with the record as it stands (the request's columns, the
    current revision row, section 3 and section 4)."""
    request_id = id_of(request)
    if _purged(session, request):
        return _verify_purged(session, request)
    revisions = revisions_of(session, request_id)
    revisions_intact = all(r.sha256 == sha256_of(r.content) for r in revisions)
    current_revision = next((r for r in revisions if r.revision == request.revision), None)
    live = _live_contents(session, request)
    auth = session.exec(select(Authorization).where(Authorization.request_id == request_id,
                                                    Authorization.revision == request.revision)).first()
    images = _live_images(request, auth)
    signatures = signatures_of(session, request_id)
    latest = {s.role: s.id for s in signatures}
    checks = []
    for sig in signatures:
        # Current: the latest of its role, over the current revision (an authorizer's signature
        # of revision 1 is superseded once the user corrected the request, even before the
        # authorizer signs revision 2). The user signs every revision, so theirs must match.
        current = latest[sig.role] == sig.id and (sig.role == SignerRole.user or sig.revision == request.revision)
        problem = _problem(sig, current=current, request=request, live=live, images=images,
                           current_revision=current_revision, signatures=signatures)
        verdict = (SignatureVerdict.altered if problem else
                   SignatureVerdict.intact if current else SignatureVerdict.superseded)
        checks.append(SignatureCheck(id_of(sig), sig.role, sig.section, sig.signer, sig.method, sig.signed_at,
                                     sig.revision, sig.sha256, verdict, problem))
    return Verification(request.reference or "", request.revision, revisions_intact, checks)


def _purged(session: Session, request: AccessRequest) -> bool:
    """Purged by the retention purge: ``purged_at`` set *and* its ``purged`` audit event written
    (the hash-chained history), so setting the column alone does not pass an emptied record."""
    from models.tables import AuditEvent

    return request.purged_at is not None and session.exec(select(AuditEvent.id).where(
        AuditEvent.request_id == id_of(request), AuditEvent.event == AuditEventKind.purged.value)).first() is not None


def _verify_purged(session: Session, request: AccessRequest) -> Verification:
    """A purged request: each purged signature says so (its content is gone, so only its
    metadata and hash remain); a row the purge did not empty is still checked against its hash."""
    request_id = id_of(request)
    revisions_intact = all(r.purged_at is not None or r.sha256 == sha256_of(r.content)
                           for r in revisions_of(session, request_id))
    checks = []
    for sig in signatures_of(session, request_id):
        verdict = (SignatureVerdict.purged if sig.purged_at is not None else
                   SignatureVerdict.superseded if digest_of(sig) == sig.sha256 else SignatureVerdict.altered)
        checks.append(SignatureCheck(id_of(sig), sig.role, sig.section, sig.signer, sig.method, sig.signed_at,
                                     sig.revision, sig.sha256, verdict,
                                     "hash" if verdict is SignatureVerdict.altered else None))
    return Verification(request.reference or "", request.revision, revisions_intact, checks,
                        purged_at=request.purged_at)


def _problem(sig: Signature, *, current: bool, request: AccessRequest, live: dict, images: dict,
             current_revision: RequestRevision | None, signatures: list[Signature]) -> str | None:
    if digest_of(sig) != sig.sha256:
        return "hash"
    if not current:
        return None
    role = SignerRole(sig.role)
    if role is SignerRole.soes:
        respondent = next((s for s in reversed(signatures) if s.role == SignerRole.respondent), None)
        expected = dict(live[SignerRole.respondent] or {})
        expected["respondent_signature_sha256"] = respondent.sha256 if respondent else None
        if sig.content != expected:
            return "content"
        return None
    if sig.revision != request.revision:
        return "revision"
    if sig.content != live[role]:
        return "content"
    if role is SignerRole.user and (current_revision is None or current_revision.content != sig.content):
        return "revision"
    if role in images and images[role] != (sig.image or {}):
        return "image"
    return None


def soes_content(session: Session, request: AccessRequest) -> dict:
    """What the SOES countersigns: the respondent's section 4 over the current revision and
    section 3, and the respondent's signature itself (by its hash)."""
    live = _live_contents(session, request)[SignerRole.respondent]
    if live is None:
        raise LookupError("section 4 is not completed: nothing to countersign")
    respondent = latest_signature(session, id_of(request), SignerRole.respondent)
    return {**live, "respondent_signature_sha256": respondent.sha256 if respondent else None}


def respondent_content(session: Session, request: AccessRequest) -> dict:
    """What the respondent signs when approving: the current revision, section 3, section 4."""
    live = _live_contents(session, request)[SignerRole.respondent]
    if live is None:
        raise LookupError("section 4 is not completed: nothing to sign")
    return live


def authorizer_content(session: Session, request: AccessRequest) -> dict:
    """What the authorizer signs: the current revision and the section 3 they completed."""
    live = _live_contents(session, request)[SignerRole.authorizer]
    if live is None:
        raise LookupError("section 3 is not stored: nothing to sign")
    return live
