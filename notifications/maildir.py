"""Read the Maildir the local SMTP sink writes (dev "Courriels" page, ``simulate``, tests)."""

from __future__ import annotations

import os
import re
import threading
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


def _parse(key: str, raw: bytes, delivered: float) -> MailItem:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    text = _part(msg, "plain")
    return MailItem(
        key=key,
        to=str(msg["To"] or ""),
        from_=str(msg["From"] or ""),
        subject=str(msg["Subject"] or ""),
        date=_date(msg, delivered),
        text=text,
        html=_part(msg, "html"),
        links=extract_links(text),
        message_id=str(msg["Message-ID"] or ""),
    )


class MaildirReader:
    """Reads a Maildir again and again, parsing each message the first time it is seen: a
    message's file never changes (a mail client may move it from ``new`` to ``cur``, under the
    same unique name). ``simulate`` looks for its next email every 50 ms in each of its threads;
    parsing every message at each look took the two cores from the stack it measured.
    Safe to share between threads."""

    def __init__(self, maildir: Path):
        self.path = Path(maildir)
        self.parsed = 0  # how many messages were parsed (each once)
        self._items: dict[str, tuple[MailItem, float]] = {}
        self._lock = threading.Lock()

    def _files(self) -> list[tuple[str, Path]]:
        found = []
        for sub in ("new", "cur"):
            try:
                entries = list(os.scandir(self.path / sub))
            except FileNotFoundError:
                continue
            found += [(e.name.split(":", 1)[0], Path(e.path)) for e in entries
                      if not e.name.startswith(".") and e.is_file()]
        return found

    def messages(self) -> list[MailItem]:
        """Every message, newest first (an absent Maildir is an empty one)."""
        with self._lock:
            present = set()
            for key, path in self._files():
                present.add(key)
                if key in self._items:
                    continue
                try:
                    delivered = path.stat().st_mtime
                    raw = path.read_bytes()
                except FileNotFoundError:  # moved from new/ to cur/ meanwhile: seen next time
                    present.discard(key)
                    continue
                self._items[key] = (_parse(key, raw, delivered), delivered)
                self.parsed += 1
            found = [pair for key, pair in self._items.items() if key in present]
        found.sort(key=lambda pair: (pair[0].date, pair[1], pair[0].key), reverse=True)
        return [item for item, _ in found]

    def find(self, *, to: str | None = None, subject_contains: str | None = None) -> list[MailItem]:
        """Messages to this address (case-insensitive) and/or whose subject contains a text."""
        items = self.messages()
        if to is not None:
            wanted = to.strip().lower()
            items = [i for i in items
                     if wanted in (addr.lower() for _, addr in getaddresses([i.to]))]
        if subject_contains is not None:
            needle = subject_contains.lower()
            items = [i for i in items if needle in i.subject.lower()]
        return items


def list_messages(maildir: Path) -> list[MailItem]:
    """Every message in the Maildir, newest first (an absent Maildir is an empty one)."""
    return MaildirReader(maildir).messages()


def find_messages(
    maildir: Path, *, to: str | None = None, subject_contains: str | None = None
) -> list[MailItem]:
    """Messages to this address (case-insensitive) and/or whose subject contains a text."""
    return MaildirReader(maildir).find(to=to, subject_contains=subject_contains)
