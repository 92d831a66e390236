"""A faster start for each execution of a flow run: a fork of a warm interpreter, not a new one.

Every execution of a request's run (one per resume: a suspension ends the process) is, with
Prefect's default, a freshly spawned Python that imports Prefect, SQLAlchemy and our modules
again: about 2.5 s of CPU on two cores, and these starts queue up when many people act at once.
Here the runner forks each execution from a ``multiprocessing`` forkserver that imported all of
that once: the run still gets a process of its own (a crash or a kill ends that process, never
the runner), the runner still cancels it by its pid, and it starts in tens of milliseconds.

Prefect's runner starts processes through the module-level ``run_flow_in_subprocess`` of
``prefect.runner._starter_direct`` (documented there as the place to override); ``install``
replaces it by ``run_flow_in_forkserver``, a copy of Prefect's function with the forkserver
context instead of ``spawn``. ``RAMQ_FAST_START=false`` keeps Prefect's default (the baseline of
``benchmarks/decisions.py``).

Two more waits are cut on this path. The runner starts a run as soon as the Prefect server
announces it (a new run, a resumed one) on its event stream, instead of at its next poll (the
poll goes on beside, and alone while the stream is down). And a run's process ends as soon as its
flow has, instead of sitting out the heartbeat thread's one-second naps: the runner starts a
resumed run only once the process of its last execution is gone.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import multiprocessing.context
import os
import sys
from typing import Any

from flows import prefect_tls

# What the forkserver imports once, before any fork: Prefect's engine and everything a run of
# ours imports on its way (database drivers, email rendering and sending). Streamlit, pandas,
# PIL and the PDF libraries stay out: no flow run needs them.
PRELOAD = (
    "prefect",
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect.engine",
    "prefect.results",
    "prefect.cache_policies",
    "prefect.flow_runs",
    "prefect.input",
    "prefect.events.clients",
    "prefect.logging.handlers",
    "prefect.client.orchestration",
    "flows.fast_start",
    "flows.prefect_tls",  # builds the TLS context every forked run's clients share
    "flows.access_request",
    "flows.sweeper",
    "flows.steps",
    # imported lazily by a run's first steps; a name missing here is skipped by the forkserver
    "sqlite3",
    "psycopg",
    "aiosmtplib",
    "jinja2",
    "notifications.outbox",
    "notifications.links",
    "models.accounts",
    "models.security",
    "prefect.transactions",
    "prefect.runtime.flow_run",
    "prefect.utilities.visualization",  # graphviz, behind every task call
    "sqlalchemy.dialects.sqlite",  # the dialects, loaded at an engine's first use
    "sqlalchemy.dialects.sqlite.aiosqlite",
    "sqlalchemy.dialects.postgresql.psycopg",
    "cryptography.hazmat.backends.openssl",
    "encodings.idna",
    "encodings.unicode_escape",
    "anyio._backends._asyncio",  # anyio's event loop and streams, at a run's first async call
    "anyio.streams.memory",
    "anyio.streams.stapled",
    "anyio.streams.tls",
)

# Set in the forked child by the bootstrap below: a test reads it to prove the run came this way.
MARKER_ENV = "RAMQ_FAST_STARTED"

# The server's events that mean a run may be ready to start here: a new run, a resumed one.
WAKE_EVENTS = ("prefect.flow-run.Scheduled", "prefect.flow-run.Resuming")
# While the event stream is down, try it again this often (the runner's poll covers the gap).
EVENTS_RETRY_SECONDS = 5.0

_installed = False
logger = logging.getLogger("ramq.fast_start")


def enabled() -> bool:
    from models.settings import get_settings

    return get_settings().fast_start


def forkserver_context() -> multiprocessing.context.ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    assert isinstance(ctx, multiprocessing.context.ForkServerContext)
    return ctx


def install(*, warm: bool = True) -> bool:
    """Makes the runner of this process start flow runs through the forkserver (when the
    setting allows); starts the forkserver now, so the first run does not pay its imports.
    True if installed."""
    global _installed
    if not enabled():
        return False
    import prefect.runner._starter_direct as starter

    ctx = forkserver_context()
    ctx.set_forkserver_preload(list(PRELOAD))
    starter.run_flow_in_subprocess = run_flow_in_forkserver  # type: ignore[assignment]
    _installed = True
    if warm:
        from multiprocessing import forkserver

        forkserver.ensure_running()
    return True


def installed() -> bool:
    return _installed


def serve(*flows: tuple[Any, dict[str, Any]]) -> None:
    """Serves each (flow, deployment options) the way ``prefect.serve`` does, but with the flow
    object registered in the runner (``Runner.add_flow``): only then does the runner start a
    run from the flow it holds (``run_flow_in_subprocess``, forked here) rather than with a
    ``python -m prefect.engine`` command that imports everything again."""
    import asyncio

    from prefect.exceptions import TerminationSignal
    from prefect.runner import Runner

    from flows.prefect_sync import sync_result
    from models.settings import get_settings

    # A resumed run waits for the runner's next ask: half a second on average with Prefect's
    # 1 s, a quarter here; one cheap indexed query each time.
    runner = Runner(pause_on_shutdown=True, query_seconds=get_settings().runner_poll_seconds or None)
    for flow, options in flows:
        sync_result(runner.add_flow(flow, **options))
    try:
        asyncio.run(_start(runner))
    except (KeyboardInterrupt, TerminationSignal):
        pass


async def _start(runner: Any) -> None:
    """The runner, with its runs started on the server's events beside its own poll."""
    waker = asyncio.create_task(start_runs_on_events(runner))
    try:
        await runner.start()
    finally:
        waker.cancel()


async def start_runs_on_events(runner: Any) -> None:
    """Makes the runner ask for runs to start as soon as the server says a run was scheduled or
    resumed: a resumed run no longer waits for the runner's next poll. Events that come while an
    ask is under way make one more ask after it, not one each. The asking itself is the runner's
    own (the same call its poll makes: it skips a run already starting, and holds to its limit)."""
    from prefect.events.clients import get_events_subscriber
    from prefect.events.filters import EventFilter, EventNameFilter

    while not getattr(runner, "started", False):
        await asyncio.sleep(0.05)
    wanted = asyncio.Event()

    async def ask_when_wanted() -> None:
        while True:
            await wanted.wait()
            wanted.clear()
            try:
                await runner._get_and_submit_flow_runs()
            except Exception:  # noqa: BLE001 - the runner's poll asks again shortly
                logger.debug("asking for runs on an event failed", exc_info=True)

    asker = asyncio.create_task(ask_when_wanted())
    stream_down_told = False
    try:
        while True:
            try:
                wake = EventFilter(event=EventNameFilter(name=list(WAKE_EVENTS)))
                async with get_events_subscriber(filter=wake) as events:
                    stream_down_told = False
                    async for _ in events:
                        wanted.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the poll still starts runs, only later
                if not stream_down_told:
                    logger.warning("event stream unavailable (%s): runs start at the runner's poll",
                                   type(exc).__name__)
                    stream_down_told = True
            await asyncio.sleep(EVENTS_RETRY_SECONDS)
    finally:
        asker.cancel()


# The modules the forkserver had when this process was forked from it (empty elsewhere).
_FORKED_WITH: frozenset[str] = frozenset()


def imported_since_fork() -> set[str]:
    """The modules this forked run imported itself (the forkserver had not): each is paid again
    at every execution."""
    return set(sys.modules) - _FORKED_WITH if _FORKED_WITH else set()


def _bootstrap(payload: bytes, startup_env: dict[str, str] | None,
               checked_servers: list[tuple[str, str]] | None = None) -> Any:
    """The forked child's entry: marks the process, then runs Prefect's own bootstrap.
    ``checked_servers``: the (API, Prefect version) pairs whose compatibility the runner
    checked; the run's clients would check them again, a round trip before its first step."""
    from prefect.flow_engine import _run_serialized_call_with_control_bootstrap

    _take_checked_servers(checked_servers or [])
    global _FORKED_WITH
    _FORKED_WITH = frozenset(sys.modules)
    os.environ[MARKER_ENV] = "1"
    _end_without_awaiting_heartbeats()
    _no_outside_suspension_watch()
    prefect_tls.share_with_prefect_clients()
    return _run_serialized_call_with_control_bootstrap(payload, startup_env)


def _end_without_awaiting_heartbeats() -> None:
    """A run's heartbeat thread naps one second at a time, and Prefect's sync engine waits for it
    when the flow ends (up to a second, half a second on average) before the process may exit;
    its async engine does not. Here the sync engine does as the async one: the thread is told to
    stop, never beats again, and ends with the process (it is a daemon)."""
    import prefect.flow_engine as engine

    if not heartbeats_awaited_on_exit():
        return
    engine._send_heartbeats = functools.partial(engine._send_heartbeats, join_on_exit=False)


def _no_outside_suspension_watch() -> None:
    """Prefect starts each execution of a deployment's run with a watch for a suspension asked
    from outside (a thread with its own client and event-stream connection: about 0.2 s before
    the flow may begin, 0.15 s more to end). Our runs suspend only themselves, which Prefect's
    ``suspend_flow_run`` handles without that watch, and an execution lasts a second or so.
    A suspension asked from outside is still recorded by the server; the execution it finds
    running ends at its own next suspension, as it would have."""
    import prefect.flow_engine as engine

    engine.observe_flow_run_suspension = _no_watch


def _no_watch(*args: Any, **kwargs: Any) -> Any:
    import contextlib

    return contextlib.nullcontext()


def outside_suspension_watched() -> bool:
    """Whether a flow run in this process starts a watch for a suspension asked from outside."""
    import prefect.flow_engine as engine

    return engine.observe_flow_run_suspension is not _no_watch


def heartbeats_awaited_on_exit() -> bool:
    """Whether a flow run in this process waits for its heartbeat thread when it ends."""
    import prefect.flow_engine as engine

    sender = engine._send_heartbeats
    return not (isinstance(sender, functools.partial) and sender.keywords.get("join_on_exit") is False)


def servers_checked_here() -> list[tuple[str, str]]:
    """The (API, Prefect version) pairs this process's clients found compatible."""
    from prefect._internal import version_checking

    with version_checking._API_VERSION_CHECK_CACHE_LOCK:
        return sorted(version_checking._API_VERSION_CHECK_CACHE)


def _take_checked_servers(checked: list[tuple[str, str]]) -> None:
    """Marks these (API, Prefect version) pairs as checked in this process, as Prefect's
    clients key them: with and without a final slash."""
    from prefect._internal import version_checking

    with version_checking._API_VERSION_CHECK_CACHE_LOCK:
        for api_url, version in checked:
            base = api_url.rstrip("/")
            version_checking._API_VERSION_CHECK_CACHE.update({(base, version), (base + "/", version)})


def run_flow_in_forkserver(flow: Any, flow_run: Any = None, parameters: dict[str, Any] | None = None,
                           wait_for: Any = None, context: dict[str, Any] | None = None,
                           env: dict[str, str | None] | None = None) -> multiprocessing.process.BaseProcess:
    """Prefect's ``run_flow_in_subprocess`` (prefect/flow_engine.py), forked from the warm
    forkserver instead of spawned: the same environment, settings, signals and control channel."""
    import asyncio
    from functools import wraps

    from prefect.context import SettingsContext, get_settings_context, serialize_context
    from prefect.engine import handle_engine_signals
    from prefect.flow_engine import _CONTROL_CHANNEL_ENV_KEYS, _runtime_subprocess_env, run_flow
    from prefect.settings.context import get_current_settings
    from prefect.settings.models.root import Settings
    from prefect.utilities.callables import cloudpickle_wrapped_call
    from prefect.utilities.processutils import sanitize_subprocess_env

    @wraps(run_flow)
    def run_flow_with_env(*args: Any, env: dict[str, str | None] | None = None,
                          remove_env: set[str] | None = None, **kwargs: Any) -> None:
        for key in remove_env or ():
            os.environ.pop(key, None)
        os.environ.update(_runtime_subprocess_env(env))
        settings_context = get_settings_context()
        with SettingsContext(profile=settings_context.profile, settings=Settings()):
            with handle_engine_signals(getattr(flow_run, "id", None)):
                maybe_coro = run_flow(*args, **kwargs)
                if asyncio.iscoroutine(maybe_coro):
                    asyncio.run(maybe_coro)

    # The run's settings are built once in the child, from the environment below (which holds
    # every setting of the runner's that was set); Prefect would build them a second time from
    # the runner's serialized copy when the context is hydrated: the same values, and some 50 ms
    # of CPU (pydantic-settings reading the environment for about 50 sub-models) per execution.
    context = {key: value for key, value in (context or serialize_context()).items()
               if key != "settings_context"}
    merged_env: dict[str, str | None] = (
        dict[str, str | None](get_current_settings().to_environment_variables(exclude_unset=True))
        | os.environ
        | {"PREFECT__ENABLE_CANCELLATION_AND_CRASHED_HOOKS": "false"}
        | (env or {})
    )
    sanitized = sanitize_subprocess_env(merged_env)
    runtime_env = _runtime_subprocess_env(sanitized)
    startup_env = {k: v for k, v in sanitized.items() if k in _CONTROL_CHANNEL_ENV_KEYS}
    wrapped_call = cloudpickle_wrapped_call(
        run_flow_with_env, env=runtime_env,
        remove_env={k for k, v in merged_env.items() if v is None},
        flow=flow, flow_run=flow_run, parameters=parameters, wait_for=wait_for, context=context)
    payload = wrapped_call.args[0]  # type: ignore[attr-defined]  # a functools.partial
    process = forkserver_context().Process(target=_bootstrap, args=(payload, startup_env, servers_checked_here()))
    process.start()
    return process

