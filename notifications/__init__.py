"""Emails and signed links: composition (``templates``), the outbox and SMTP sending
(``outbox``), signed links (``links``, the only JOSE code), and the local SMTP sink with its
Maildir reader (``sink``, ``maildir``). Imports ``models`` only."""
