"""Counts, for the probe runner (tests/flows/fast_start_runner.py), what a process pays at each
execution of a run without needing to: the builds of Prefect's settings
(``prefect.settings.Settings``: each reads the environment for about 50 sub-models, some 50 ms
of CPU), the trust stores loaded into a new TLS context (about 20 ms each: Prefect's clients
load one each, even for a plain-HTTP API) and the CSRF tokens asked of a server that has no
CSRF protection (a round trip before a client's first change), and the checks of the server's
version (a round trip, and a TLS context of its own) that the runner starting the run made
already. Imported by the forkserver before any fork (added to its preload), so a forked run
counts from its fork."""

from __future__ import annotations

import os
import ssl

import prefect._internal.version_checking as version_checking
import prefect.client.orchestration as orchestration
from prefect.client.base import PrefectHttpxAsyncClient, PrefectHttpxSyncClient
from prefect.settings.models.root import Settings

built = 0
trust_stores = 0
csrf_asks = 0
version_checks = 0
_at_fork = (0, 0, 0, 0)
_original_init = Settings.__init__
_original_load = ssl.SSLContext.load_verify_locations
_original_csrf = (PrefectHttpxAsyncClient._add_csrf_headers, PrefectHttpxSyncClient._add_csrf_headers)


def _counting_init(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003 - pydantic's signature
    global built
    built += 1
    _original_init(self, *args, **kwargs)


def _counting_load(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003 - ssl's signature
    global trust_stores
    trust_stores += 1
    return _original_load(self, *args, **kwargs)


def _counted_csrf(original):  # noqa: ANN001, ANN202
    def _add_csrf_headers(self, request):  # noqa: ANN001, ANN202
        global csrf_asks
        if self.enable_csrf_support and not self.csrf_token:
            csrf_asks += 1
        return original(self, request)
    return _add_csrf_headers


def _counted_version_check(original):  # noqa: ANN001, ANN202
    def _cache_api_version_check(key):  # noqa: ANN001, ANN202 - called once a check has passed
        global version_checks
        version_checks += 1
        return original(key)
    return _cache_api_version_check


def _forked() -> None:
    global _at_fork
    _at_fork = (built, trust_stores, csrf_asks, version_checks)


def built_since_fork() -> int:
    return built - _at_fork[0]


def trust_stores_since_fork() -> int:
    return trust_stores - _at_fork[1]


def csrf_asks_since_fork() -> int:
    return csrf_asks - _at_fork[2]


def version_checks_since_fork() -> int:
    return version_checks - _at_fork[3]


Settings.__init__ = _counting_init  # type: ignore[method-assign]
ssl.SSLContext.load_verify_locations = _counting_load  # type: ignore[method-assign]
PrefectHttpxAsyncClient._add_csrf_headers = _counted_csrf(_original_csrf[0])  # type: ignore[method-assign]
PrefectHttpxSyncClient._add_csrf_headers = _counted_csrf(_original_csrf[1])  # type: ignore[method-assign]
for module in (version_checking, orchestration):
    module._cache_api_version_check = _counted_version_check(module._cache_api_version_check)  # type: ignore[attr-defined]
os.register_at_fork(after_in_child=_forked)
