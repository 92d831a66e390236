"""One TLS context for the Prefect clients of a process, built once.

Every Prefect client loads the whole certifi trust store into a new SSL context (about 20 ms of
CPU), even when the API is plain HTTP, as the embedded one is: the application makes a client
for every resume of a run, and a run's execution made three. One context serves them all (an
``ssl.SSLContext`` may be shared by connections and threads). It is built when this module is
imported, so the runner's forkserver, which imports it before any fork, builds it once and
every forked run inherits it.

The shared context is the one Prefect would build (``PREFECT_API_SSL_CERT_FILE``, else
certifi's bundle), loaded again when that setting or the file changes; when
``PREFECT_API_TLS_INSECURE_SKIP_VERIFY`` is on, Prefect builds its own as before.
"""

from __future__ import annotations

import functools
import os
import ssl
import threading
from typing import Any

import certifi

_PATCHED = "_ramq_shares_tls_context"


def _trust_store() -> str | None:
    """The trust store Prefect's clients would load now; None if they verify nothing."""
    from prefect.settings import get_current_settings

    api = get_current_settings().api
    if api.tls_insecure_skip_verify:
        return None
    return api.ssl_cert_file or certifi.where()


# The context and what it was loaded from: (path, modification time, size) of the trust store.
_built: tuple[tuple[str, int, int], ssl.SSLContext] | None = None
_lock = threading.Lock()


def shared_context() -> ssl.SSLContext | None:
    """The context for the trust store Prefect's settings name now, loaded again when that file
    has changed since (a CA bundle updated in place); None if the clients verify nothing or the
    store cannot be read (Prefect's own client then says why)."""
    global _built
    store = _trust_store()
    if store is None:
        return None
    try:
        stat = os.stat(store)
    except OSError:
        return None
    loaded_from = (store, stat.st_mtime_ns, stat.st_size)
    with _lock:
        if _built is None or _built[0] != loaded_from:
            _built = (loaded_from, ssl.create_default_context(cafile=store))
        return _built[1]


shared_context()  # at import: the forkserver loads it once, before any fork


def httpx_settings(**settings: Any) -> dict[str, Any]:
    """``settings`` for a Prefect client, with the shared context when it applies."""
    context = shared_context()
    if context is not None:
        settings.setdefault("verify", context)
    return settings


def share_with_prefect_clients() -> None:
    """Makes every Prefect client made in this process from now on take the shared context."""
    from prefect.client.orchestration import PrefectClient, SyncPrefectClient

    for cls in (PrefectClient, SyncPrefectClient):
        if getattr(cls.__init__, _PATCHED, False):
            continue
        original = cls.__init__

        @functools.wraps(original)
        def init(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            kwargs["httpx_settings"] = httpx_settings(**(kwargs.get("httpx_settings") or {}))
            _original(self, *args, **kwargs)

        setattr(init, _PATCHED, True)
        cls.__init__ = init  # type: ignore[method-assign]

