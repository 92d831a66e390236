"""A request's audit history as text, with the verdict of its hash chain (``ramq-access audit``).

Kept apart from models.audit (the writer): this is presentation, in the reader's language,
times in Québec time. French by default.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from models.audit import ALTERED, PURGED, UNLINKED, timeline, verify_chain
from models.i18n import translate
from models.settings import get_settings
from models.tables import AccessRequest


def _local(at: datetime) -> str:
    return at.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d %H:%M:%S")


def _detail(detail: dict) -> str:
    # Identifiers only (ids, rounds, the reference): shown as they are stored.
    return f"  ({', '.join(f'{key}={detail[key]}' for key in sorted(detail))})" if detail else ""


def format_audit(session: Session, reference: str, lang: str = "fr") -> tuple[str, bool]:
    """The text to print and whether the chain is intact. An unknown reference or an empty
    history gives its message and ``False``: there is nothing to vouch for."""
    wanted = (reference or "").strip().upper()
    request_id = session.exec(select(AccessRequest.id).where(AccessRequest.reference == wanted)).first()
    if request_id is None:
        shown = reference.encode("utf-8", "backslashreplace").decode("utf-8")  # any terminal prints it
        return translate("cli.unknown_reference", lang, reference=shown), False
    entries = timeline(session, request_id, lang)
    if not entries:
        return translate("cli.audit_empty", lang, reference=wanted), False
    report = verify_chain(session, request_id)
    marks = {ALTERED: translate("cli.audit_altered", lang), UNLINKED: translate("cli.audit_unlinked", lang),
             PURGED: translate("cli.audit_purged", lang)}
    status = {check.event_id: check.status for check in report.events}
    lines = [translate("cli.audit_header", lang, reference=wanted, count=len(entries))]
    for entry in entries:
        line = translate("cli.audit_line", lang, id=entry.id, at=_local(entry.at), label=entry.label,
                         actor=entry.actor, detail=_detail(entry.detail))
        mark = marks.get(status[entry.id])
        lines.append(f"{line}  [{mark}]" if mark else line)
    broken = report.first_broken
    if broken is None:
        lines.append(translate("cli.audit_intact", lang))
    elif broken.status == ALTERED:
        lines.append(translate("cli.audit_broken_altered", lang, id=broken.event_id))
    else:
        lines.append(translate("cli.audit_broken_unlinked", lang, id=broken.event_id))
    return "\n".join(lines), report.intact
