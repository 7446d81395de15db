"""Fetch a URL safely: http(s) only, public addresses only (unless allowed), one deadline, a size cap.

Every hop, the first and each redirect, is checked the same way: the scheme must be http or
https, and the host's addresses are resolved once and checked (`pipeline.ingest.readers.addresses`);
the connection goes to a checked address while the Host header and TLS name stay the host's
name, so DNS cannot answer differently for the connection than for the check. Redirects are
followed by hand, at most `MAX_REDIRECTS`.

One deadline bounds the whole fetch: the lookup, connecting, every redirect, the headers and
the body. Each socket operation waits at most the time left, and a watchdog shuts the socket
at the deadline, so a server that drips a byte a second is cut off, not waited on. Proxies
from the environment are not used (the address check would then check the proxy).
"""
from __future__ import annotations

import http.client
import socket
import ssl
import threading
from urllib.parse import urljoin, urlsplit

from pipeline.ingest.readers.addresses import AllowList, checked_addresses
from pipeline.ingest.readers.common import CHUNK, Blob, Deadline, InputError, read_capped

USER_AGENT = "storyflow-ingest/0.1"
MAX_REDIRECTS = 5
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
SCHEMES = {"http": 80, "https": 443}


class TimedOut(Exception):
    """The fetch's deadline passed."""


class Pinned:
    """Connects to a checked address instead of resolving the host again."""

    address: str

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        if isinstance(self, http.client.HTTPSConnection):
            self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)


class PinnedHTTP(Pinned, http.client.HTTPConnection):
    pass


class PinnedHTTPS(Pinned, http.client.HTTPSConnection):
    pass


class Watchdog:
    """Shuts the current connection's socket when the deadline passes; `fired` says it did."""

    def __init__(self, deadline: Deadline):
        self.deadline, self.fired, self.conn = deadline, False, None
        self.lock = threading.Lock()
        self.timer = threading.Timer(max(deadline.remaining(), 0), self.fire)
        self.timer.daemon = True

    def fire(self):
        with self.lock:
            self.fired = True
            sock = self.conn.sock if self.conn is not None else None
            if sock is not None:
                try:
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket, under TLS too
                except OSError:
                    pass

    def watch(self, conn) -> None:
        with self.lock:
            self.conn = conn
        if self.fired:
            raise TimedOut

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()


def split_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path and query) of an http(s) URL; an InputError for any other."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"malformed URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise InputError(f"only http and https URLs are fetched, not {scheme + ':' if scheme else 'a URL without scheme'}")
    if not parts.hostname:
        raise InputError("URL has no host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port or SCHEMES[scheme], target


def open_hop(scheme: str, host: str, port: int, target: str, addresses: list[tuple[int, str]],
             deadline: Deadline, watchdog: Watchdog):
    """Connect to one of the checked `addresses` of `host` and send the GET; (connection, response)."""
    last_error: OSError | None = None
    for _, address in addresses:
        if deadline.passed():
            raise TimedOut
        conn = (PinnedHTTPS if scheme == "https" else PinnedHTTP)(host, port, timeout=max(deadline.remaining(), 0.001))
        conn.address = address
        try:
            conn.connect()
            watchdog.watch(conn)
            conn.request("GET", target, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
            return conn, conn.getresponse()
        except OSError as exc:
            conn.close()
            if watchdog.fired or isinstance(exc, (TimeoutError, ssl.SSLError)):
                raise
            last_error = exc  # refused or unreachable: the next address may answer
        except BaseException:
            conn.close()
            raise
    raise InputError(f"cannot fetch: {getattr(last_error, 'strerror', None) or last_error}")


def read_body(response, max_bytes: int, deadline: Deadline, watchdog: Watchdog) -> Blob:
    length = response.getheader("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise InputError(f"response too large: {length} bytes > limit {max_bytes}")

    def chunks():
        while chunk := response.read1(CHUNK):  # at most one read of the socket: a drip is seen as it drips
            if watchdog.fired or deadline.passed():
                raise TimedOut
            yield chunk
        if watchdog.fired:  # the watchdog's shutdown reads as the end of the body: it was not
            raise TimedOut

    blob = read_capped(chunks(), max_bytes, "response")
    blob.charset = response.headers.get_content_charset()
    blob.content_type = response.headers.get_content_type()
    return blob


def follow(url: str, max_bytes: int, allow: AllowList, deadline: Deadline, watchdog: Watchdog) -> Blob:
    """The body at `url` after at most MAX_REDIRECTS redirects, each hop checked like the first."""
    for hop in range(MAX_REDIRECTS + 1):
        try:
            scheme, host, port, target = split_url(url)
            addresses = checked_addresses(host, port, allow, deadline)
        except InputError as exc:
            raise InputError(f"redirect to {url[:200]!r}: {exc}" if hop else str(exc)) from None
        conn, response = open_hop(scheme, host, port, target, addresses, deadline, watchdog)
        try:
            if response.status in REDIRECT_STATUSES:
                location = response.getheader("Location")
                if not location:
                    raise InputError(f"HTTP {response.status} redirect without a Location")
                url = urljoin(url, location.strip())
                continue
            if response.status >= 400:
                raise InputError(f"HTTP {response.status} {response.reason}")
            return read_body(response, max_bytes, deadline, watchdog)
        finally:
            conn.close()
    raise InputError(f"more than {MAX_REDIRECTS} redirects")


def fetch(url: str, max_bytes: int, timeout_s: float, allow: AllowList | list[str] | tuple = ()) -> Blob:
    """GET `url`, following redirects; `timeout_s` is one deadline for all of it; `allow` lists hosts
    and networks that may be fetched from although not public."""
    deadline = Deadline(timeout_s)
    watchdog = Watchdog(deadline)
    try:
        with watchdog:
            return follow(url, max_bytes, AllowList.parse(allow), deadline, watchdog)
    except InputError:
        raise
    except (TimedOut, TimeoutError):
        raise InputError(f"fetch timed out after {timeout_s:g} s") from None
    except (http.client.HTTPException, OSError, ValueError) as exc:  # reset, TLS failure, broken chunks, bad URL
        if watchdog.fired:
            raise InputError(f"fetch timed out after {timeout_s:g} s") from None
        raise InputError(f"cannot fetch: {exc}") from None
