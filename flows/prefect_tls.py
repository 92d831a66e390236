"""One TLS context for the Prefect clients of a process, built once.

Every Prefect client loads the whole certifi trust store into a new SSL context (about 20 ms of
CPU), even when the API is plain HTTP, as the embedded one is: the application makes a client
for every resume of a run, and a run's execution made three. One context serves them all (an
``ssl.SSLContext`` may be shared by connections and threads). It is built when this module is
imported, so the runner's forkserver, which imports it before any fork, builds it once and
every forked run inherits it.

The shared context is the one Prefect would build (``PREFECT_API_SSL_CERT_FILE``, else
certifi's bundle); when that setting has changed since, or ``PREFECT_API_TLS_INSECURE_SKIP_VERIFY``
is on, Prefect builds its own as before.
"""

from __future__ import annotations

import functools
import ssl
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


def _build() -> tuple[str | None, ssl.SSLContext | None]:
    store = _trust_store()
    return store, ssl.create_default_context(cafile=store) if store else None


_BUILT_FOR, _CONTEXT = _build()


def shared_context() -> ssl.SSLContext | None:
    """The context built at import, if Prefect's settings still ask for that trust store."""
    return _CONTEXT if _trust_store() == _BUILT_FOR else None


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

