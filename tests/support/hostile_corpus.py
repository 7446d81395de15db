"""A corpus of hostile inputs, each beside good stories, for the ingest tests.

Every case is one bad (or odd) record, entry or file, written into an inbox folder between good
stories: a record sits between a good line before and after it in the same file, an entry
between good entries of the same feed, and every case file is followed by a good neighbouring
file. Each case says what must become of it: stored (under which id) or rejected (with which
words in the reason, and which origin: the file, and its line or entry).

    python -m tests.support.hostile_corpus   # lists the cases by family
"""
from __future__ import annotations

import json
import os
import socket
import stat
from dataclasses import dataclass, field
from pathlib import Path

WORDS = ("harbour", "council", "budget", "bridge", "school", "museum", "storm", "election", "ferry", "library",
         "market", "stadium", "hospital", "tunnel", "orchard", "festival", "airport", "river", "factory", "court")


def text_for(n: int) -> str:
    """A short story text of its own for number `n` (distinct words, so no two fold as copies)."""
    a, b, c = WORDS[n % 20], WORDS[(n // 20 + 7) % 20], WORDS[(n * 7 + 3) % 20]
    return (f"The {a} committee met on day {n} to discuss the {b} plan. Residents asked about the {c} "
            f"and the cost of item {n * 37}. A decision on the {a} is expected next week, officials said.")


@dataclass
class Case:
    family: str
    name: str
    expect: str  # "stored" or "rejected"
    origin: str  # file name, with ":line", ":[i]" or "#entry" where the case is one record of a file
    reason: str = ""  # for a reject: words its reason must hold
    story_id: str = ""  # for a stored case: the id it is stored under


@dataclass
class Corpus:
    root: Path
    cases: list[Case] = field(default_factory=list)
    good_ids: list[str] = field(default_factory=list)
    outside: Path | None = None  # a secret file outside the inbox that must never be read
    n: int = 0

    def next_name(self, slug: str, ext: str) -> str:
        self.n += 1
        return f"{self.n:03d}a-{slug}" + (f".{ext}" if ext else "")

    def neighbour(self) -> None:
        """A good file right after the last case file (names sort next to each other)."""
        name = f"{self.n:03d}b-good"
        (self.root / f"{name}.txt").write_text(text_for(1000 + self.n))
        self.good_ids.append(name)

    def good_line(self, tag: str) -> str:
        sid = f"good-{self.n}-{tag}"
        self.good_ids.append(sid)
        return json.dumps({"id": sid, "body": text_for(2000 + 2 * self.n + (tag == "after"))})

    def record(self, family: str, slug: str, line: str, expect: str, reason: str = "", story_id: str = "") -> None:
        """`line` (one JSON value, as text) between two good records of a .jsonl file."""
        name = self.next_name(slug, "jsonl")
        (self.root / name).write_text("\n".join([self.good_line("before"), line, self.good_line("after")]) + "\n",
                                      encoding="utf-8", errors="surrogatepass")
        self.cases.append(Case(family, slug, expect, f"{name}:2", reason, story_id))
        self.neighbour()

    def file(self, family: str, slug: str, name_bytes: bytes | None, ext: str, data: bytes, expect: str,
             reason: str = "", story_id: str = "", origin_suffix: str = "", goods: tuple[str, ...] = ()) -> Path:
        """A whole case file (a name of raw bytes when given), then a good neighbour."""
        name = self.next_name(slug, ext)
        if name_bytes is not None:
            name = os.fsdecode(f"{self.n:03d}a-".encode() + name_bytes + (f".{ext}" if ext else "").encode())
        path = self.root / name
        path.write_bytes(data)
        self.cases.append(Case(family, slug, expect, name + origin_suffix, reason, story_id))
        self.good_ids.extend(goods)
        self.neighbour()
        return path

    def entry(self, family: str, slug: str, ext: str, document: str, case_origin: str, expect: str,
              reason: str = "", story_id: str = "", goods: tuple[str, ...] = ()) -> None:
        """A feed or message whose entry `case_origin` (after ``#``) is the case, between good entries."""
        name = self.next_name(slug, ext)
        (self.root / name).write_text(document, encoding="utf-8")
        self.cases.append(Case(family, slug, expect, f"{name}#{case_origin}", reason, story_id))
        self.good_ids.extend(goods)
        self.neighbour()

    def special(self, family: str, slug: str, make, expect: str, reason: str, story_id: str = "") -> None:
        """An entry made by `make(path)`: a FIFO, socket, device or symlink."""
        name = self.next_name(slug, "txt")
        make(self.root / name)
        self.cases.append(Case(family, slug, expect, name, reason, story_id))
        self.neighbour()


def record_cases(c: Corpus) -> None:
    def rec(family, slug, obj_or_text, expect, reason="", story_id=""):
        line = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text)
        c.record(family, slug, line, expect, reason, story_id)

    body = lambda: text_for(5000 + c.n)
    # lone surrogates: repaired to U+FFFD in text, refused in ids (written as JSON escapes)
    rec("unicode", "surrogate-in-body", '{"id": "sur-body", "body": "%s \\ud800 end"}' % body(), "stored", story_id="sur-body")
    rec("unicode", "surrogate-in-title", '{"id": "sur-title", "title": "T \\udc00", "body": "%s"}' % body(), "stored",
        story_id="sur-title")
    rec("unicode", "surrogate-in-byline-url", '{"id": "sur-by", "byline": "\\udfff", "url": "http://x/\\ud83d", '
        '"body": "%s"}' % body(), "stored", story_id="sur-by")
    rec("unicode", "surrogate-in-id", '{"id": "sur\\ud800id", "body": "%s"}' % body(), "rejected", "lone surrogate")
    rec("unicode", "low-surrogate-id", '{"id": "\\udce9", "body": "%s"}' % body(), "rejected", "lone surrogate")
    rec("unicode", "paired-surrogates-ok", '{"id": "emoji-\\ud83d\\ude00", "body": "%s \\ud83d\\ude00"}' % body(), "stored",
        story_id="emoji-\U0001F600")
    rec("unicode", "nul-in-body", {"id": "nul-body", "body": body() + " \x00 x"}, "stored", story_id="nul-body")
    rec("unicode", "nul-in-title", {"id": "nul-title", "title": "a\x00b", "body": body()}, "stored", story_id="nul-title")
    rec("unicode", "nul-in-id", {"id": "nul\x00id", "body": body()}, "rejected", "control characters")
    rec("unicode", "newline-in-id", {"id": "two\nlines", "body": body()}, "rejected", "control characters")
    rec("unicode", "bidi-and-c1-controls-in-title", {"id": "bidi", "title": "\u202eevil\u0085", "body": body()}, "stored",
        story_id="bidi")
    rec("unicode", "bom-inside-a-line", "\ufeff" + json.dumps({"id": "bom-line", "body": body()}), "rejected",
        "malformed JSON")
    # ids
    rec("ids", "empty-id", {"id": "", "body": body()}, "rejected", "missing 'id'")
    rec("ids", "whitespace-id", {"id": " \t ", "body": body()}, "rejected", "missing 'id'")
    rec("ids", "null-id", {"id": None, "body": body()}, "rejected", "missing 'id'")
    rec("ids", "float-id", {"id": 1.5, "body": body()}, "rejected", "must be a string or integer")
    rec("ids", "bool-id", {"id": True, "body": body()}, "rejected", "must be a string or integer")
    rec("ids", "list-id", {"id": ["a"], "body": body()}, "rejected", "must be a string or integer")
    rec("ids", "negative-int-id", {"id": -42, "body": body()}, "stored", story_id="-42")
    rec("ids", "5000-digit-id", '{"id": %s, "body": "x"}' % ("7" * 5000), "rejected", "malformed JSON")
    rec("ids", "100k-char-id", {"id": "k" * 100_000, "body": body()}, "stored", story_id="k" * 100_000)
    # numbers
    rec("numbers", "version-2^63", {"id": "v63", "body": body(), "version": 2**63}, "rejected", "below 2^63")
    rec("numbers", "version-2^63-1", {"id": "vmax", "body": body(), "version": 2**63 - 1}, "stored", story_id="vmax")
    rec("numbers", "version-string-2^64", {"id": "v64", "body": body(), "version": str(2**64)}, "rejected", "below 2^63")
    rec("numbers", "version-negative", {"id": "vneg", "body": body(), "version": -1}, "rejected", "non-negative")
    rec("numbers", "version-float", {"id": "vf", "body": body(), "version": 1.5}, "rejected", "non-negative integer")
    rec("numbers", "version-bool", {"id": "vb", "body": body(), "version": True}, "rejected", "non-negative integer")
    rec("numbers", "version-superscript-digit", {"id": "vsup", "body": body(), "version": "\u00b2"}, "rejected",
        "non-negative integer")
    rec("numbers", "version-5000-digits", {"id": "v5k", "body": body(), "version": "9" * 5000}, "rejected",
        "non-negative integer")
    rec("numbers", "version-nan", '{"id": "vnan", "body": "x", "version": NaN}', "rejected", "non-negative integer")
    rec("numbers", "version-infinity", '{"id": "vinf", "body": "x", "version": -Infinity}', "rejected",
        "non-negative integer")
    # times
    rec("times", "year-1-with-offset", {"id": "t1", "body": body(), "published_at": "0001-01-01T00:00:00+05:00"},
        "rejected", "out of range")
    rec("times", "year-9999-negative-offset", {"id": "t2", "body": body(), "updated_at": "9999-12-31T23:00:00-05:00"},
        "rejected", "out of range")
    rec("times", "year-1500", {"id": "t3", "body": body(), "published_at": "1500-06-01"}, "rejected", "out of range")
    rec("times", "february-30", {"id": "t4", "body": body(), "published_at": "2024-02-30T10:00:00Z"}, "rejected",
        "not an ISO-8601 time")
    rec("times", "epoch-number", {"id": "t5", "body": body(), "published_at": 1700000000}, "rejected",
        "must be an ISO-8601 string")
    rec("times", "embargo-words", {"id": "t6", "body": body(), "embargoed": "tomorrow noon"}, "rejected",
        "not an ISO-8601 time")
    rec("times", "offset-24h", {"id": "t7", "body": body(), "published_at": "2024-01-01T00:00:00+24:00"}, "rejected",
        "not an ISO-8601 time")
    rec("times", "year-2261-ok", {"id": "t8", "body": body(), "published_at": "2261-12-31T00:00:00Z"}, "stored",
        story_id="t8")
    # wrong types and shapes
    rec("types", "body-list", {"id": "b1", "body": ["a", "b"]}, "rejected", "'body' must be a string")
    rec("types", "body-number", {"id": "b2", "body": 12}, "rejected", "'body' must be a string")
    rec("types", "body-empty", {"id": "b3", "body": "   "}, "rejected", "missing or empty 'body'")
    rec("types", "title-object", {"id": "b4", "body": body(), "title": {"x": 1}}, "rejected", "'title' must be a string")
    rec("types", "pubstatus-unknown", {"id": "b5", "body": body(), "pubstatus": "deleted"}, "rejected",
        "usable, withheld or canceled")
    rec("types", "pubstatus-number", {"id": "b6", "body": body(), "pubstatus": 3}, "rejected", "must be a string")
    rec("types", "record-is-array", [1, 2, 3], "rejected", "expected an object")
    rec("types", "record-is-string", '"just words"', "rejected", "expected an object")
    rec("types", "record-is-null", "null", "rejected", "expected an object")
    rec("types", "object-of-wrong-shape", {"data": {"items": []}}, "rejected", "wrong shape")
    # malformed JSON
    rec("json", "truncated-line", '{"id": "cut", "body": "half a st', "rejected", "malformed JSON")
    rec("json", "trailing-garbage", '{"id": "tg", "body": "x"} trailing', "rejected", "malformed JSON")
    rec("json", "deep-array-50k", "[" * 50_000 + "]" * 50_000, "rejected", "nested too deeply")
    rec("json", "deep-object-50k", '{"a":' * 50_000 + "1" + "}" * 50_000, "rejected", "nested too deeply")
    rec("json", "deep-inside-a-story", '{"id": "deep-extra", "body": "x", "extra": ' + "[" * 50_000 + "]" * 50_000 + "}",
        "rejected", "nested too deeply")
    # ninjs
    rec("ninjs", "uri-surrogate", '{"uri": "urn:x:\\ud800", "body_text": "%s"}' % body(), "rejected", "lone surrogate")
    rec("ninjs", "uri-whitespace", {"uri": "   ", "body_text": body()}, "rejected", "'uri' must be a non-empty string")
    rec("ninjs", "headlines-not-array", {"uri": "urn:n:1", "headlines": "H", "body_text": body()}, "rejected",
        "must be an array")
    rec("ninjs", "bodies-value-number", {"uri": "urn:n:2", "bodies": [{"value": 5}]}, "rejected", "must be an array")
    rec("ninjs", "version-2^64", {"uri": "urn:n:3", "body_text": body(), "version": str(2**64)}, "rejected", "below 2^63")
    rec("ninjs", "versioncreated-year-0", {"uri": "urn:n:4", "body_text": body(), "versioncreated": "0000-01-01T00:00:00Z"},
        "rejected", "not an ISO-8601 time")
    # the HTML parser drops what is nested past its depth limit: nothing is left of this body
    rec("ninjs", "body-html-deep", {"uri": "urn:n:5", "body_html": "<div>" * 20_000 + "deep text" + "</div>" * 20_000},
        "rejected", "has no body")


def rss(items: list[str]) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>'
            + "".join(items) + "</channel></rss>")


def rss_item(guid: str, body: str, extra: str = "") -> str:
    return f"<item><guid>{guid}</guid><title>About {guid}</title><description>{body}</description>{extra}</item>"


def atom(entries: list[str]) -> str:
    return '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>' + "".join(entries) + "</feed>"


def atom_entry(eid: str, body: str, extra: str = "") -> str:
    return f"<entry><id>{eid}</id><title>About {eid}</title><content>{body}</content>{extra}</entry>"


NEWSML = "http://iptc.org/std/nar/2006-10-01/"


def news_item(guid: str, body: str, version: str = "1", extra_meta: str = "", content: str | None = None) -> str:
    content = content if content is not None else f"<inlineData>{body}</inlineData>"
    return (f'<newsItem guid="{guid}" version="{version}"><itemMeta><itemClass qcode="ninat:text"/>{extra_meta}</itemMeta>'
            f"<contentMeta><headline>About {guid}</headline></contentMeta><contentSet>{content}</contentSet></newsItem>")


def news_message(items: list[str]) -> str:
    return f'<?xml version="1.0" encoding="utf-8"?><newsMessage xmlns="{NEWSML}"><itemSet>' + "".join(items) + "</itemSet></newsMessage>"


def entry_cases(c: Corpus) -> None:
    def between(make_doc, make_item, family, slug, ext, case_item, case_origin, expect, reason="", story_id=""):
        n = c.n + 1
        goods = (f"good-{n}-e1", f"good-{n}-e2")
        doc = make_doc([make_item(goods[0], text_for(3000 + 2 * n)), case_item, make_item(goods[1], text_for(3001 + 2 * n))])
        c.entry(family, slug, ext, doc, case_origin, expect, reason, story_id, goods)

    deep = "<x>" * 50_000 + "</x>" * 50_000
    between(rss, rss_item, "xml", "rss-item-nested-50k", "xml", rss_item("deep-rss", "x", deep), "deep-rss",
            "rejected", "nested too deeply")
    between(rss, rss_item, "xml", "rss-pubdate-year-9999-negative-offset", "xml",
            rss_item("rss-y9999", text_for(4001), "<pubDate>Fri, 31 Dec 9999 23:00:00 -0500</pubDate>"), "rss-y9999",
            "rejected", "out of range")
    between(rss, rss_item, "xml", "rss-pubdate-garbage", "xml",
            rss_item("rss-bad-date", text_for(4002), "<pubDate>the day after</pubDate>"), "rss-bad-date",
            "rejected", "not an RFC 822 or ISO-8601 time")
    between(rss, rss_item, "xml", "rss-item-without-guid", "xml",
            "<item><title>none</title><description>x</description></item>", "none", "rejected", "neither guid nor link")
    between(rss, rss_item, "xml", "rss-html-char-ref-surrogate", "xml",
            rss_item("rss-amp-sur", text_for(4003) + " &amp;#xD800;"), "rss-amp-sur", "stored", story_id="rss-amp-sur")
    between(atom, atom_entry, "xml", "atom-updated-9999-offset", "atom",
            atom_entry("atom-9999", text_for(4004), "<updated>9999-12-31T23:59:59-01:00</updated>"), "atom-9999",
            "rejected", "out of range")
    between(atom, atom_entry, "xml", "atom-entry-nested-50k", "atom",
            atom_entry("atom-deep", "x", "<x:a xmlns:x='urn:x'>" * 10 + deep + "</x:a>" * 10), "atom-deep",
            "rejected", "nested too deeply")
    between(news_message, news_item, "xml", "newsml-version-2^64", "xml",
            news_item("nml-v64", text_for(4005), version=str(2**64)), "nml-v64", "rejected", "below 2^63")
    between(news_message, news_item, "xml", "newsml-version-negative", "xml",
            news_item("nml-vneg", text_for(4006), version="-3"), "nml-vneg", "rejected", "non-negative")
    between(news_message, news_item, "xml", "newsml-first-created-year-1", "xml",
            news_item("nml-y1", text_for(4007), extra_meta="<firstCreated>0001-01-01T00:00:00+05:00</firstCreated>"),
            "nml-y1", "rejected", "out of range")
    between(news_message, news_item, "xml", "newsml-body-nested-50k", "xml",
            news_item("nml-deep", "", content="<inlineXML><html><body>" + "<div>" * 50_000 + "t" + "</div>" * 50_000
                      + "</body></html></inlineXML>"), "nml-deep", "rejected", "nested too deeply")
    between(news_message, news_item, "xml", "newsml-whitespace-guid", "xml",
            news_item("   ", text_for(4008)), "   ", "rejected", "no guid")


def file_cases(c: Corpus) -> None:
    story = text_for(6000).encode()
    n = lambda: c.n + 1
    # names that are not UTF-8: read, and named with backslash escapes in ids, origins and the log
    c.file("names", "latin1-file-name-txt", b"caf\xe9", "txt", story, "stored", story_id=f"{n():03d}a-caf\\xe9")
    k = n()
    c.file("names", "latin1-file-name-jsonl", b"d\xe9p\xeache", "jsonl",
           (json.dumps({"id": f"name-{k}", "body": text_for(6001)}) + "\n").encode(), "stored", story_id=f"name-{k}")
    c.file("names", "control-char-in-file-name", b"tab\there", "txt", story + b" tab", "rejected", "control characters")
    # encodings and BOMs
    k = n()
    c.file("encoding", "utf16-with-bom-jsonl", None, "jsonl",
           (json.dumps({"id": f"u16-{k}", "body": text_for(6002)}) + "\n").encode("utf-16"), "stored", story_id=f"u16-{k}")
    k = n()
    c.file("encoding", "utf8-bom-json", None, "json",
           b"\xef\xbb\xbf" + json.dumps({"id": f"bom-{k}", "body": text_for(6003)}).encode(), "stored", story_id=f"bom-{k}")
    c.file("encoding", "double-bom-json", None, "json",
           b"\xef\xbb\xbf\xef\xbb\xbf" + json.dumps({"id": "bom2", "body": "x"}).encode(), "rejected", "malformed JSON")
    k = n()
    c.file("encoding", "mixed-utf8-and-latin1-lines", None, "jsonl",
           (json.dumps({"id": f"mix-a-{k}", "body": text_for(6004) + " caf\u00e9"}, ensure_ascii=False).encode() + b"\n"
            + json.dumps({"id": f"mix-b-{k}", "body": text_for(6005)}).encode()[:-2] + b" caf\xe9\"}\n"),
           "stored", story_id=f"mix-b-{k}", goods=(f"mix-a-{k}",))
    c.file("encoding", "declared-wrong-charset-html", None, "html",
           b'<html><head><meta charset="utf-8"></head><body><p>caf\xe9 ' + story + b"</p></body></html>", "rejected",
           "not valid utf-8")
    c.file("encoding", "utf8-cut-mid-character", None, "txt", story + " \u00e9".encode()[:-1], "stored",
           story_id=f"{n():03d}a-utf8-cut-mid-character")
    # whole files that are not what they claim
    c.file("files", "empty", None, "txt", b"", "rejected", "empty file")
    c.file("files", "only-whitespace", None, "jsonl", b" \n\t\n  ", "rejected", "empty file")
    c.file("files", "nul-bytes", None, "txt", b"abc\x00\x00\x00def" * 10, "rejected", "binary file")
    c.file("files", "random-bytes-as-xml", None, "xml", bytes(range(256)) * 4, "rejected", "binary file")
    c.file("files", "truncated-rss", None, "xml", rss([rss_item("tr1", "one"), rss_item("tr2", "two")]).encode()[:150],
           "rejected", "malformed XML")
    c.file("files", "json-array-one-deep-element", None, "json",
           ("[" + json.dumps({"id": "ja", "body": "x"}) + "," + "[" * 50_000 + "]" * 50_000 + "]").encode(),
           "rejected", "nested too deeply")
    c.file("files", "xml-char-ref-to-surrogate", None, "xml",
           rss([rss_item("xs", "bad &#xD800; ref")]).encode(), "rejected", "malformed XML")
    c.file("files", "html-nested-50k", None, "html",  # the parser drops text nested past its depth limit
           b"<html><body>" + b"<div>" * 50_000 + story + b"</div>" * 50_000 + b"</body></html>", "rejected",
           "no article text found")
    c.file("files", "unsupported-extension", None, "docx", b"PK\x03\x04", "rejected", "unsupported file type")
    c.file("files", "no-extension", None, "", story, "rejected", "unsupported file type")
    c.file("files", "svg-as-xml", None, "xml", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "rejected",
           "unsupported XML document")
    c.file("files", "json-scalar", None, "json", b"42", "rejected", "JSON document is a int")
    k = n()
    c.file("files", "json-array-bad-record-beside-good", None, "json",
           json.dumps([{"id": f"arr-ok-{k}", "body": text_for(6006)}, {"id": "arr-bad", "body": "x", "version": -5},
                       {"id": f"arr-ok2-{k}", "body": text_for(6007)}]).encode(), "rejected", "non-negative",
           origin_suffix=":[1]", goods=(f"arr-ok-{k}", f"arr-ok2-{k}"))


def special_cases(c: Corpus, outside: Path) -> None:
    c.special("special", "fifo", os.mkfifo, "rejected", "FIFO")

    def make_socket(path):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(path))
        sock.close()

    c.special("special", "socket", make_socket, "rejected", "socket")
    if os.geteuid() == 0:  # only root may make a device node
        c.special("special", "character-device", lambda p: os.mknod(p, stat.S_IFCHR | 0o600, os.makedev(1, 3)),
                  "rejected", "character device")
    c.special("symlinks", "passwd-outside", lambda p: p.symlink_to("/etc/passwd"), "rejected", "outside the inbox")
    c.special("symlinks", "secret-outside", lambda p: p.symlink_to(outside), "rejected", "outside the inbox")
    c.special("symlinks", "relative-escape", lambda p: p.symlink_to(Path("..") / outside.parent.name / outside.name),
              "rejected", "outside the inbox")
    c.special("symlinks", "to-dev-null", lambda p: p.symlink_to("/dev/null"), "rejected", "outside the inbox")
    c.special("symlinks", "loop", lambda p: p.symlink_to(p.name), "rejected", "symlink loop")
    c.special("symlinks", "dangling", lambda p: p.symlink_to("no-such-file.txt"), "rejected", "dangling symlink")
    c.special("symlinks", "to-folder-outside", lambda p: p.symlink_to(outside.parent), "rejected", "outside the inbox")
    c.special("symlinks", "to-folder-inside", lambda p: p.symlink_to(c.root / ".inside"), "rejected",
              "symlink to a directory")
    c.special("symlinks", "to-fifo-inside", lambda p: p.symlink_to(c.root / ".inside" / "pipe"), "rejected",
              "symlink to a FIFO")
    linked = f"{c.n + 1:03d}a-inside-link"
    c.special("symlinks", "inside-link", lambda p: p.symlink_to(c.root / ".inside" / "target.txt"), "stored", "",
              story_id=linked)


def build(root: Path) -> Corpus:
    """Write the corpus into `root` (the inbox) and a secret file beside it, outside."""
    outside_dir = root.parent / "outside"
    outside_dir.mkdir(exist_ok=True)
    secret = outside_dir / "secret.txt"
    secret.write_text("TOP-SECRET: the outside file must never become a story.")
    root.mkdir()
    hidden = root / ".inside"  # hidden: not listed, but inside the inbox, so a symlink may lead here
    hidden.mkdir()
    (hidden / "target.txt").write_text(text_for(7000))
    os.mkfifo(hidden / "pipe")
    c = Corpus(root, outside=secret)
    (root / "000-good.txt").write_text(text_for(999))
    c.good_ids.append("000-good")
    record_cases(c)
    entry_cases(c)
    file_cases(c)
    special_cases(c, secret)
    return c


if __name__ == "__main__":
    import tempfile
    from collections import Counter

    with tempfile.TemporaryDirectory() as tmp:
        corpus = build(Path(tmp) / "inbox")
        by_family = Counter(case.family for case in corpus.cases)
        print(f"{len(corpus.cases)} cases, {len(corpus.good_ids)} good neighbours")
        for family, count in by_family.items():
            print(f"  {family}: {count}")
