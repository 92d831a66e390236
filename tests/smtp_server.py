"""A real SMTP server for tests (aiosmtpd on 127.0.0.1, a free port), importable from any test
folder: ``with start_smtp_server() as smtp: ...``.

It keeps every accepted message in memory (``messages``: ``email.message.EmailMessage``) and,
if given one, in a Maildir. ``fail_next(n)`` makes the next ``n`` deliveries answer
``451`` (temporary failure) to exercise retries. Waiting is on a condition, never a sleep.
"""

from __future__ import annotations

import asyncio
import mailbox
import socket
import threading
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Envelope:
    mail_from: str
    rcpt_tos: list[str]


@dataclass
class SmtpServer:
    host: str
    port: int
    maildir: Path | None = None
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    failures: int = 0  # deliveries refused so far
    _fail_next: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _controller: Controller | None = None
    _hold: str | None = None
    holding: bool = False  # a held recipient's message is waiting (the sender is mid-conversation)
    _controller_kwargs: dict = field(default_factory=dict)

    # -- aiosmtpd handler ------------------------------------------------------------------
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if self._hold and address.lower() == self._hold:
            self.holding = True
            while self._hold:  # the sender waits for our answer; nothing is accepted yet
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._cond:
            if self._fail_next > 0:
                self._fail_next -= 1
                self.failures += 1
                self._cond.notify_all()
                return "451 4.3.0 Temporary failure (test server)"
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        if self.maildir is not None:
            mailbox.Maildir(self.maildir).add(raw)
        with self._cond:
            self.messages.append(msg)
            self.envelopes.append(Envelope(envelope.mail_from, list(envelope.rcpt_tos)))
            self._cond.notify_all()
        return "250 2.0.0 OK: queued (test server)"

    # -- test controls ---------------------------------------------------------------------
    def fail_next(self, n: int = 1) -> None:
        """Answer 451 to the next ``n`` deliveries."""
        with self._cond:
            self._fail_next = n

    def hold_recipient(self, address: str) -> None:
        """Keep the next sender to ``address`` waiting at RCPT (mid-conversation, nothing
        accepted) until :meth:`release`: the moment to kill it."""
        self._hold, self.holding = address.lower(), False

    def release(self) -> None:
        self._hold = None

    def restart(self) -> None:
        """Start again on the same port after :meth:`stop` (an SMTP outage that heals)."""
        kwargs = self._controller_kwargs
        controller = Controller(self, hostname=self.host, port=self.port, **kwargs)
        controller.start()
        self._controller = controller

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Block until at least ``count`` messages arrived; return them (AssertionError on timeout)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"expected {count} message(s), got {len(self.messages)}")
            return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        """Messages whose envelope recipients include ``address``."""
        with self._cond:
            return [m for m, e in zip(self.messages, self.envelopes, strict=True)
                    if address.lower() in (r.lower() for r in e.rcpt_tos)]

    def clear(self) -> None:
        with self._cond:
            self.messages.clear()
            self.envelopes.clear()
            self.failures = 0
            self._fail_next = 0

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def start_smtp_server(
    *, maildir: Path | None = None, host: str = "127.0.0.1",
    auth: tuple[str, str] | None = None,
) -> SmtpServer:
    """Start a server on a free port. With ``auth=(user, password)`` it requires AUTH
    (allowed without TLS, this is a test server)."""
    if maildir is not None:
        for sub in ("cur", "new", "tmp"):
            (Path(maildir) / sub).mkdir(parents=True, exist_ok=True)
    kwargs: dict = {}
    if auth is not None:
        def authenticator(server, session, envelope, mechanism, data):
            ok = (isinstance(data, LoginPassword)
                  and (data.login, data.password) == (auth[0].encode(), auth[1].encode()))
            return AuthResult(success=ok, handled=False)

        kwargs = {"auth_required": True, "auth_require_tls": False, "authenticator": authenticator}
    last_error: Exception | None = None
    for _ in range(5):  # the free port may be taken between the probe and the bind
        server = SmtpServer(host=host, port=free_port(host),
                            maildir=Path(maildir) if maildir is not None else None)
        controller = Controller(server, hostname=host, port=server.port, **kwargs)
        try:
            controller.start()
        except Exception as exc:  # noqa: BLE001 - retried on another port
            last_error = exc
            try:
                controller.stop()
            except Exception:  # noqa: BLE001
                pass
            continue
        server._controller = controller
        server._controller_kwargs = kwargs
        return server
    raise RuntimeError(f"could not start the test SMTP server: {last_error}")
