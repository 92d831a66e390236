"""The audit history of a request: the one way an ``AuditEvent`` is written, and its check.

Works in the caller's transaction (adds, never commits), so an event is stored with the change
it records or not at all. Details carry identifiers only (ids, rounds, the reference): no
personal data outside the request's own columns.

The history is append-only twice over: the database refuses UPDATE and DELETE on
``audit_event`` (triggers, migration 0003), and each event carries the hash of the request's
previous event, so an edit made behind the triggers' back (a superuser, a restored file) is
found by :func:`verify_chain`. Removing a request's *latest* events leaves a shorter chain that
still verifies: the chain proves what is there was not changed, not that nothing came after.

Lock ordering (PostgreSQL). :func:`audit` locks the request's row (``FOR NO KEY UPDATE``: the
lock an ``UPDATE access_request`` takes, so it does not wait for the ``KEY SHARE`` locks that
inserts referencing the request hold) before reading the previous event, so two transactions
never chain on the same event. The callers take locks in one order, *task, then request*:
``flows.api.record_decision``, ``claim_task`` and ``unclaim_task`` update the task and then
audit; the sweeper's reminders and expiries do the same, task after task; the flow's steps lock
only the request (``flows.steps.close_request`` cancels the open tasks *before* it changes the
request, to keep that order). A caller that locked a request and then a task of it could
deadlock with a decision on that task: keep the order. On SQLite every writer holds the
database's write lock from ``BEGIN IMMEDIATE`` (models/db.py), so there is nothing to order.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from models.enums import AuditEventKind
from models.messages import label
from models.tables import AccessRequest, AuditEvent, id_of, utcnow

# The actor of what no person did: the flow's steps and the sweeper.
SYSTEM = "système"
# The actor of what the user did through an emailed link (a correction, a cancellation).
USER = "utilisateur"


def event_hash(*, prev_hash: str | None, request_id: int, at: datetime, actor: str, event: str,
               detail: dict) -> str:
    """SHA-256 (hex) of one event's canonical JSON: sorted keys, no spaces, UTF-8, ``at`` in UTC
    with microseconds (a naive time is taken as UTC, as SQLite returns it). Migration 0003 holds
    a copy for its backfill (migrations stay self-contained): change both or neither."""
    when = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    payload = {"prev_hash": prev_hash, "request_id": request_id,
               "at": when.astimezone(UTC).isoformat(timespec="microseconds"),
               "actor": actor, "event": event, "detail": detail}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _lock_request(session: Session, request_id: int) -> None:
    """Serializes the audit writers of one request until the transaction ends (PostgreSQL; a
    no-op clause on SQLite, whose writers already hold the write lock)."""
    found = session.exec(select(AccessRequest.id).where(AccessRequest.id == request_id)
                         .with_for_update(key_share=True)).first()
    if found is None:
        raise LookupError(f"AccessRequest {request_id} not found")


def _last_hash(session: Session, request_id: int) -> str | None:
    return session.exec(select(AuditEvent.hash).where(AuditEvent.request_id == request_id)
                        .order_by(col(AuditEvent.id).desc()).limit(1)).first()


def audit(session: Session, request_id: int, event: AuditEventKind, *, actor: str,
          at: datetime | None = None, **detail: Any) -> AuditEvent:
    """Adds one event to the request's history (``at``: now unless told), chained to the
    request's latest event. Flushes, so the next event of this transaction chains on this one."""
    _lock_request(session, request_id)
    # Hash exactly what the JSON column gives back (an enum member becomes its string).
    stored = json.loads(json.dumps(detail, ensure_ascii=False))
    fields: dict[str, Any] = dict(request_id=request_id, at=at or utcnow(), actor=actor,
                                  event=AuditEventKind(event).value, detail=stored,
                                  prev_hash=_last_hash(session, request_id))
    row = AuditEvent(**fields, hash=event_hash(**fields))
    session.add(row)
    session.flush()
    return row


def audit_once(session: Session, request_id: int, event: AuditEventKind, *, actor: str,
               **detail: Any) -> AuditEvent | None:
    """Like :func:`audit`, unless the request already has this event (a replayed step). The
    request is locked first, so two replays racing on PostgreSQL still write it once."""
    _lock_request(session, request_id)
    if session.exec(select(AuditEvent.id).where(AuditEvent.request_id == request_id,
                                                AuditEvent.event == AuditEventKind(event).value)).first():
        return None
    return audit(session, request_id, event, actor=actor, **detail)


# --- Checking the chain ---------------------------------------------------------------------------

OK = "ok"
# The event's content no longer gives its stored hash: it was edited after it was written.
ALTERED = "altered"
# The event's prev_hash is not the stored hash of the event before it: an event was removed
# (or slipped in) just before this one, or the first event is missing.
UNLINKED = "unlinked"
# The retention purge redacted the event's free-text reason: its stored hash (what the next
# event links to) is of the original; what it holds now is the hash the intact ``purged``
# event recorded for it (its detail's ``redacted``: event id → hash).
PURGED = "purged"
SOUND = (OK, PURGED)


@dataclass(frozen=True)
class EventCheck:
    event_id: int
    status: str  # OK, ALTERED or UNLINKED (ALTERED wins when both hold)


@dataclass(frozen=True)
class ChainReport:
    request_id: int
    events: tuple[EventCheck, ...] = field(default_factory=tuple)

    @property
    def intact(self) -> bool:
        """Every event unchanged and linked to the one before (an empty history counts as
        intact here; :func:`models.audit_report.format_audit` says it is empty)."""
        return all(check.status in SOUND for check in self.events)

    @property
    def first_broken(self) -> EventCheck | None:
        """The first place, in id order, where the chain does not hold."""
        return next((check for check in self.events if check.status not in SOUND), None)


def verify_chain(session: Session, request_id: int) -> ChainReport:
    """Recomputes each event's hash and checks its link, in id order. Each event is linked to
    the previous event's *stored* hash, so one edited event is reported alone, not with every
    event after it."""
    previous: str | None = None
    checks = []
    events = _events(session, request_id)
    redacted = _redacted_hashes(events)
    for ev in events:
        recomputed = _hash_as_stored(ev)
        if ev.purged_at is not None:
            status = ALTERED if redacted.get(str(ev.id)) != recomputed else UNLINKED if ev.prev_hash != previous \
                else PURGED
        else:
            status = ALTERED if recomputed != ev.hash else UNLINKED if ev.prev_hash != previous else OK
        checks.append(EventCheck(event_id=id_of(ev), status=status))
        previous = ev.hash
    return ChainReport(request_id=request_id, events=tuple(checks))


def _hash_as_stored(ev: AuditEvent) -> str:
    return event_hash(prev_hash=ev.prev_hash, request_id=ev.request_id, at=ev.at, actor=ev.actor,
                      event=ev.event, detail=ev.detail)


def redacted_hash(ev: AuditEvent) -> str:
    """What a redacted event (its reason purged) hashes to now: the retention purge records it
    in its own event, hash-chained, so the redacted event stays checkable."""
    return _hash_as_stored(ev)


def _redacted_hashes(events: list[AuditEvent]) -> dict[str, str]:
    """Event id → hash recorded by the request's intact ``purged`` events (only an event whose
    own hash holds is believed)."""
    found: dict[str, str] = {}
    for ev in events:
        if ev.event == AuditEventKind.purged and ev.purged_at is None and _hash_as_stored(ev) == ev.hash:
            found.update({str(k): str(v) for k, v in dict(ev.detail.get("redacted") or {}).items()})
    return found


def _events(session: Session, request_id: int) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.request_id == request_id)
                             .order_by(col(AuditEvent.id))).all())


# --- The timeline (the CLI's `audit` command) ------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    id: int
    at: datetime
    actor: str
    event: str
    label: str  # the event's label in the reader's language (labels.event.*)
    detail: dict


def timeline(session: Session, request_id: int, lang: str = "fr") -> list[TimelineEntry]:
    """The request's events in id order (the order they were written), labelled."""
    return [TimelineEntry(id=id_of(ev), at=ev.at, actor=ev.actor, event=ev.event,
                          label=label("event", ev.event, lang), detail=dict(ev.detail))
            for ev in _events(session, request_id)]

