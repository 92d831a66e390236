"""The local SMTP sink of the embedded default: accepts every message and files it in a
Maildir (``var/mail`` by default), where the dev "Courriels" page and the tests read it.

Run it alone with ``python -m notifications.sink``.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from models.settings import get_settings
from notifications.maildir import ensure_maildir


def start_sink(host: str | None = None, port: int | None = None,
               maildir: Path | None = None) -> Controller:
    """Start the sink in a background thread; call ``.stop()`` on the result to end it."""
    settings = get_settings()
    host = host or settings.smtp_host
    port = port or settings.smtp_port
    maildir = ensure_maildir(Path(maildir or settings.maildir))
    controller = Controller(Mailbox(maildir), hostname=host, port=port)
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(description="Local SMTP sink writing into a Maildir.")
    parser.add_argument("--host", default=settings.smtp_host)
    parser.add_argument("--port", type=int, default=settings.smtp_port)
    parser.add_argument("--maildir", type=Path, default=settings.maildir)
    args = parser.parse_args(argv)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    controller = start_sink(args.host, args.port, args.maildir)
    print(f"SMTP sink listening on {args.host}:{args.port}, writing to {args.maildir}",
          flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        controller.stop()
        print("SMTP sink stopped", flush=True)


if __name__ == "__main__":
    main()
