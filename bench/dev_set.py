"""The labelled development stories (ECB+ dev) as pipeline Articles, for the benchmarks."""
from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from pipeline.ingest.normalize import content_hash, make_article_id, normalize_story
from pipeline.records import Article, RawStory

DEV_SET = Path(os.environ.get("STORYFLOW_DEV_SET", Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ecbplus-dev.jsonl"))
if not DEV_SET.exists():
    DEV_SET = Path("/work/shared/data/ecbplus-dev.jsonl")
INGESTED = datetime(2024, 1, 1, tzinfo=timezone.utc)
# The event settings before local scaling, the same-run baseline of bench.events, bench.speed and bench.stability
PREVIOUS_EVENT_DEFAULTS = {"events": {"scaling_weight": 0.0}, "storylines": {"distance": 0.55}}


def load(path: Path = DEV_SET) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def articles(rows: list[dict], detokenize: bool = True) -> list[Article]:
    """Articles from dev rows: normalized as the pipeline does, or with the text as given
    (Penn-Treebank tokens kept, only whitespace collapsed)."""
    out = []
    for r in rows:
        story = RawStory(source_id=r["id"], body=r["body"], title=r.get("title") or "", source=r.get("source") or "",
                         url=r.get("url") or "")
        if detokenize:
            out.append(normalize_story(story, INGESTED))
            continue
        text = "\n".join(" ".join(line.split()) for line in story.body.splitlines() if line.strip())
        out.append(Article(make_article_id(story.source_id, content_hash(text)), story.source_id, story.title, text,
                           story.body, story.source, story.url, None, INGESTED, content_hash(text)))
    return out


def dated_archive(folder: Path, records: list[dict], first: date, n_days: int, n_files: int) -> Path:
    """`records` written to `n_files` JSON-lines files in `folder`, record i published on day i mod
    `n_days` after `first` and put in file i mod `n_files` (so every file holds several days):
    an archive for backfills (the dev set itself is undated)."""
    folder.mkdir(parents=True, exist_ok=True)
    files: list[list[dict]] = [[] for _ in range(n_files)]
    for i, record in enumerate(records):
        day = first + timedelta(days=i % n_days)
        files[i % n_files].append({**record, "published_at": f"{day.isoformat()}T09:30:00Z"})
    for n, rows in enumerate(files):
        (folder / f"wire-{n}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder
