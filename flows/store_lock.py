"""One writing run at a time per store: a Prefect global concurrency limit of one slot around read-modify-write.

Every flow that writes a store (ingest, backfill, re-cluster) holds that store's slot from
reading the stored state to committing, so a scheduled run and one started from the UI never
interleave on it; the later one waits (and logs that it does) or gives up after a timeout.
Runs writing different stores have different limits and do not wait for each other.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency

from pipeline.config import Settings


class StoreBusyError(RuntimeError):
    """Another writing run held the store for longer than this run would wait."""


@contextmanager
def store_write_slot(settings: Settings) -> Iterator[None]:
    logger = get_run_logger()
    name, timeout = settings.store_lock(), settings.store_lock_timeout_s
    with get_client(sync_client=True) as client:
        # (re)asserts one slot, so a forgotten or edited limit cannot let two writers in
        client.upsert_global_concurrency_limit_by_name(name, 1)
        busy = client.read_global_concurrency_limit_by_name(name).active_slots
    if busy:
        logger.info("store busy: another writing run holds %r; waiting up to %.0f s", name, timeout)
    began = time.monotonic()
    acquired = False
    try:
        with concurrency(name, occupy=1, timeout_seconds=timeout, strict=True):
            acquired = True
            logger.info("holding store write slot %r (waited %.1f s)", name, time.monotonic() - began)
            yield
    except TimeoutError as exc:
        if acquired:
            raise
        raise StoreBusyError(
            f"refused: another writing run held {name!r} for more than {timeout:.0f} s; nothing was written"
        ) from exc
    logger.info("released store write slot %r", name)
