"""End to end: the real Prefect flow on the seeds, Parquet read back as a reader would."""
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
    return pq.read_table(data / name).to_pylist()


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
                                              "representative_article_id"}
    (run,) = table(data, "runs")
    assert run["n_new_articles"] == 5 and run["n_rejects"] == 0
    assert "new: 5" in summary


def test_seed_events(seeded_store):
    data, _ = seeded_store
    event_of = {a["source_id"][:3]: a["event_id"] for a in table(data, "articles")}
    assert event_of["000"] == event_of["001"] == event_of["002"]
    assert len({event_of["000"], event_of["003"], event_of["004"]}) == 3
    sizes = sorted(e["size"] for e in table(data, "events"))
    assert sizes == [1, 1, 3]
    headline = {e["event_id"]: e["headline"] for e in table(data, "events")}[event_of["004"]]
    assert headline.startswith("Attorney General Sessions Slams Chicago")


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


def test_cli_runs_the_flow_and_prints_a_summary(tmp_path):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", str(SEEDS), "--data", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "events: 3" in out.stdout
    assert pq.read_table(tmp_path / "d" / "articles").num_rows == 5


def test_a_damaged_copy_in_a_later_run_folds_under_the_stored_original(seeded_store, tmp_path):
    import json
    import random

    from flows.ingest import ingest_flow
    from pipeline import synth

    data = tmp_path / "data"
    shutil.copytree(seeded_store[0], data)
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
    assert pq.read_table(data / "_minhash_index").num_rows >= 2  # the index was committed with the run
