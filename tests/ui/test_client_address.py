"""Who is at the other end, for throttling and rate limits: the connection's address; behind a
reverse proxy on this machine (no address), the entry the proxy added to X-Forwarded-For; a
remote client cannot choose its key with the header."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import streamlit as st

from ui.common import client_address


@pytest.mark.parametrize("ip, forwarded, expected", [
    ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # a remote client: the header is ignored
    (None, "198.51.100.1, 10.0.0.9", "10.0.0.9"),  # the entry our proxy added; earlier ones are forgeable
    (None, "", None),  # used locally: unknown
    (None, None, None),
])
def test_the_address_comes_from_the_connection_or_the_local_proxy(monkeypatch, ip, forwarded, expected):
    headers = {} if forwarded is None else {"X-Forwarded-For": forwarded}
    monkeypatch.setattr(st, "context", SimpleNamespace(ip_address=ip, headers=headers))
    assert client_address() == expected


def test_no_browser_session_is_unknown(monkeypatch):
    class Broken:
        @property
        def ip_address(self):
            raise RuntimeError("no session")

    monkeypatch.setattr(st, "context", Broken())
    assert client_address() is None
