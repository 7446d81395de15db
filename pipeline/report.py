"""Report: what one run changed, for an operator (Prefect artifacts, the command line) rather than for readers
of the store.

Compares the event each stored article had before the run with the one it has after:
an event is *created* when its id is new, *updated* when its members changed, *split* when
some of its stories went to other events (a re-cluster), *merged* when it absorbed the
members of an event id that no longer exists, and *withdrawn* when withdrawal notices took
every story of it down. Figures of this run are kept apart from the store's totals after it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

CHANGES = ("created", "updated", "split", "merged", "withdrawn")

# per-run figures the report adds to the run's row of the runs table (column -> counts key)
RUN_COLUMNS = {
    "n_new_copies": "duplicates_found",
    "n_events_created": "events_created",
    "n_events_updated": "events_updated",
    "n_events_split": "events_split",
    "n_events_merged": "events_merged",
    "n_events_withdrawn": "events_withdrawn",
    "n_stories_moved": "stories_moved",
}


@dataclass(slots=True)
class RunReport:
    markdown: str
    events_touched: list[dict]  # one row per created/updated/split/merged/withdrawn event, JSON-friendly
    counts: dict[str, int]
    stories_moved: list[dict] = field(default_factory=list)  # one row per story that changed event
    kind: str = "ingest"
    rejects: list[dict] = field(default_factory=list)  # this run's: origin, reason


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
        elif any(a in after and after[a] != event for a in members_before[event]):
            changes[event] = ("split", [])
        elif members != members_before[event]:
            changes[event] = ("updated", [])
    changes.update((event, ("withdrawn", [])) for event in changes_without_heir)
    return changes


def _rows_of_run(table: pa.Table, run_id: str) -> list[dict]:
    return table.filter(pc.equal(table["run_id"], run_id)).to_pylist()


def story_title(row: dict, words: int = 16) -> str:
    """A story's title, or the start of its text where it has none (whole words)."""
    if (row.get("title") or "").strip():
        return " ".join(row["title"].split())
    text = (row.get("text") or "").split()
    return " ".join(text[:words]) + (" …" if len(text) > words else "")


def _moves_between(event_before: dict[str, str], event_after: dict[str, str]) -> dict[str, Counter]:
    """event -> Counter of the events its stories went to (only stories that changed event)."""
    went: dict[str, Counter] = {}
    for article, old in event_before.items():
        new = event_after.get(article)
        if new is not None and new != old:
            went.setdefault(old, Counter())[new] += 1
    return went


def _detail(change: str, event: str, absorbed: list[str], went: dict[str, Counter], came: dict[str, Counter]) -> str:
    """In words, where the stories of a touched event came from or went to."""
    parts = []
    if absorbed:
        parts.append("absorbed " + ", ".join(absorbed))
    if event in went:
        parts.append("gave " + ", ".join(f"{n} to {e}" for e, n in sorted(went[event].items())))
    if event in came and change != "merged":
        parts.append("took " + ", ".join(f"{n} from {e}" for e, n in sorted(came[event].items())))
    return "; ".join(parts)


def run_report(tables: dict[str, pa.Table], run_id: str, event_before: dict[str, str]) -> RunReport:
    """Markdown summary, touched events and moved stories for run `run_id` of `tables` (`output_tables`)."""
    (run,) = _rows_of_run(tables["runs"], run_id)
    articles = tables["articles"].select(["article_id", "event_id"]).to_pylist()
    event_after = {a["article_id"]: a["event_id"] for a in articles}
    new_ids = set(event_after) - set(event_before)
    edges = [e for e in tables["duplicates"].to_pylist() if e["article_id"] in new_ids or e["duplicate_of"] in new_ids]
    rejects = _rows_of_run(tables["rejects"], run_id)
    events = {e["event_id"]: e for e in tables["events"].to_pylist()}

    changes = event_changes(event_before, event_after)
    went = _moves_between(event_before, event_after)
    came: dict[str, Counter] = {}
    for old, targets in went.items():
        for new, n in targets.items():
            came.setdefault(new, Counter())[old] += n
    size_before = Counter(event_before.values())
    touched = []
    for event_id, event in events.items():  # the events table's order: largest active events first
        if event_id not in changes:
            continue
        change, absorbed = changes[event_id]
        touched.append({
            "event_id": event_id,
            "change": change,
            "headline": event["headline"],
            "size": event["size"],
            "size_before": size_before.get(event_id, 0),
            "n_sources": event["n_sources"],
            "first_seen": event["first_seen"].isoformat() if event["first_seen"] else "",
            "last_seen": event["last_seen"].isoformat() if event["last_seen"] else "",
            "absorbed": ", ".join(absorbed),
            "detail": _detail(change, event_id, absorbed, went, came),
        })
    moved_ids = [a["article_id"] for a in articles if a["article_id"] in event_before and event_before[a["article_id"]] != a["event_id"]]
    texts = tables["articles"].filter(pc.is_in(tables["articles"]["article_id"], pa.array(moved_ids, pa.string())))
    story = {a["article_id"]: story_title(a) for a in texts.select(["article_id", "title", "text"]).to_pylist()}
    moved = [
        {"article_id": a, "story": story[a],
         "from_event": event_before[a], "from_headline": events.get(event_before[a], {}).get("headline", ""),
         "to_event": event_after[a], "to_headline": events.get(event_after[a], {}).get("headline", "")}
        for a in moved_ids
    ]
    n_change = Counter(row["change"] for row in touched)
    counts = {
        "stories_in": run["n_stories_read"],
        "new_articles": run["n_new_articles"],
        "already_stored": run["n_already_stored"],
        "superseded": run["n_superseded"] or 0,
        "taken_down": run["n_withdrawn"] or 0,
        "inputs_read": run["n_input_files"] or 0,
        "inputs_seen": run["n_inputs_seen"] or 0,
        "outside_window": run["n_outside_window"] or 0,
        "duplicates_found": len(edges),
        "exact_duplicates": sum(e["method"] == "exact" for e in edges),
        "rejects": len(rejects),
        "events_total": run["n_events"],
        "articles_total": run["n_articles_total"],
        "storylines_total": tables["storylines"].num_rows if "storylines" in tables else 0,
        "stories_moved": len(moved),
        **{f"events_{c}": n_change.get(c, 0) for c in CHANGES},
    }
    kind = run["kind"] or "ingest"
    return RunReport(markdown_summary(run_id, counts, rejects, touched, moved, kind, run), touched, counts, moved, kind,
                     [{"origin": r["origin"], "reason": r["reason"]} for r in rejects])


def with_run_figures(runs: pa.Table, run_id: str, counts: dict[str, int]) -> pa.Table:
    """`runs` with the per-run figures of `counts` (`RunReport.counts`) written into run `run_id`'s row."""
    mine = pc.equal(runs["run_id"], run_id)
    (row,) = runs.filter(mine).to_pylist()
    row.update({column: counts[key] for column, key in RUN_COLUMNS.items()})
    return pa.concat_tables([runs.filter(pc.invert(mine)), pa.Table.from_pylist([row], schema=runs.schema)])


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)]


def outcome(counts: dict[str, int]) -> str:
    """One line on what the run amounted to, for the top of a report."""
    if counts["stories_in"] == 0 and counts["rejects"] == 0:
        if counts["inputs_seen"]:
            return f"nothing new: {counted(counts['inputs_seen'], 'input')} already ingested"
        return "nothing to read: no story files or feed entries in the inputs"
    if counts["stories_in"] == 0:
        return f"nothing stored: every input was rejected ({counted(counts['rejects'], 'reject')})"
    parts = [f"{counted(counts['new_articles'], 'new story', 'new stories')}"]
    if counts["outside_window"]:
        parts.append(f"{counts['outside_window']} outside the dates")
    parts.append(f"{counted(counts['events_created'], 'event')} created")
    if counts["rejects"]:
        parts.append(f"{counted(counts['rejects'], 'reject')}")
    return ", ".join(parts)


MARKDOWN_ROWS = 100  # rows of a markdown table; the table artifacts hold every row


def markdown_summary(run_id: str, counts: dict[str, int], rejects: list[dict], touched: list[dict],
                     moved: list[dict] = (), kind: str = "ingest", run: dict | None = None) -> str:
    recluster = kind == "recluster"
    this_run = [
        ["events created", counts["events_created"]],
        ["events updated", counts["events_updated"]],
        ["events split", counts["events_split"]],
        ["events merged", counts["events_merged"]],
        ["events withdrawn", counts["events_withdrawn"]],
        ["stories moved to another event", counts["stories_moved"]],
    ]
    if not recluster:
        this_run = [
            ["stories in", f"{counts['stories_in']} ({counts['new_articles']} new, {counts['already_stored']} already stored)"],
            ["inputs already ingested (skipped)", counts["inputs_seen"]],
            ["earlier versions replaced", counts["superseded"]],
            ["stories taken down by withdrawal notices", counts["taken_down"]],
            ["duplicates found", f"{counts['duplicates_found']} ({counts['exact_duplicates']} exact)"],
            *this_run,
            ["rejects", counts["rejects"]],
        ]
        if counts["outside_window"]:
            this_run.insert(1, ["left out: published outside the dates, or undated", counts["outside_window"]])
    lines = [f"# storyflow {kind} `{run_id}`", "", f"**{outcome(counts) if not recluster else recluster_outcome(counts)}**", ""]
    if run and run.get("inputs"):
        lines += [f"{'Range' if recluster else 'Inputs'}: `{_cell(run['inputs'])}`", ""]
    lines += ["## This run", "", *_table(["", "count"], this_run)]
    lines += ["", "## The store after it", "", *_table(["", "count"], [
        ["stories", counts["articles_total"]], ["events", counts["events_total"]],
        ["storylines", counts["storylines_total"]]])]
    if rejects:
        lines += ["", "## Rejects", "", *_table(["input", "reason"], [[f"`{r['origin']}`", r["reason"]] for r in rejects[:MARKDOWN_ROWS]])]
    if touched:
        lines += ["", "## Events touched", "", *_table(
            ["change", "event", "stories", "headline", "detail"],
            [[r["change"], f"`{r['event_id']}`", f"{r['size_before']} → {r['size']}" if r["size_before"] else r["size"],
              r["headline"], r["detail"]] for r in touched[:MARKDOWN_ROWS]])]
    if moved:
        lines += ["", "## Stories moved", "", *_table(
            ["story", "from event", "to event"],
            [[r["story"], f"`{r['from_event']}` {r['from_headline']}", f"`{r['to_event']}` {r['to_headline']}"]
             for r in moved[:MARKDOWN_ROWS]])]
    if len(touched) > MARKDOWN_ROWS or len(moved) > MARKDOWN_ROWS:
        lines += ["", f"The first {MARKDOWN_ROWS} rows of each table are shown; the table artifacts hold every row."]
    return "\n".join(lines) + "\n"


def recluster_outcome(counts: dict[str, int]) -> str:
    if not counts["stories_moved"] and not any(counts[f"events_{c}"] for c in CHANGES):
        return "no change: every story stayed in its event"
    return (f"{counted(counts['events_split'], 'event')} split, {counts['events_merged']} merged, "
            f"{counts['events_created']} created; {counted(counts['stories_moved'], 'story', 'stories')} moved")


def counted(n: int, one: str, many: str | None = None) -> str:
    """`n` with its noun: "1 story", "3 stories"."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def _event_line(r: dict) -> str:
    sources = counted(r["n_sources"], "source") if r["n_sources"] else "source unknown"
    size = f"{r['size_before']} → {r['size']} stories" if r["size_before"] and r["size_before"] != r["size"] \
        else counted(r["size"], "story", "stories")
    line = f"    {r['change']:<9} {r['event_id']}  {size}, {sources}: {r['headline']}"
    return line + (f"  ({r['detail']})" if r["detail"] else "")


def summary_text(report: RunReport, run_id: str, show: int | None = 25) -> str:
    """The run's report for a terminal: what this run did, the events it touched (the first `show`,
    None: all; headlines in full), its rejects, then the store's totals after it."""
    c = report.counts
    recluster = report.kind == "recluster"
    lines = [f"storyflow {report.kind} {run_id}: {recluster_outcome(c) if recluster else outcome(c)}", "", "This run"]
    if not recluster:
        lines.append(f"  stories read    {c['stories_in']:,} from {counted(c['inputs_read'], 'input')}: "
                     f"{c['new_articles']:,} new, {c['already_stored']:,} already stored"
                     + (f", {c['outside_window']:,} outside the dates or undated" if c["outside_window"] else ""))
        if c["inputs_seen"]:
            lines.append(f"  skipped         {counted(c['inputs_seen'], 'input')} already ingested by earlier runs")
        if c["superseded"] or c["taken_down"]:
            lines.append(f"  versions        {c['superseded']:,} earlier versions replaced, {c['taken_down']:,} stories taken down")
        lines.append(f"  copies found    {c['duplicates_found']:,} ({c['exact_duplicates']:,} exact)")
        lines.append(f"  rejected        {c['rejects']:,}")
    lines.append(f"  events          {c['events_created']:,} created, {c['events_updated']:,} updated, "
                 f"{c['events_split']:,} split, {c['events_merged']:,} merged, {c['events_withdrawn']:,} withdrawn")
    if recluster or c["stories_moved"]:
        lines.append(f"  stories moved   {c['stories_moved']:,}")
    touched = report.events_touched
    if touched:
        listed = touched if show is None else touched[:show]
        lines += ["", f"Events this run touched ({len(touched):,}, largest first)", *map(_event_line, listed)]
        if len(listed) < len(touched):
            lines.append(f"    … and {len(touched) - len(listed):,} more (--show-events all lists every one)")
    if recluster and report.stories_moved:
        listed = report.stories_moved if show is None else report.stories_moved[:show]
        lines += ["", f"Stories moved ({len(report.stories_moved):,})"]
        lines += [f"    {r['from_event']} → {r['to_event']}: {r['story']}" for r in listed]
        if len(listed) < len(report.stories_moved):
            lines.append(f"    … and {len(report.stories_moved) - len(listed):,} more")
    if report.rejects:
        listed = report.rejects if show is None else report.rejects[:show]
        lines += ["", f"Rejected ({len(report.rejects):,})", *(f"    {r['origin']}: {r['reason']}" for r in listed)]
        if len(listed) < len(report.rejects):
            lines.append(f"    … and {len(report.rejects) - len(listed):,} more (the rejects table)")
        if any("too large" in r["reason"] for r in report.rejects):
            lines.append("    hint: the size limit is the setting STORYFLOW_INGEST__MAX_INPUT_BYTES (bytes); "
                         "raise it in the environment to read larger files")
    lines += ["", f"Store after the run: {counted(c['articles_total'], 'story', 'stories')}, "
                  f"{counted(c['events_total'], 'event')}, {counted(c['storylines_total'], 'storyline')}"]
    return "\n".join(lines)



def with_rollback_row(runs: pa.Table, ctx, snapshot_id: int, n_events: int, n_articles: int) -> pa.Table:
    """`runs` of the snapshot a rollback restores, plus a row for the rollback (`ctx`: its `RunContext`)."""
    from pipeline.records import utcnow

    row = {"run_id": ctx.run_id, "started_at": ctx.started_at, "finished_at": utcnow(), "kind": "rollback",
           "inputs": f"rollback to snapshot {snapshot_id}", "parameters": "{}", "rolled_back_to": snapshot_id,
           "flow_run_id": ctx.flow_run.id if ctx.flow_run else None,
           "flow_run_url": ctx.flow_run.url if ctx.flow_run else None,
           "n_events": n_events, "n_articles_total": n_articles,
           **{name: 0 for name in runs.schema.names if name.startswith("n_") and name not in ("n_events", "n_articles_total")}}
    return pa.concat_tables([runs, pa.Table.from_pylist([row], schema=runs.schema)])
