"""Run the dashboard as a server and look at it in headless Chromium (for tests and benchmarks).

The server is a subprocess started and stopped by its pid; the browser is Debian's Chromium
driven by its chromedriver, with a fresh profile and no network of its own.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(data_dir: Path, log_path: Path, startup_timeout: float = 90):
    """`python -m dashboard` on 127.0.0.1 and a free port; yields its URL, stops it even on failure."""
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dashboard", "--data", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + startup_timeout
        while True:
            try:
                with urllib.request.urlopen(url + "_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dashboard did not start:\n{Path(log_path).read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


@contextmanager
def headless_chromium(profile_dir: Path, window: str = "1400,1600"):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", f"--window-size={window}",
                 f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the page's console, for failures
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def until(driver, found, message: str, timeout: float = 60):
    """What `found(driver)` returns once it is truthy, retried every 0.1 s: the app re-renders
    elements on every rerun, so one found a moment ago may be gone when it is read."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    waiting = WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,))
    return waiting.until(found, message)


def wait_for(driver, css: str, text: str = "", timeout: float = 60):
    """The first displayed element matching `css` (and containing `text`), once the app has rendered it."""
    from selenium.webdriver.common.by import By

    def found(d):
        for element in d.find_elements(By.CSS_SELECTOR, css):
            if element.is_displayed() and text in element.text:
                return element
        return False

    return until(driver, found, f"no {css!r} with {text!r}", timeout)


def text_of(driver, css: str, text: str = "", timeout: float = 60) -> str:
    """The text of the first displayed element matching `css` (and containing `text`), read inside
    the wait, so that an element re-rendered between finding and reading it is looked for again."""
    from selenium.webdriver.common.by import By

    def found(d):
        for element in d.find_elements(By.CSS_SELECTOR, css):
            shown = element.text if element.is_displayed() else ""
            if shown and text in shown:
                return shown
        return False

    return until(driver, found, f"no {css!r} with {text!r}", timeout)


def texts_of_all(driver, css: str, count: int, timeout: float = 60) -> list[str]:
    """The texts of the elements matching `css`, once there are `count` of them.

    The app draws a page element by element, and keeps the last page's elements until it replaces
    them: one element drawn says nothing of the others.
    """
    from selenium.webdriver.common.by import By

    def found(d):
        elements = d.find_elements(By.CSS_SELECTOR, css)
        return [e.text for e in elements] if len(elements) == count else False

    return until(driver, found, f"never {count} of {css!r}", timeout)
