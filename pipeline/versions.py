"""Versions of one story (same guid = ``source_id``): which is current, and the history of the rest.

A version is newer if it has a higher version number, else (numbers equal or absent) a later
update time; with nothing to tell them apart the later arrival wins. The current version of each
guid stays in ``articles``; every version it replaced is kept in ``article_versions``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from pipeline.records import Article, RawStory

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def version_label(story: RawStory | Article) -> str:
    """What names this version among others of its guid: the number, else the update time, else ''."""
    if story.version is not None:
        return str(story.version)
    if story.updated_at is not None:
        return story.updated_at.isoformat()
    return ""


def rank(article: Article) -> tuple:
    return (
        article.version if article.version is not None else -1,
        article.updated_at or article.published_at or EPOCH,
    )


@dataclass(slots=True)
class Superseded:
    """A version that is no longer current, and the one that replaced it."""

    article: Article
    superseded_by: str


def merge_versions(current: list[Article], fresh: list[Article]) -> tuple[list[Article], list[Superseded]]:
    """Fold `fresh` articles (in arrival order) into the `current` ones, one article per guid.

    Returns the new current articles (stored order kept, new guids appended) and the versions
    that stopped being current or arrived already outdated.
    """
    by_guid = {a.source_id: a for a in current}
    order = [a.source_id for a in current]
    superseded: list[Superseded] = []
    for article in fresh:
        held = by_guid.get(article.source_id)
        if held is None:
            by_guid[article.source_id] = article
            order.append(article.source_id)
        elif rank(article) >= rank(held):  # ties: the later arrival is the newer
            superseded.append(Superseded(held, article.article_id))
            by_guid[article.source_id] = article
        else:
            superseded.append(Superseded(article, held.article_id))
    # a version replaced within this batch points at the final current version
    final = {guid: a.article_id for guid, a in by_guid.items()}
    for s in superseded:
        s.superseded_by = final[s.article.source_id]
    return [by_guid[g] for g in order], superseded
