"""The audit history of a request: the one way an ``AuditEvent`` is written.

Works in the caller's transaction (adds, never commits), so an event is stored with the change
it records or not at all. Details carry identifiers only (ids, rounds, the reference): no
personal data outside the request's own columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from models.enums import AuditEventKind
from models.tables import AuditEvent

# The actor of what no person did: the flow's steps and the sweeper.
SYSTEM = "système"


def audit(session: Session, request_id: int, event: AuditEventKind, *, actor: str,
          at: datetime | None = None, **detail: Any) -> AuditEvent:
    """Adds one event to the request's history (``at``: now unless told)."""
    row = AuditEvent(request_id=request_id, actor=actor, event=AuditEventKind(event).value,
                     detail=detail)
    if at is not None:
        row.at = at
    session.add(row)
    return row


def audit_once(session: Session, request_id: int, event: AuditEventKind, *, actor: str,
               **detail: Any) -> AuditEvent | None:
    """Like :func:`audit`, unless the request already has this event (a replayed step)."""
    if session.exec(select(AuditEvent.id).where(AuditEvent.request_id == request_id,
                                                AuditEvent.event == AuditEventKind(event).value)).first():
        return None
    return audit(session, request_id, event, actor=actor, **detail)
