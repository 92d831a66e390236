"""Prefect's calls that run sync or async depending on where they are called, from sync code."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def sync_result(value: T | Coroutine[Any, Any, T]) -> T:
    """The result of a Prefect call made from sync code (``run_deployment``,
    ``Flow.to_deployment``, ``Automation.create``...). Such calls are annotated "result or
    coroutine" because from an event loop they return a coroutine to await; here there is none."""
    if isinstance(value, Coroutine):
        value.close()
        raise TypeError("a Prefect call made from an event loop returned a coroutine: await it instead")
    return value
