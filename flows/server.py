"""A Prefect API server for one command-line run, that dies with it.

Without `PREFECT_API_URL`, Prefect would start a temporary server of its own, which outlives a
command killed with SIGKILL. This starts the same server (Prefect's app under uvicorn) as a
child that the kernel kills when its parent dies (Linux `PR_SET_PDEATHSIG`), and stops it
when the run ends.
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: the kernel sends SIGKILL when the parent exits."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:  # not Linux: the server is still stopped when the run ends normally
        pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _send_what_is_queued(timeout_s: float = 10.0) -> None:
    """Let Prefect's background senders (run logs, events) finish before the server stops: a sender
    left with work for a server that is gone retries for minutes before the process can exit."""
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=timeout_s)
        except Exception:  # noqa: BLE001 - stopping anyway; at worst the exit is slow
            pass


@contextmanager
def _api_url_set(url: str) -> Iterator[None]:
    """`PREFECT_API_URL` for this process. Prefect reads its settings from the environment once, when it is
    first imported: before that, the environment is enough; after it, its settings are replaced too."""
    os.environ["PREFECT_API_URL"] = url
    os.environ["PREFECT_UI_ENABLED"] = "false"  # this server has no UI: runs on it have no page to link to
    try:
        if "prefect" not in sys.modules:
            yield
        else:
            from prefect.settings import PREFECT_API_URL, PREFECT_UI_ENABLED, temporary_settings

            with temporary_settings(updates={PREFECT_API_URL: url, PREFECT_UI_ENABLED: False}):
                yield
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        os.environ.pop("PREFECT_UI_ENABLED", None)


@contextmanager
def temporary_server(timeout_s: float = 120.0) -> Iterator[str]:
    """The API URL to use: `PREFECT_API_URL` if set, else a server started for this process.

    Call it before importing Prefect (the flows) where possible: Prefect is slow to import.
    """
    if os.environ.get("PREFECT_API_URL"):
        yield os.environ["PREFECT_API_URL"]
        return
    # where Prefect is installed, without importing it (which would read its settings before the URL is set)
    prefect_dir = importlib.util.find_spec("prefect").submodule_search_locations[0]

    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    parent = os.getpid()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(prefect_dir).parent), "--factory",
         "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "error",
         "--lifespan", "on"],
        env=env, preexec_fn=lambda: _die_with_parent(parent),
    )
    try:
        deadline = time.monotonic() + timeout_s
        while not _healthy(url):
            if server.poll() is not None:
                raise RuntimeError(f"the temporary Prefect server exited with code {server.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the temporary Prefect server did not answer within {timeout_s:.0f} s")
            time.sleep(0.2)
        with _api_url_set(url):
            try:
                yield url
            finally:
                _send_what_is_queued()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
