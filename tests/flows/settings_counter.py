"""Counts how many times a process builds Prefect's settings (``prefect.settings.Settings``),
for the probe runner (tests/flows/fast_start_runner.py). Imported by the forkserver before any
fork (added to its preload), so a forked run counts from its fork: each build reads the
environment for about 50 sub-models, some 50 ms of CPU per execution."""

from __future__ import annotations

import os

from prefect.settings.models.root import Settings

built = 0
built_at_fork = 0
_original_init = Settings.__init__


def _counting_init(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003 - pydantic's signature
    global built
    built += 1
    _original_init(self, *args, **kwargs)


def _forked() -> None:
    global built_at_fork
    built_at_fork = built


def built_since_fork() -> int:
    return built - built_at_fork


Settings.__init__ = _counting_init  # type: ignore[method-assign]
os.register_at_fork(after_in_child=_forked)
