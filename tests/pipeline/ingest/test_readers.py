"""Every wire format read from samples written for these tests, and hostile inputs refused safely."""
import json
import shutil
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pipeline.config import IngestConfig
from pipeline.ingest import ingest
from tests.conftest import WIRE
from tests.support.wire import BILLION_LAUGHS


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def wire():
    result = ingest(WIRE)
    assert not result.rejects
    return {s.source_id: s for s in result.stories}


def test_ninjs_1(wire):
    s = wire["urn:newsml:example.org:20240305:harbour-bridge"]
    assert (s.title, s.byline, s.source, s.language, s.version) == (
        "Harbour bridge closes for emergency repairs", "By Maria Lindqvist", "Example Wire Service", "en", 1)
    assert s.published_at == utc(2024, 3, 5, 8, 12) and s.updated_at == utc(2024, 3, 5, 9, 30)
    assert s.embargoed == utc(2024, 3, 5, 10)
    assert s.body.split("\n")[0].startswith("GOTHENBURG (EWS) \u2014 The city's harbour bridge")  # HTML body to text
    assert len(s.body.split("\n")) == 2 and "<p>" not in s.body


def test_ninjs_2(wire):
    s = wire["http://wire.example.net/items/2024/election-turnout"]
    assert s.title == "Regional election turnout highest in two decades"  # the 'main' headline, not the first
    assert (s.byline, s.source, s.language, s.version) == ("Tom Okafor", "Example News Agency", "en-GB", 3)
    assert s.url == "http://wire.example.net/items/2024/election-turnout"
    assert s.updated_at == utc(2024, 6, 9, 21, 45)
    assert s.body.startswith("Turnout in Sunday's regional election reached 71 percent")


def test_newsml_g2_news_item(wire):
    s = wire["urn:newsml:wire.example.com:20240114:storm-coast"]
    assert s.version == 2 and s.language == "en"
    assert (s.title, s.byline, s.source) == (
        "Winter storm cuts power to 40,000 homes on the coast", "By Daniel Reyes", "Coastal Wire")
    assert s.published_at == utc(2024, 1, 14, 11, 40) and s.updated_at == utc(2024, 1, 14, 12, 5)
    assert s.embargoed == utc(2024, 1, 14, 13)
    assert s.url == "https://wire.example.com/stories/storm-coast"
    assert s.body.split("\n") == [
        "A winter storm brought down power lines along the coast overnight, leaving about 40,000 homes without electricity.",
        "The utility said crews would work through the day and that most customers should be reconnected by evening.",
    ]


def test_rss_in_its_declared_latin1_encoding(wire):
    cafe = wire["citydesk-2024-0142"]
    assert cafe.title == "Le caf\u00e9 de la gare rouvre"
    assert cafe.body.startswith("Apr\u00e8s six mois de travaux, le caf\u00e9 de la gare")
    assert (cafe.source, cafe.language, cafe.byline) == ("City Desk", "fr-FR", "Claire Dubois")
    assert cafe.published_at == utc(2024, 3, 5, 8, 30)
    lanes = wire["https://citydesk.example.org/2024/cycle-lanes"]
    assert lanes.body.startswith("The city council voted")  # content:encoded wins over the teaser
    assert lanes.url == "https://citydesk.example.org/2024/cycle-lanes"


def test_atom(wire):
    s = wire["tag:science.example.com,2024:entry-881"]
    assert (s.title, s.byline, s.language, s.source) == (
        "Telescope spots water vapour on distant planet", "Priya Nair", "en", "Science Briefs")
    assert s.url == "https://science.example.com/2024/water-vapour"
    assert s.published_at == utc(2024, 4, 1, 8) and s.updated_at == utc(2024, 4, 2, 8, 15)
    assert s.body.endswith("further observations next year.")
    bees = wire["tag:science.example.com,2024:entry-882"]
    assert bees.title == "Bees & pesticides: new study" and bees.body.startswith("A field study")


def test_html_article_page_main_text(wire):
    s = wire["https://courier.example.de/kultur/museum-painting"]
    assert (s.title, s.byline, s.source, s.language) == (
        "Museum returns stolen painting", "Lena Hoffmann", "Rhine Courier", "de")
    assert s.published_at == utc(2024, 2, 20, 13) and s.updated_at == utc(2024, 2, 21, 8)
    assert s.body.startswith("A painting stolen from the city museum")
    assert "Most read" not in s.body and "Kultur" not in s.body and "All rights reserved" not in s.body


def test_all_times_are_utc(wire):
    for s in wire.values():
        for t in (s.published_at, s.updated_at):
            assert t is None or t.utcoffset().total_seconds() == 0


def test_ninjs_lines_in_jsonl_and_arrays_in_json(tmp_path):
    item = json.loads((WIRE / "ninjs2-election.json").read_text())
    (tmp_path / "batch.jsonl").write_text(json.dumps(item) + "\n" + json.dumps({"id": "p1", "body": "Plain."}) + "\n")
    (tmp_path / "array.json").write_text(json.dumps([dict(item, uri="urn:x:2"), {"uri": "urn:x:3", "type": "picture", "headline": "h"}]))
    result = ingest(tmp_path)
    assert sorted(s.source_id for s in result.stories) == ["http://wire.example.net/items/2024/election-turnout", "p1", "urn:x:2"]
    (reject,) = result.rejects
    assert reject.origin.endswith("array.json:[1]") and "type 'picture'" in reject.reason



def test_withdrawal_notices_are_read_without_a_body_and_a_bad_status_is_a_reject(tmp_path):
    item = json.loads((WIRE / "ninjs2-election.json").read_text())
    kill = {k: v for k, v in item.items() if k not in ("bodies", "headlines")} | {"pubstatus": "canceled", "version": "4"}
    newsml = (WIRE / "newsml-g2-storm.xml").read_text().replace("stat:usable", "stat:withheld")
    (tmp_path / "kill.json").write_text(json.dumps(kill))
    (tmp_path / "storm.xml").write_text(newsml)
    (tmp_path / "records.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"id": "p1", "pubstatus": "Cancelled"},  # no body needed, British spelling taken
        {"id": "p2", "body": "Still here.", "pubstatus": "usable", "embargoed": "2024-05-01T06:00:00Z"},
        {"id": "p3", "pubstatus": "deleted"},
        {"id": "p4"},  # a story, not a notice: its body is missing
    ]))
    result = ingest(tmp_path)
    status = {s.source_id: (s.pubstatus, s.version) for s in result.stories}
    assert status == {item["uri"]: ("canceled", 4), "urn:newsml:wire.example.com:20240114:storm-coast": ("withheld", 2),
                      "p1": ("canceled", None), "p2": ("usable", None)}
    assert next(s for s in result.stories if s.source_id == "p2").embargoed == utc(2024, 5, 1, 6)
    reasons = sorted((r.origin.rsplit(":", 1)[-1], r.reason) for r in result.rejects)
    assert reasons == [("3", "pubstatus must be usable, withheld or canceled, got 'deleted'"),
                       ("4", "missing or empty 'body'")]




def test_hostile_inputs_are_refused_with_reasons_in_bounded_memory(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-PASSWORD")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "laughs.xml").write_text(BILLION_LAUGHS)
    (inbox / "xxe.xml").write_text(
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<rss version="2.0"><channel><title>t</title><item><guid>g</guid><description>&x;</description></item></channel></rss>')
    with open(inbox / "huge.xml", "wb") as fh:  # 200 MB, sparse: costs no disk
        fh.truncate(200 * 1024 * 1024)
    shutil.copy(WIRE / "newsml-g2-storm.xml", inbox / "truncated.xml")
    data = (inbox / "truncated.xml").read_bytes()
    (inbox / "truncated.xml").write_bytes(data[: len(data) // 2])
    (inbox / "shape.json").write_text(json.dumps({"data": {"items": [1, 2, 3]}}))
    (inbox / "numbers.json").write_text("[1, 2]")
    (inbox / "scalar.json").write_text('"just a string"')
    (inbox / "other.xml").write_text('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>')
    (inbox / "latin1.txt").write_bytes(
        "Le maire a d\xe9clar\xe9 que la r\xe9novation du th\xe9\xe2tre co\xfbtera deux millions d'euros.".encode("latin-1"))

    tracemalloc.start()
    result = ingest(inbox, IngestConfig(max_input_bytes=20_000_000))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    reasons = {Path(r.origin.split(":[")[0]).name + (r.origin[r.origin.find(":["):] if ":[" in r.origin else ""): r.reason
               for r in result.rejects}
    assert reasons["laughs.xml"].startswith("unsafe XML refused") and "lol" in reasons["laughs.xml"]
    assert reasons["xxe.xml"].startswith("unsafe XML refused")
    assert reasons["huge.xml"] == f"file too large: {200 * 1024 * 1024} bytes > limit 20000000"
    assert reasons["truncated.xml"].startswith("malformed XML")
    assert reasons["shape.json"].startswith("JSON object of the wrong shape")
    assert reasons["numbers.json:[0]"] == "record is a JSON int, expected an object"
    assert reasons["scalar.json"].startswith("JSON document is a str")
    assert reasons["other.xml"] == "unsupported XML document: root element <svg>"
    assert "latin1.txt" not in reasons
    (story,) = result.stories
    assert story.body == "Le maire a d\xe9clar\xe9 que la r\xe9novation du th\xe9\xe2tre co\xfbtera deux millions d'euros."
    assert all("TOP-SECRET" not in r.reason for r in result.rejects)
    assert peak < 30 * 1024 * 1024  # the 200 MB file was never read into memory


def test_an_encoding_the_document_declares_wrongly_is_a_reject(tmp_path):
    page = b'<html><head><meta charset="utf-8"></head><body><p>caf\xe9</p></body></html>'
    (tmp_path / "bad.html").write_bytes(page)
    (tmp_path / "unknown.html").write_bytes(b'<html><head><meta charset="klingon-8"></head><body><p>x</p></body></html>')
    reasons = {Path(r.origin).name: r.reason for r in ingest(tmp_path).rejects}
    bad_byte = page.index(0xE9)
    assert reasons == {"bad.html": f"not valid utf-8 at byte {bad_byte}", "unknown.html": "unknown declared encoding 'klingon-8'"}
