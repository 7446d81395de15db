"""Versions of one story (same guid = ``source_id``): which is current, and the history of the rest.

A version is newer if it has a higher version number, else (numbers equal or absent) a later
update time; with nothing to tell them apart the later arrival wins. The current version of each
guid stays in ``articles``; every version it replaced is kept in ``article_versions``.

A withdrawal notice (IPTC pubstatus ``withheld`` or ``canceled``) takes its guid's story down:
the current version, and any version arriving later, unless that version is known to be newer
than the notice. A withheld story so comes back with a newer version; a notice is the latest
word otherwise.
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
    """A version that is no longer current, and the one that replaced it (None: a withdrawal took it down)."""

    article: Article
    superseded_by: str | None


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


@dataclass(slots=True)
class Withdrawal:
    """A notice that takes a story (guid `source_id`) down."""

    source_id: str
    pubstatus: str  # "withheld" or "canceled"
    version: int | None = None
    updated_at: datetime | None = None
    origin: str = ""
    taken_down: str | None = None  # article_id of the version it took down, if one was held
    event_id: str | None = None  # the event that version left

    @classmethod
    def from_story(cls, story: RawStory) -> Withdrawal:
        return cls(story.source_id, story.pubstatus, story.version, story.updated_at, story.origin)

    def key(self) -> tuple:
        return (self.source_id, self.pubstatus, self.version, self.updated_at)


def known_newer(a, b) -> bool:
    """Whether version `a` is known to be newer than `b`: by version number where both have one,
    else by update time where both have one."""
    if a.version is not None and b.version is not None:
        return a.version > b.version
    if a.updated_at is not None and b.updated_at is not None:
        return a.updated_at > b.updated_at
    return False


@dataclass(slots=True)
class Stamp:
    """What tells versions of a story apart."""

    version: int | None
    updated_at: datetime | None


def take_down(
    current: list[Article], notices: list[Withdrawal], earlier: list[Withdrawal], shelved: dict[str, Stamp],
) -> tuple[list[Article], list[Article], list[Withdrawal]]:
    """Take down the current articles that a notice (new, or `earlier` and so still in force) covers.

    Returns the articles still current, those taken down, and the new notices (repeats of
    earlier ones left out), each with the article it took down. A notice with neither a version
    number nor an update time stands for the version it took down (found among the current
    articles or in `shelved`, by article id), so a later, newer version of the story comes
    back; one that found nothing to take down holds for every version.
    """
    seen = {n.key() for n in earlier}
    fresh: list[Withdrawal] = []
    for notice in notices:
        if notice.key() not in seen:
            seen.add(notice.key())
            fresh.append(notice)
    held = {a.source_id: a for a in current}
    for notice in fresh:
        article = held.get(notice.source_id)
        if article is not None and not known_newer(article, notice):
            notice.taken_down = article.article_id
    stamps = {**shelved, **{a.article_id: Stamp(a.version, a.updated_at) for a in current}}
    in_force: dict[str, list] = {}
    for notice in [*earlier, *fresh]:
        unversioned = notice.version is None and notice.updated_at is None
        stands_for = stamps.get(notice.taken_down, notice) if unversioned else notice
        in_force.setdefault(notice.source_id, []).append(stands_for)
    kept, down = [], []
    for article in current:
        covered = any(not known_newer(article, n) for n in in_force.get(article.source_id, ()))
        (down if covered else kept).append(article)
    return kept, down, fresh
