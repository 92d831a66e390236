"""The requester's status link (``/statut?t=…``, in the confirmation email): where a request
stands, read-only.

Opening it checks the signed link (purpose ``status``: a deciding link is refused here, and a
status link is refused by every action) and reads :func:`models.queries.request_status_view`.
Nothing is written but the record of a refused link: a status link is never consumed, so it
opens as often as wanted, and no correction voids it. A refused link gets the same codes, hence
the same French messages, as the other link pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flows.errors import ActionError
from models.queries import request_status_view
from models.security import record_refusal
from notifications.links import PURPOSES, LinkError, read_link_token

# LinkError code → ActionError code (errors.action.*), as for the authorize and correct links.
_CODES = {"expired": "link_expired", "wrong_purpose": "wrong_purpose"}


@dataclass(frozen=True)
class StatusView:
    """What the status page shows: no name, address, username, reason or section content."""

    reference: str
    status: str
    closed: bool
    steps: list[dict]  # {"step": a labels.status_step key, "at": aware UTC datetime}, oldest first
    link_expires_at: datetime


def _request_of(token: str) -> int | None:
    """The request a refused token names, when it verifies under some purpose (wrong_purpose)."""
    for purpose in PURPOSES:
        try:
            return read_link_token(token, purpose=purpose).request_id
        except LinkError:
            continue
    return None


def open_status(token: str) -> StatusView:
    """The status of the link's request, or ``ActionError`` (link_invalid, link_expired,
    wrong_purpose), recorded as a security event like every refused link."""
    try:
        claims = read_link_token(token, purpose="status")
        view = request_status_view(claims.request_id)
        if view is None:
            raise ActionError("link_invalid")
    except (LinkError, ActionError) as exc:
        error = exc if isinstance(exc, ActionError) else ActionError(_CODES.get(exc.code, "link_invalid"))
        record_refusal("open_status", error.code, request_id=_request_of(token), actor="lien", purpose="status")
        raise error from None
    return StatusView(reference=view["reference"], status=view["status"], closed=view["closed"],
                      steps=view["steps"], link_expires_at=claims.expires_at)
