"""The TLS context the Prefect clients of a process share (flows/prefect_tls.py): built once,
and built again when the trust store it was loaded from changes (a CA bundle updated in place,
as a system's certificates package does), never served stale to a long-lived process."""

from __future__ import annotations

import os
import shutil

import certifi

from flows import prefect_tls


def test_the_shared_context_follows_its_trust_store(tmp_path):
    from prefect.settings import PREFECT_API_SSL_CERT_FILE, temporary_settings

    store = tmp_path / "ca.pem"
    shutil.copyfile(certifi.where(), store)
    with temporary_settings({PREFECT_API_SSL_CERT_FILE: str(store)}):
        first = prefect_tls.shared_context()
        assert first is not None
        assert prefect_tls.shared_context() is first  # built once
        stat = store.stat()
        os.utime(store, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # updated in place
        renewed = prefect_tls.shared_context()
        assert renewed is not None and renewed is not first
        assert prefect_tls.shared_context() is renewed
