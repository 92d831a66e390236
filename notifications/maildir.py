"""Read the Maildir the local SMTP sink writes (dev "Courriels" page, ``simulate``, tests)."""

from __future__ import annotations

import mailbox
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)]}»"


@dataclass(frozen=True)
class MailItem:
    key: str
    to: str
    from_: str
    subject: str
    date: datetime  # timezone-aware
    text: str = field(repr=False)
    html: str = field(repr=False)
    links: list[str] = field(default_factory=list)
    message_id: str = ""


def ensure_maildir(path: Path) -> Path:
    """Create ``path`` and its cur/new/tmp folders (``mailbox.Maildir`` only does so when the
    folder itself is missing)."""
    path = Path(path)
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def extract_links(text: str) -> list[str]:
    links: list[str] = []
    for url in _URL.findall(text or ""):
        url = url.rstrip(_TRAILING)
        if url not in links:
            links.append(url)
    return links


def _part(msg: EmailMessage, subtype: str) -> str:
    body = msg.get_body(preferencelist=(subtype,))
    return body.get_content().replace("\r\n", "\n") if body is not None else ""


def _date(msg: EmailMessage, delivered: float) -> datetime:
    try:
        value = parsedate_to_datetime(str(msg["Date"])) if msg["Date"] else None
    except (TypeError, ValueError):
        value = None
    if value is None:
        return datetime.fromtimestamp(delivered, UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def list_messages(maildir: Path) -> list[MailItem]:
    """Every message in the Maildir, newest first (an absent Maildir is an empty one)."""
    path = Path(maildir)
    if not (path / "new").is_dir() or not (path / "cur").is_dir():
        return []
    box = mailbox.Maildir(path, factory=None, create=False)
    found: list[tuple[MailItem, float]] = []
    for key in box.keys():
        try:
            delivered = box.get_message(key).get_date()
            raw = box.get_bytes(key)
        except (KeyError, FileNotFoundError):  # removed while we read
            continue
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        text = _part(msg, "plain")
        found.append((MailItem(
            key=key,
            to=str(msg["To"] or ""),
            from_=str(msg["From"] or ""),
            subject=str(msg["Subject"] or ""),
            date=_date(msg, delivered),
            text=text,
            html=_part(msg, "html"),
            links=extract_links(text),
            message_id=str(msg["Message-ID"] or ""),
        ), delivered))
    found.sort(key=lambda pair: (pair[0].date, pair[1], pair[0].key), reverse=True)
    return [item for item, _ in found]


def find_messages(
    maildir: Path, *, to: str | None = None, subject_contains: str | None = None
) -> list[MailItem]:
    """Messages to this address (case-insensitive) and/or whose subject contains a text."""
    items = list_messages(maildir)
    if to is not None:
        wanted = to.strip().lower()
        items = [i for i in items
                 if wanted in (addr.lower() for _, addr in getaddresses([i.to]))]
    if subject_contains is not None:
        needle = subject_contains.lower()
        items = [i for i in items if needle in i.subject.lower()]
    return items
