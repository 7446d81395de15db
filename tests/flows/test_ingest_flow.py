"""End to end: the real Prefect flow on the seeds, Parquet read back as a reader would."""
import re
import shutil

import pyarrow.parquet as pq
import pytest

from tests.conftest import SEEDS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory, prefect_harness):
    from flows.ingest import ingest_flow

    data = tmp_path_factory.mktemp("data")
    summary = ingest_flow(inputs=str(SEEDS), data_dir=str(data))
    return data, summary


def table(data, name):
    return pq.read_table(data / "current" / f"{name}.parquet").to_pylist()


def test_output_contract(seeded_store):
    data, summary = seeded_store
    articles = table(data, "articles")
    assert len(articles) == 5
    required = {"article_id", "source_id", "title", "text", "source", "url", "published_at", "ingested_at",
                "content_hash", "dup_group_id", "is_canonical", "event_id"}
    assert required <= set(articles[0])
    assert all(a["event_id"] and a["is_canonical"] for a in articles)
    assert table(data, "duplicates") == []
    assert set(table(data, "events")[0]) >= {"event_id", "headline", "size", "n_sources", "first_seen", "last_seen",
                                              "representative_article_id", "storyline_id", "keywords", "sources",
                                              "status", "merged_into"}
    (run,) = table(data, "runs")
    assert run["n_new_articles"] == 5 and run["n_rejects"] == 0
    assert summary.splitlines()[0].endswith(": 5 new stories, 3 events created")
    assert run["kind"] == "ingest" and run["n_events_created"] == 3 and run["n_inputs_seen"] == 0
    assert run["flow_run_id"]  # run by Prefect (the test harness: no lasting UI, so no link)
    # this run's events listed largest first, counted in words an editor reads; seed 002 names
    # no source (nor URL), so the first event has one named source, CNN, as its `sources` say
    listed = [re.match(r"    created +(e_\w+)  (.+?): (.+)$", line) for line in summary.splitlines()]
    listed = [m.groups() for m in listed if m]
    assert [size for _, size, _ in listed] == ["3 stories, 1 source", "1 story, 1 source", "1 story, 1 source"]
    headline = {e["event_id"]: e["headline"] for e in table(data, "events")}
    assert all(headline[event] == text for event, _, text in listed)  # in full


def test_seed_events(seeded_store):
    data, _ = seeded_store
    event_of = {a["source_id"][:3]: a["event_id"] for a in table(data, "articles")}
    assert event_of["000"] == event_of["001"] == event_of["002"]
    assert len({event_of["000"], event_of["003"], event_of["004"]}) == 3
    sizes = sorted(e["size"] for e in table(data, "events"))
    assert sizes == [1, 1, 3]
    headline = {e["event_id"]: e["headline"] for e in table(data, "events")}[event_of["004"]]
    assert headline.startswith("Attorney General Sessions Slams Chicago")


def test_seed_storyline_and_labels(seeded_store):
    data, _ = seeded_store
    events = table(data, "events")
    (storyline,) = table(data, "storylines")
    assert {a["storyline_id"] for a in table(data, "articles")} == {e["storyline_id"] for e in events} \
        == {storyline["storyline_id"]}
    assert storyline["n_events"] == 3 and storyline["size"] == 5 and storyline["keywords"]
    assert all(e["status"] == "active" and e["merged_into"] is None and e["keywords"] for e in events)
    biggest = max(events, key=lambda e: e["size"])
    assert biggest["sources"] == ["CNN"] and biggest["first_seen"] <= biggest["last_seen"]
    assert list((data / "_cache" / "embeddings").glob("*.parquet"))  # hidden from readers of data/


def test_rerun_is_idempotent_and_bad_input_is_recorded(seeded_store, tmp_path):
    from flows.ingest import ingest_flow

    data, _ = seeded_store
    before = {a["article_id"]: a["event_id"] for a in table(data, "articles")}
    inbox = tmp_path / "inbox"
    shutil.copytree(SEEDS, inbox)
    (inbox / "empty.txt").write_text("")
    (inbox / "broken.jsonl").write_text('{"id": "x", "body": \n')
    ingest_flow(inputs=str(inbox), data_dir=str(data))

    after = {a["article_id"]: a["event_id"] for a in table(data, "articles")}
    assert after == before  # nothing added, no event id changed
    runs = table(data, "runs")
    assert [r["n_new_articles"] for r in runs] == [5, 0]
    assert runs[-1]["n_already_stored"] == 5
    reasons = {r["origin"].split("/")[-1]: r["reason"] for r in table(data, "rejects")}
    assert reasons == {"empty.txt": "empty file", "broken.jsonl:1": reasons["broken.jsonl:1"]}
    assert reasons["broken.jsonl:1"].startswith("malformed JSON")


def test_recluster_flow_keeps_event_ids(seeded_store):
    from flows.recluster import recluster_flow

    data, _ = seeded_store
    before = {a["article_id"]: a["event_id"] for a in table(data, "articles")}
    summary = recluster_flow(start="2017-01-01", end=None, data_dir=str(data))
    assert {a["article_id"]: a["event_id"] for a in table(data, "articles")} == before
    assert summary.splitlines()[0].endswith(": no change: every story stayed in its event")
    run = table(data, "runs")[-1]
    assert run["inputs"].startswith("recluster 2017-01-01") and run["kind"] == "recluster"
    assert run["n_stories_moved"] == 0 and run["n_events_split"] == 0


def test_recluster_flow_over_the_last_days_leaves_older_stories_alone(seeded_store, tmp_path):
    from flows.recluster import recluster_flow

    data = tmp_path / "data"
    shutil.copytree(seeded_store[0], data, symlinks=True)
    before = {a["article_id"]: a["event_id"] for a in table(data, "articles")}
    # a distance nothing is within would split every event, but the seeds (2017) are older than a week
    summary = recluster_flow(last_days=7, data_dir=str(data), overrides={"events__distance": 0.05})
    assert {a["article_id"]: a["event_id"] for a in table(data, "articles")} == before
    assert "no change: every story stayed in its event" in summary
    with pytest.raises(ValueError, match="not both"):
        recluster_flow(start="2017-01-01", last_days=7, data_dir=str(data))


def test_cli_runs_the_flow_and_prints_a_summary(tmp_path):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", str(SEEDS), "--data", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Store after the run: 5 stories, 3 events, 1 storyline" in out.stdout
    assert pq.read_table(tmp_path / "d" / "current" / "articles.parquet").num_rows == 5


def test_inbox_and_versions_across_two_runs(prefect_harness, tmp_path):
    """Run 1 reads an inbox of wire formats; run 2 finds one new file with a corrected version
    of a story and one with an outdated version of another: the correction replaces its story,
    the outdated one only goes to history, and nothing already read is read again."""
    import hashlib
    import json
    from pathlib import Path

    from flows.ingest import ingest_flow

    wire = Path(__file__).resolve().parent.parent / "fixtures" / "wire"
    inbox, data = tmp_path / "inbox", tmp_path / "data"
    shutil.copytree(wire, inbox)
    (inbox / "notes.bin").write_bytes(b"\x00\x01\x02")

    def fingerprint():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in inbox.iterdir()}

    ingest_flow(inputs=str(inbox), data_dir=str(data))
    first = {a["source_id"]: a for a in table(data, "articles")}
    assert len(first) == 8
    election = "http://wire.example.net/items/2024/election-turnout"
    storm = "urn:newsml:wire.example.com:20240114:storm-coast"
    assert first[storm]["embargoed"].isoformat() == "2024-01-14T13:00:00+00:00" and first[election]["embargoed"] is None

    item = json.loads((wire / "ninjs2-election.json").read_text())
    item.update(version="4", versioncreated="2024-06-10T08:00:00Z")
    item["bodies"][0]["value"] = item["bodies"][0]["value"].replace("71 percent", "72 percent")
    (inbox / "election-v4.json").write_text(json.dumps(item))
    outdated = (wire / "newsml-g2-storm.xml").read_text().replace('version="2"', 'version="1"').replace(
        "40,000 homes", "30,000 homes")
    (inbox / "storm-v1.xml").write_text(outdated)
    before = fingerprint()
    ingest_flow(inputs=str(inbox), data_dir=str(data))
    assert fingerprint() == before  # input files are never changed or deleted

    current = {a["source_id"]: a for a in table(data, "articles")}
    assert set(current) == set(first)  # one row per story
    assert current[election]["version"] == 4 and "72 percent" in current[election]["text"]
    assert current[election]["event_id"] == first[election]["event_id"]  # the event keeps its id
    assert current[storm] == first[storm]  # an outdated version does not replace the newer one
    history = {(v["source_id"], v["version"]): v for v in table(data, "article_versions")}
    assert set(history) == {(election, 3), (storm, 1)}
    assert history[(election, 3)]["superseded_by"] == current[election]["article_id"]
    assert history[(storm, 1)]["superseded_by"] == current[storm]["article_id"]
    assert table(data, "duplicates") == []  # the new version is no duplicate of its old self

    runs = table(data, "runs")
    assert [r["n_stories_read"] for r in runs] == [8, 2]  # only the two new files were read
    assert [r["n_superseded"] for r in runs] == [0, 2]
    log = table(data, "inbox_log")
    assert sorted(Path(r["location"]).name for r in log if r["run_id"] == runs[1]["run_id"]) == ["election-v4.json", "storm-v1.xml"]
    assert {Path(r["location"]).name: r["outcome"] for r in log}["notes.bin"] == "rejected"
    assert [Path(r["origin"]).name for r in table(data, "rejects")] == ["notes.bin"]  # rejected once, not every run
def test_a_damaged_copy_in_a_later_run_folds_under_the_stored_original(seeded_store, tmp_path):
    import json
    import random

    from flows.ingest import ingest_flow
    from tests.support import synth

    data = tmp_path / "data"
    shutil.copytree(seeded_store[0], data, symlinks=True)
    original = (SEEDS / "004_5e2273e794b96277.txt").read_text()
    copy = synth.damage(original, "garble", "medium", random.Random(4))
    inbox = tmp_path / "later.jsonl"
    inbox.write_text(json.dumps({"id": "copy-of-004", "body": copy, "published_at": "2017-08-17"}) + "\n")
    ingest_flow(inputs=str(inbox), data_dir=str(data))

    articles = {a["source_id"]: a for a in table(data, "articles")}
    (edge,) = table(data, "duplicates")
    assert edge["article_id"] == articles["copy-of-004"]["article_id"]
    assert edge["duplicate_of"] == articles["004_5e2273e794b96277"]["article_id"] and edge["rule"]
    assert articles["copy-of-004"]["dup_group_id"] == articles["004_5e2273e794b96277"]["article_id"]
    assert pq.read_table(data / "current" / "_minhash_index.parquet").num_rows >= 2  # the index was committed with the run


def test_withdrawal_notices_take_stories_down_and_stay_in_force(seeded_store, tmp_path):
    """A kill notice for a story with a copy elsewhere: the copy takes over its group and event.
    A notice for the copy too: the event, left with no story, stays as a withdrawn row. The
    stories taken down go to history; a resent notice or story changes nothing; a newer
    version of the withheld copy comes back into the same event."""
    import json
    import random

    from flows.ingest import ingest_flow
    from tests.support import synth

    data = tmp_path / "data"
    shutil.copytree(seeded_store[0], data, symlinks=True)
    original_id = "004_5e2273e794b96277"
    original = (SEEDS / f"{original_id}.txt").read_text()
    copy = synth.damage(original, "garble", "light", random.Random(4))

    def send(name, *records):
        path = tmp_path / name
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        ingest_flow(inputs=str(path), data_dir=str(data))

    send("copy.jsonl", {"id": "copy-of-004", "body": copy, "published_at": "2017-08-17", "version": 1})
    before = {a["source_id"]: a for a in table(data, "articles")}
    assert before["copy-of-004"]["dup_group_id"] == before[original_id]["article_id"]
    event_id = before[original_id]["event_id"]

    send("kill-004.jsonl", {"id": original_id, "pubstatus": "canceled"})
    after = {a["source_id"]: a for a in table(data, "articles")}
    assert set(after) == set(before) - {original_id}
    heir = after["copy-of-004"]
    assert heir["is_canonical"] and heir["dup_group_id"] == heir["article_id"] and heir["event_id"] == event_id
    assert all(e["article_id"] != heir["article_id"] for e in table(data, "duplicates"))
    (shelved,) = [v for v in table(data, "article_versions") if v["source_id"] == original_id]
    assert shelved["article_id"] == before[original_id]["article_id"] and shelved["superseded_by"] is None
    (notice,) = table(data, "withdrawals")
    assert (notice["source_id"], notice["pubstatus"], notice["taken_down"]) == (original_id, "canceled", shelved["article_id"])
    assert table(data, "runs")[-1]["n_withdrawn"] == 1
    assert {e["event_id"]: e["status"] for e in table(data, "events")}[event_id] == "active"

    send("kill-copy.jsonl", {"id": "copy-of-004", "pubstatus": "withheld"})
    events = {e["event_id"]: e for e in table(data, "events")}
    assert (events[event_id]["status"], events[event_id]["size"]) == ("withdrawn", 0)
    assert all(e["event_id"] != event_id for e in table(data, "events") if e["status"] == "active")
    assert event_id not in {a["event_id"] for a in table(data, "articles")}
    assert sum(s["size"] for s in table(data, "storylines")) == len(table(data, "articles"))

    snapshot = {name: table(data, name) for name in ("articles", "events", "withdrawals", "article_versions")}
    send("again.jsonl", {"id": original_id, "pubstatus": "canceled"}, {"id": original_id, "body": original})
    assert {name: table(data, name) for name in snapshot} == snapshot
    last = table(data, "runs")[-1]
    assert (last["n_withdrawn"], last["n_already_stored"], last["n_new_articles"]) == (0, 1, 0)

    send("copy-v2.jsonl", {"id": "copy-of-004", "body": copy + "\nUpdated.", "published_at": "2017-08-17", "version": 2})
    back = {a["source_id"]: a for a in table(data, "articles")}["copy-of-004"]
    assert back["version"] == 2 and back["event_id"] == event_id
    assert {e["event_id"]: e["status"] for e in table(data, "events")}[event_id] == "active"
