"""Hostile inputs (tests/support/hostile_corpus.py), each beside good stories: every case is stored
or rejected with its reason and origin, every good neighbour is read, nothing hangs, and whatever
the readers let through goes through the whole pipeline into Parquet and back, run after run."""
from __future__ import annotations

import time

import pytest

from pipeline.config import IngestConfig, Settings
from pipeline.ingest import ingest
from pipeline.ingest.readers.safety import printable
from pipeline.run import ingest_run
from pipeline.store import Store
from pipeline.store.state import load_state
from tests.support.hostile_corpus import build

DEADLINE_S = 5.0


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build(tmp_path_factory.mktemp("hostile") / "inbox")


@pytest.fixture(scope="module")
def read(corpus):
    started = time.monotonic()
    result = ingest(corpus.root, IngestConfig(input_deadline_s=DEADLINE_S))
    return result, time.monotonic() - started


def rejects_of(case, result) -> list:
    where = "/" + printable(case.origin)
    return [r for r in result.rejects if r.origin.endswith(where)]


def why_not_held(case, result) -> str:
    """'' if the case ended as it must, else what happened instead."""
    rejects = rejects_of(case, result)
    if case.expect == "stored":
        if not any(s.source_id == case.story_id for s in result.stories):
            return f"not stored; rejects: {[r.reason for r in rejects]}"
        return f"stored but also rejected: {[r.reason for r in rejects]}" if rejects else ""
    if len(rejects) != 1:
        return f"{len(rejects)} rejects for {case.origin!r}"
    return "" if case.reason in rejects[0].reason else f"reason {rejects[0].reason!r} lacks {case.reason!r}"


def test_every_hostile_case_is_stored_or_rejected_by_name_and_every_good_neighbour_is_read(corpus, read):
    result, seconds = read
    failures = [f"{c.family}/{c.name}: {why}" for c in corpus.cases if (why := why_not_held(c, result))]
    assert not failures, "\n".join(failures)
    ids = {s.source_id for s in result.stories}
    assert not set(corpus.good_ids) - ids
    # nothing else was rejected, and each reject names where and why
    assert len(result.rejects) == sum(c.expect == "rejected" for c in corpus.cases)
    assert all(r.reason and r.origin.startswith(str(corpus.root)) for r in result.rejects)
    for text in [r.origin for r in result.rejects] + [r.reason for r in result.rejects] + [row["location"] for row in result.inbox_rows]:
        text.encode("utf-8")  # valid Unicode, writable as Parquet strings
    assert not any("TOP-SECRET" in s.body or "root:" in s.body for s in result.stories)
    assert not any("TOP-SECRET" in r.reason for r in result.rejects)
    assert seconds < DEADLINE_S * 2  # nothing hung (the FIFO was never opened)
    by_id = {s.source_id: s for s in result.stories}
    assert "\ud800" not in by_id["sur-body"].body and "\ufffd" in by_id["sur-body"].body  # repaired, kept
    assert by_id["sur-title"].title == "T \ufffd"


def run_once(result, settings: Settings) -> None:
    """One run of the run sequence over what the readers returned, committed to the store."""
    with Store(settings.data_dir).writer() as writer:
        run = ingest_run(load_state(writer.base), result, settings)
        writer.commit(run.tables)


def table(data_dir, name):
    return Store(data_dir).current().read(name)


@pytest.mark.slow  # the real model embeds what the readers let through
def test_what_the_readers_pass_is_stored_in_parquet_and_the_next_run_is_not_blocked(corpus, read, tmp_path):
    result, _ = read
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir)
    run_once(result, settings)

    tables = {name: table(data_dir, name).to_pylist() for name in ("articles", "rejects", "inbox_log", "events")}
    assert {r["source_id"] for r in tables["articles"]} == {s.source_id for s in result.stories}
    assert sorted(r["origin"] for r in tables["rejects"]) == sorted(r.origin for r in result.rejects)
    assert len(tables["inbox_log"]) == len(result.inbox_rows)
    text = {r["source_id"]: r["original_text"] for r in tables["articles"]}
    assert "\ufffd" in text["sur-body"] and "\x00" in text["nul-body"]
    assert {r["source_id"]: r["version"] for r in tables["articles"]}["vmax"] == 2**63 - 1

    # the next run over the same inbox: what was logged is skipped, the refusals are reported again
    state = load_state(Store(data_dir).current())
    again = ingest(corpus.root, IngestConfig(input_deadline_s=DEADLINE_S), inbox=state.inbox)
    assert again.stories == [] and again.inbox_rows == []
    assert again.n_seen == len(result.inbox_rows)
    assert {r.origin for r in again.rejects} <= {r.origin for r in result.rejects}
    run_once(again, settings)
    assert table(data_dir, "articles").num_rows == len(tables["articles"])
    assert table(data_dir, "runs").num_rows == 2
