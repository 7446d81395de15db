"""Report: what one run changed, for an operator (Prefect artifacts) rather than for readers of the store.

Compares the event each stored article had before the run with the one it has after:
an event is *created* when its id is new, *updated* when its members changed, *merged*
when it absorbed the members of an event id that no longer exists, and *withdrawn* when
withdrawal notices took every story of it down.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

CHANGES = ("created", "updated", "merged", "withdrawn")


@dataclass(slots=True)
class RunReport:
    markdown: str
    events_touched: list[dict]  # one row per created/updated/merged event, JSON-friendly
    counts: dict[str, int]


def event_changes(before: dict[str, str], after: dict[str, str]) -> dict[str, tuple[str, list[str]]]:
    """event_id -> (change, absorbed event ids) for every event the run touched.

    `before` and `after` map article_id -> event_id; articles new in this run are only in `after`.
    """
    members_after: dict[str, set[str]] = {}
    for article, event in after.items():
        members_after.setdefault(event, set()).add(article)
    members_before: dict[str, set[str]] = {}
    for article, event in before.items():
        members_before.setdefault(event, set()).add(article)

    absorbed: dict[str, list[str]] = {}
    changes_without_heir: list[str] = []
    for old_event, old_members in members_before.items():
        if old_event in members_after:
            continue
        # the vanished event went to wherever most of its stories are now
        heir = Counter(after[a] for a in old_members if a in after).most_common(1)
        if heir:
            absorbed.setdefault(heir[0][0], []).append(old_event)
        else:  # none of its stories is left: all were taken down
            changes_without_heir.append(old_event)

    changes: dict[str, tuple[str, list[str]]] = {}
    for event, members in members_after.items():
        if event in absorbed:
            changes[event] = ("merged", sorted(absorbed[event]))
        elif event not in members_before:
            changes[event] = ("created", [])
        elif members != members_before[event]:
            changes[event] = ("updated", [])
    changes.update((event, ("withdrawn", [])) for event in changes_without_heir)
    return changes


def _rows_of_run(table: pa.Table, run_id: str) -> list[dict]:
    return table.filter(pc.equal(table["run_id"], run_id)).to_pylist()


def run_report(tables: dict[str, pa.Table], run_id: str, event_before: dict[str, str]) -> RunReport:
    """Markdown summary and the table of touched events for run `run_id` of `tables` (job.output_tables)."""
    (run,) = _rows_of_run(tables["runs"], run_id)
    articles = tables["articles"].select(["article_id", "event_id"]).to_pylist()
    event_after = {a["article_id"]: a["event_id"] for a in articles}
    new_ids = set(event_after) - set(event_before)
    edges = [e for e in tables["duplicates"].to_pylist() if e["article_id"] in new_ids or e["duplicate_of"] in new_ids]
    rejects = _rows_of_run(tables["rejects"], run_id)

    changes = event_changes(event_before, event_after)
    touched = []
    for event in tables["events"].to_pylist():
        if event["event_id"] not in changes:
            continue
        change, absorbed = changes[event["event_id"]]
        touched.append({
            "event_id": event["event_id"],
            "change": change,
            "headline": event["headline"],
            "size": event["size"],
            "n_sources": event["n_sources"],
            "first_seen": event["first_seen"].isoformat() if event["first_seen"] else "",
            "last_seen": event["last_seen"].isoformat() if event["last_seen"] else "",
            "absorbed": ", ".join(absorbed),
        })
    n_change = Counter(row["change"] for row in touched)
    counts = {
        "stories_in": run["n_stories_read"],
        "new_articles": run["n_new_articles"],
        "already_stored": run["n_already_stored"],
        "taken_down": run["n_withdrawn"] or 0,
        "duplicates_found": len(edges),
        "exact_duplicates": sum(e["method"] == "exact" for e in edges),
        "rejects": len(rejects),
        "events_total": run["n_events"],
        "stories_moved": sum(event_after.get(a, e) != e for a, e in event_before.items()),
        **{f"events_{c}": n_change.get(c, 0) for c in CHANGES},
    }
    return RunReport(markdown_summary(run_id, counts, rejects, touched), touched, counts)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_summary(run_id: str, counts: dict[str, int], rejects: list[dict], touched: list[dict]) -> str:
    lines = [
        f"# storyflow run `{run_id}`",
        "",
        "| | |",
        "|---|---|",
        f"| stories in | {counts['stories_in']} ({counts['new_articles']} new, {counts['already_stored']} already stored) |",
        f"| stories taken down by withdrawal notices | {counts['taken_down']} |",
        f"| duplicates found | {counts['duplicates_found']} ({counts['exact_duplicates']} exact) |",
        f"| events created | {counts['events_created']} |",
        f"| events updated | {counts['events_updated']} |",
        f"| events merged | {counts['events_merged']} |",
        f"| events withdrawn | {counts['events_withdrawn']} |",
        f"| stories moved to another event | {counts['stories_moved']} |",
        f"| events in store | {counts['events_total']} |",
        f"| rejects | {counts['rejects']} |",
    ]
    if rejects:
        lines += ["", "## Rejects", "", "| input | reason |", "|---|---|"]
        lines += [f"| `{_cell(r['origin'])}` | {_cell(r['reason'])} |" for r in rejects]
    if touched:
        lines += ["", "## Events touched", "", "| event | change | stories | headline |", "|---|---|---|---|"]
        lines += [f"| `{r['event_id']}` | {r['change']} | {r['size']} | {_cell(r['headline'][:100])} |" for r in touched[:50]]
        if len(touched) > 50:
            lines.append(f"\n…and {len(touched) - 50} more in the events table artifact.")
    return "\n".join(lines) + "\n"
def counted(n: int, one: str, many: str | None = None) -> str:
    """`n` with its noun: "1 story", "3 stories"."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def summary_text(tables: dict[str, pa.Table], run_id: str) -> str:
    """A short report of one run for a terminal or a Prefect artifact."""
    run = tables["runs"].filter(pa.compute.equal(tables["runs"]["run_id"], run_id)).to_pylist()[0]
    # the largest first: the twenty listed are the ones an editor would look at
    events = sorted((e for e in tables["events"].to_pylist() if e["status"] == "active"),
                    key=lambda e: (-e["size"], e["event_id"]))
    lines = [
        f"run {run_id}",
        f"  stories read: {run['n_stories_read']}   new: {run['n_new_articles']}   "
        f"already stored: {run['n_already_stored']}   earlier versions replaced: {run['n_superseded'] or 0}   "
        f"taken down: {run['n_withdrawn'] or 0}   "
        f"rejected: {run['n_rejects']}",
        f"  duplicates: {run['n_exact_duplicates']} exact, {run['n_near_duplicates']} near   "
        f"articles stored: {run['n_articles_total']}   events: {run['n_events']}   "
        f"storylines: {tables['storylines'].num_rows}",
    ]
    for r in events[:20]:
        lines.append(f"  [{r['event_id']}] {counted(r['size'], 'story', 'stories')}, "
                     f"{counted(r['n_sources'], 'source') if r['n_sources'] else 'source unknown'}: "
                     f"{r['headline'][:90]}")
    rejects = tables["rejects"].filter(pa.compute.equal(tables["rejects"]["run_id"], run_id)).to_pylist()
    for r in rejects:
        lines.append(f"  reject {r['origin']}: {r['reason']}")
    return "\n".join(lines)
