"""Safe fetching against real servers on 127.0.0.1: non-public addresses refused unless allowed,
redirects checked like the first request, one deadline for the whole fetch, the connection pinned
to the address that was checked (Host and TLS name kept)."""
from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.config import IngestConfig
from pipeline.ingest import ingest
from pipeline.ingest.readers.addresses import AllowList
from pipeline.ingest.readers.common import InputError
from pipeline.ingest.readers.http import fetch
from tests.conftest import WIRE  # noqa: E402

FEED = (WIRE / "rss-city.xml").read_bytes()
LOCAL = ["127.0.0.1"]


class Server:
    """An HTTP(S) server on 127.0.0.1 whose answers are functions of the request; it records each request."""

    def __init__(self, context: ssl.SSLContext | None = None):
        self.requests: list[tuple[str, str]] = []  # (path, Host header)
        self.stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Host", "")))
                answer = ROUTES.get(self.path)
                if answer is None:
                    self.send_error(404)
                    return
                try:
                    answer(self, server)
                except OSError:  # the client hung up (as it must, at its deadline)
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if context is not None:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


def send(handler, status: int, body: bytes = b"", **headers):
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def redirect(location_of):
    return lambda handler, server: send(handler, 302, Location=location_of(server))


def drip_body(handler, server):
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    for _ in range(100):  # a byte every 50 ms: each read is quick, the whole would take 5 s
        if server.stop.is_set():
            return
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.05)


def drip_headers(handler, server):
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(100):
        if server.stop.is_set():
            return
        handler.wfile.write(b"z")
        handler.wfile.flush()
        time.sleep(0.05)


ROUTES = {
    "/feed": lambda handler, server: send(handler, 200, FEED, Content_Type="application/rss+xml"),
    "/to-feed": lambda handler, server: send(handler, 301, Location="/feed"),
    "/to-ftp": redirect(lambda s: "ftp://example.com/feed.xml"),
    "/to-file": redirect(lambda s: "file:///etc/passwd"),
    "/to-metadata": redirect(lambda s: "http://169.254.169.254/latest/meta-data/"),
    "/to-other-loopback": redirect(lambda s: f"http://127.0.0.2:{s.port}/feed"),
    "/to-private": redirect(lambda s: "http://10.0.0.1/feed"),
    "/to-mapped-v6": redirect(lambda s: f"http://[::ffff:127.0.0.2]:{s.port}/feed"),
    "/loop": redirect(lambda s: "/loop"),
    "/to-big": redirect(lambda s: "/big"),
    "/big": lambda handler, server: send(handler, 200, b"<rss>" + b" " * 5000 + b"</rss>"),
    "/drip-body": drip_body,
    "/drip-headers": drip_headers,
}


def running(server: Server):
    server.thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.httpd.shutdown()
        server.httpd.server_close()
        server.thread.join(5)


@pytest.fixture
def server():
    yield from running(Server())


def reasons(result) -> dict[str, str]:
    return {r.origin: r.reason for r in result.rejects}


def test_addresses_that_are_not_public_are_refused_before_any_connection(server):
    kinds = {
        server.url("/feed"): "127.0.0.1 (loopback)",
        server.url("/feed", "localhost"): "(loopback) for host localhost",
        server.url("/feed", "2130706433"): "127.0.0.1 (loopback) for host 2130706433",  # the integer spelling
        server.url("/feed", "[::1]"): "::1 (loopback)",
        server.url("/feed", "[::ffff:127.0.0.1]"): "(loopback)",
        server.url("/feed", "0.0.0.0"): "0.0.0.0 (unspecified)",
        "http://169.254.169.254/latest/meta-data/": "169.254.169.254 (link-local)",
        "http://[fe80::1]/": "fe80::1 (link-local)",
        "http://10.1.2.3/feed": "10.1.2.3 (private)",
        "http://192.168.1.1/feed": "192.168.1.1 (private)",
        "http://172.16.0.1/feed": "172.16.0.1 (private)",
        "http://[fc00::1]/feed": "fc00::1 (private)",
        "http://100.64.0.1/feed": "100.64.0.1 (non-public)",
        "http://224.0.0.1/feed": "224.0.0.1 (multicast)",
        "http://[ff02::1]/feed": "ff02::1 (multicast)",
        "http://240.0.0.1/feed": "240.0.0.1 (reserved)",
    }
    result = ingest(list(kinds), IngestConfig(fetch_timeout_s=2.0))
    got = reasons(result)
    for url, kind in kinds.items():
        assert got[url].startswith("refused address") and kind in got[url], (url, got[url])
        assert got[url].endswith("not a public address (fetch_allow_hosts can allow it)")
    assert server.requests == [] and not result.stories


def test_the_allow_list_lets_a_newsroom_reach_its_own_hosts_by_address_network_or_name(server):
    for allow, host in ((["127.0.0.1"], "127.0.0.1"), (["127.0.0.0/8"], "127.0.0.1"), (["LOCALHOST."], "localhost")):
        result = ingest(server.url("/feed", host), IngestConfig(fetch_timeout_s=2.0, fetch_allow_hosts=allow))
        assert not result.rejects and len(result.stories) == 2, (allow, result.rejects)
    assert [h for _, h in server.requests] == [f"127.0.0.1:{server.port}"] * 2 + [f"localhost:{server.port}"]
    with pytest.raises(ValueError, match="not a host name, address or CIDR network"):
        AllowList.parse(["feeds.example.com", "10.0.0.0/33"])
    with pytest.raises(ValueError):
        IngestConfig(fetch_allow_hosts=["http://feeds.example.com/"])


def test_redirects_are_checked_like_the_first_request(server):
    paths = ["/to-ftp", "/to-file", "/to-metadata", "/to-other-loopback", "/to-private", "/to-mapped-v6", "/loop",
             "/to-big", "/to-feed"]
    result = ingest([server.url(p) for p in paths], IngestConfig(fetch_timeout_s=2.0, max_input_bytes=4000, fetch_allow_hosts=LOCAL))
    got = {origin.rsplit("/", 1)[1]: reason for origin, reason in reasons(result).items()}
    assert got == {
        "to-ftp": "redirect to 'ftp://example.com/feed.xml': only http and https URLs are fetched, not ftp:",
        "to-file": "redirect to 'file:///etc/passwd': only http and https URLs are fetched, not file:",
        "to-metadata": "redirect to 'http://169.254.169.254/latest/meta-data/': refused address 169.254.169.254 "
                       "(link-local): not a public address (fetch_allow_hosts can allow it)",
        "to-other-loopback": f"redirect to 'http://127.0.0.2:{server.port}/feed': refused address 127.0.0.2 (loopback): "
                             "not a public address (fetch_allow_hosts can allow it)",
        "to-private": "redirect to 'http://10.0.0.1/feed': refused address 10.0.0.1 (private): "
                      "not a public address (fetch_allow_hosts can allow it)",
        "to-mapped-v6": f"redirect to 'http://[::ffff:127.0.0.2]:{server.port}/feed': refused address ::ffff:127.0.0.2 "
                        "(loopback): not a public address (fetch_allow_hosts can allow it)",
        "loop": "more than 5 redirects",
        "to-big": "response too large: 5011 bytes > limit 4000",
    }
    assert len(result.stories) == 2  # the relative redirect to the feed was followed
    assert [p for p, _ in server.requests].count("/loop") == 6
    assert "/feed" in [p for p, _ in server.requests]


@pytest.mark.parametrize("path", ["/drip-body", "/drip-headers"])
def test_a_server_dripping_bytes_is_cut_at_one_deadline_for_the_whole_fetch(server, path):
    started = time.monotonic()
    result = ingest(server.url(path), IngestConfig(fetch_timeout_s=0.5, fetch_allow_hosts=LOCAL))
    seconds = time.monotonic() - started
    assert [r.reason for r in result.rejects] == ["fetch timed out after 0.5 s"]
    assert seconds < 1.2  # each read was quick; only a deadline over all of them stops this


def self_signed(name: str, folder: Path) -> tuple[Path, Path]:
    """A certificate for `name` (and a key), trusted by nothing but the test."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class FakeDNS:
    """DNS at the edge of the world: `feeds.test` answers `answers` in turn (the last one from then on)."""

    def __init__(self, answers: list[str]):
        self.answers, self.asked = answers, 0

    def answer(self) -> str:
        self.asked += 1
        return self.answers[min(self.asked, len(self.answers)) - 1]


@pytest.fixture
def dns(monkeypatch):
    real, fake = socket.getaddrinfo, FakeDNS(["127.0.0.1"])

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "feeds.test":
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (fake.answer(), port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return fake


def test_the_connection_goes_to_the_checked_address_with_the_host_name_kept(server, dns):
    dns.answers = ["127.0.0.1", "10.9.9.9"]  # rebinding: a second lookup would get a private address
    blob = fetch(server.url("/feed", "feeds.test"), 100_000, 2.0, ["127.0.0.0/8"])
    assert blob.data == FEED
    assert dns.asked == 1  # the connection did not resolve the name again
    assert server.requests == [("/feed", f"feeds.test:{server.port}")]
    with pytest.raises(InputError, match=r"refused address 10\.9\.9\.9 \(private\) for host feeds.test"):
        fetch(server.url("/feed", "feeds.test"), 100_000, 2.0, ["127.0.0.0/8"])


def test_https_checks_the_certificate_against_the_host_name_while_connecting_to_the_checked_address(
        tmp_path, dns, monkeypatch):
    cert, key = self_signed("feeds.test", tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    for tls in running(Server(context)):
        with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):  # not trusted yet
            fetch(tls.url("/feed", "feeds.test", "https"), 100_000, 2.0, ["feeds.test"])
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # now trusted, for the name feeds.test only
        blob = fetch(tls.url("/feed", "feeds.test", "https"), 100_000, 2.0, ["feeds.test"])
        assert blob.data == FEED
        with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED|match"):  # the same server by address: wrong name
            fetch(tls.url("/feed", "127.0.0.1", "https"), 100_000, 2.0, LOCAL)
        assert [h for _, h in tls.requests] == [f"feeds.test:{tls.port}"]
