"""The labelled development stories (ECB+ dev) as pipeline Articles, for the benchmarks."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
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
