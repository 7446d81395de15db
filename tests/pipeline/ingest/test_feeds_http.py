"""Feeds over real HTTP on 127.0.0.1: read once per entry, updates read again, slow and garbage feeds rejected."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipeline.config import IngestConfig
from pipeline.ingest import ingest
from pipeline.ingest.inbox import Inbox
from tests.conftest import WIRE

TIMEOUT_S = 0.5
LOCAL = ["127.0.0.1"]  # the servers here are on loopback, which fetches refuse unless allowed


def logged(inbox: Inbox, result) -> Inbox:
    """The inbox after the store logged `result`'s rows, as the next run loads it (ingest never changes it)."""
    for row in result.inbox_rows:
        inbox.add(row)
    return inbox


class FeedServer:
    """Serves `routes` (path -> (content type, bytes)); /slow never answers within the timeout."""

    def __init__(self):
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/slow":
                    server.release.wait(10)  # far beyond the client's timeout; it has hung up by now
                    return
                if self.path == "/endless":  # claims nothing, streams forever
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.end_headers()
                    try:
                        while not server.release.is_set():
                            self.wfile.write(b"<rss>" * 20_000)
                    except OSError:
                        pass
                    return
                if self.path not in server.routes:
                    self.send_error(404)
                    return
                content_type, body = server.routes[self.path]
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture
def server():
    s = FeedServer()
    s.thread.start()
    try:
        yield s
    finally:
        s.release.set()
        s.httpd.shutdown()
        s.httpd.server_close()
        s.thread.join(5)


def test_feeds_over_http_are_read_once_per_entry_version(server):
    server.routes["/rss"] = ("application/rss+xml", (WIRE / "rss-city.xml").read_bytes())
    atom = (WIRE / "atom-science.xml").read_bytes()
    server.routes["/atom"] = ("application/atom+xml; charset=utf-8", atom)
    feeds = [server.url("/rss"), server.url("/atom")]
    inbox = Inbox()

    first = ingest(feeds, IngestConfig(fetch_timeout_s=TIMEOUT_S, fetch_allow_hosts=LOCAL), inbox=inbox)
    assert not first.rejects
    assert len(first.stories) == 4 and first.n_inputs == 2
    by_id = {s.source_id: s for s in first.stories}
    assert by_id["citydesk-2024-0142"].title == "Le caf\u00e9 de la gare rouvre"
    assert by_id["tag:science.example.com,2024:entry-881"].origin == feeds[1] + "#tag:science.example.com,2024:entry-881"
    assert {(r["kind"], r["location"], r["outcome"]) for r in first.inbox_rows} == {
        ("entry", feeds[0], "read"), ("entry", feeds[1], "read")}

    again = ingest(feeds, IngestConfig(fetch_timeout_s=TIMEOUT_S, fetch_allow_hosts=LOCAL), inbox=logged(inbox, first))
    assert again.stories == [] and again.n_seen == 4 and again.inbox_rows == []

    # the publisher corrects one Atom entry: only that entry is read again
    server.routes["/atom"] = ("application/atom+xml", atom.replace(
        b"<updated>2024-04-02T11:00:00Z</updated>", b"<updated>2024-04-03T09:00:00Z</updated>").replace(
        b"smaller bee colonies", b"smaller and weaker bee colonies"))
    update = ingest(feeds, IngestConfig(fetch_timeout_s=TIMEOUT_S, fetch_allow_hosts=LOCAL), inbox=inbox)
    (story,) = update.stories
    assert story.source_id == "tag:science.example.com,2024:entry-882" and "weaker" in story.body
    assert update.n_seen == 3


def test_slow_garbage_oversized_and_missing_feeds_are_rejects_and_the_run_goes_on(server):
    server.routes["/atom"] = ("application/atom+xml", (WIRE / "atom-science.xml").read_bytes())
    server.routes["/garbage"] = ("application/rss+xml", bytes(range(256)) * 10)
    server.routes["/notxml"] = ("text/plain", b"Service temporarily unavailable, try later")
    server.routes["/halfway"] = ("application/rss+xml", (WIRE / "rss-city.xml").read_bytes()[:700])
    server.routes["/big"] = ("application/rss+xml", b"<rss>" + b" " * 5000 + b"</rss>")
    urls = {name: server.url("/" + name) for name in ("slow", "garbage", "notxml", "halfway", "big", "endless", "gone", "atom")}

    config = IngestConfig(fetch_timeout_s=TIMEOUT_S, max_input_bytes=4000, fetch_allow_hosts=LOCAL)
    result = ingest(list(urls.values()), config, inbox=Inbox())

    reasons = {r.origin.rsplit("/", 1)[1]: r.reason for r in result.rejects}
    assert reasons["slow"] == f"fetch timed out after {TIMEOUT_S:g} s"
    assert reasons["garbage"] == "unrecognized content (application/rss+xml): not XML, HTML or JSON"
    assert reasons["notxml"].startswith("unrecognized content (text/plain)")
    assert reasons["halfway"].startswith("malformed XML")
    assert reasons["big"] == "response too large: 5011 bytes > limit 4000"
    assert reasons["endless"] == "response too large: more than 4000 bytes"
    assert reasons["gone"] == "HTTP 404 Not Found"
    assert len(reasons) == 7
    assert len(result.stories) == 2  # the good feed after them was still read
    assert all(r["location"] == urls["atom"] for r in result.inbox_rows)  # failed fetches are tried again next run
