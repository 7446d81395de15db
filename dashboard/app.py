"""The newsroom dashboard (Streamlit): events, their stories and copies, storylines, run health.

Start it with `make dashboard` or `python -m dashboard --data DIR`. It reads only the store's
current snapshot through `dashboard.queries`; it never writes. Every view is in the URL
(`?q=...&src=...&page=3`, `?event=ID`, `?storyline=ID`, `?tab=health`), so a view can be shared
and the browser's back button returns to the one before. Text from stories and from the URL is
escaped before it is shown (`dashboard.render`).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.queries import ENTITY_KINDS, TIME_RANGES, Store, UnreadableStore, default_data_dir
from dashboard.render import card_text, esc, external_link, page_link, safe_url
from pipeline.store import Store as Snapshots
from pipeline.store.snapshots import StoreError

PAGE_SIZE = 100
POLL_SECONDS = 10
SORT_LABELS = {"newest": "newest", "biggest": "biggest", "best match": "best match"}
TAB_OF_URL = {"": "Events", "storylines": "Storylines", "health": "Run health"}
ENTITY_LABELS = {"person": "People", "org": "Organisations", "place": "Places"}
# URL keys of the event list and their defaults
LIST_KEYS = {"q": "", "range": "all", "sort": "newest", "src": [], "person": [], "org": [], "place": [], "page": 1}
STYLE = """
<style>
/* compact: events above the fold */
.block-container { padding-top: 3.6rem !important; padding-bottom: 1rem !important; }
h1, h2, h3 { margin-top: 0.2rem !important; }
.sf-title { font-size: 1.25rem; font-weight: 700; margin: 0; }
.sf-sub { color: #666; font-size: 0.8rem; }
.sf-h { font-size: 1.6rem; font-weight: 700; line-height: 1.25; margin: 0.2rem 0 0.4rem 0; }
table.sf { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
table.sf th { text-align: left; border-bottom: 2px solid #ccc; padding: 4px 8px; white-space: nowrap; }
table.sf td { border-bottom: 1px solid #eee; padding: 4px 8px; vertical-align: top; }
table.sf td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.sf th.group { text-align: center; border-bottom: 1px solid #ccc; color: #444; }
.sf-kw { color: #666; font-size: 0.8rem; }
.sf-embargo { color: #a40000; font-weight: 600; font-size: 0.8rem; }
.sf-chip { display: inline-block; background: #eef2f7; border-radius: 10px; padding: 1px 9px; margin: 2px; font-size: 0.85rem; }
.sf-notice { border-radius: 6px; padding: 10px 14px; margin: 4px 0; }
.sf-error { background: #fdecea; color: #7d1a12; }
.sf-warning { background: #fff6d5; color: #5c4a00; }
.sf-info { background: #e8f1fb; color: #0b3a66; }
.sf-banner { background: #fff6d5; border: 1px solid #e0c66a; border-radius: 6px; padding: 6px 12px; }
/* a phone: each table row becomes a card; no table runs off the screen */
@media (max-width: 700px) {
  table.sf, table.sf tbody, table.sf tr, table.sf td { display: block; width: auto; }
  table.sf thead { display: none; }
  table.sf tr { border-bottom: 1px solid #ddd; padding: 6px 0; }
  table.sf td { border: none; padding: 1px 4px; text-align: left !important; }
  table.sf td[data-label]:not(:first-child)::before { content: attr(data-label) ": "; color: #666; }
  table.sf td:empty { display: none; }
}
</style>
"""


def data_dir_setting(argv: list[str]) -> Path:
    """`--data DIR` after `streamlit run app.py --`, else STORYFLOW_DATA_DIR, else `data`."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data", type=Path, default=None)
    args, _ = parser.parse_known_args(argv)
    return args.data or default_data_dir()


def when(value) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%d %H:%M")


def count(value) -> str:
    """A whole number as text; nothing for a missing one (never "0.0" or "nan")."""
    return "" if value is None or pd.isna(value) else f"{int(value):,}"


def names_of(value) -> list[str]:
    return [str(k) for k in value] if isinstance(value, (list, tuple)) else []


def html_table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset(), test_id: str = "",
               groups: list[tuple[str, int]] | None = None) -> str:
    """An HTML table (cells already HTML); `groups`: a first header row of (label, columns spanned)."""
    top = ("<tr>" + "".join(f'<th class="group" colspan="{n}">{g}</th>' for g, n in groups) + "</tr>") if groups else ""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="{"n" if i in numeric else ""}" data-label="{h}">{c}</td>'
                         for i, (h, c) in enumerate(zip(header, r))) + "</tr>"
        for r in rows
    )
    return f'<table class="sf" data-testid="{test_id}"><thead>{top}<tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def notice(text: str, kind: str = "error") -> None:
    """A message box holding text from a story, the URL or a path: HTML-escaped, never Markdown
    (Streamlit's Markdown would also turn a bare address into a live link)."""
    st.html(f'<div class="sf-notice sf-{kind}" role="alert" data-testid="notice">{esc(text)}</div>')


def embargo_badge(until) -> str:
    """A warning for a story (or an event with a story) that must not be published yet."""
    if until is None or pd.isna(until):
        return ""
    return f'<span class="sf-embargo" data-testid="embargo">EMBARGOED until {when(until)} UTC</span>'


# --- the URL -----------------------------------------------------------------------------------


def list_state_from_url() -> dict:
    params = st.query_params
    state = {}
    for key, default in LIST_KEYS.items():
        if isinstance(default, list):
            state[key] = [v for v in params.get_all(key) if v]
        elif key == "page":
            try:
                state[key] = max(1, int(params.get(key, 1)))
            except ValueError:
                state[key] = 1
        else:
            state[key] = params.get(key, default)
    if state["range"] not in TIME_RANGES:
        state["range"] = "all"
    if state["sort"] not in SORT_LABELS:
        state["sort"] = "newest"
    return state


def list_params(state: dict) -> dict:
    """The query string of a list view: only what differs from the defaults."""
    return {k: v for k, v in state.items() if v != LIST_KEYS[k]}


def sync_url(params: dict) -> None:
    """Show `params` in the URL (a new history entry, so the back button returns here)."""
    flat = {k: [str(x) for x in v] if isinstance(v, list) else str(v) for k, v in params.items()}
    if {k: st.query_params.get_all(k) if isinstance(v, list) else st.query_params.get(k) for k, v in flat.items()} != flat \
            or set(st.query_params.keys()) != set(flat):
        st.query_params.from_dict(flat)
    st.session_state["_url"] = flat


def url_changed_outside() -> bool:
    """True on a first load, a back/forward step or an edited URL: the URL, not the widgets, then says what to show."""
    written = st.session_state.get("_url")
    now = {k: st.query_params.get_all(k) if len(st.query_params.get_all(k)) != 1 else st.query_params.get(k)
           for k in st.query_params.keys()}
    flat_written = {k: v if isinstance(v, list) and len(v) != 1 else (v[0] if isinstance(v, list) else v)
                    for k, v in (written or {}).items()}
    return written is None or now != flat_written


# --- live refresh ------------------------------------------------------------------------------


def new_events_banner(store: Store) -> None:
    """Poll the store's current snapshot (one link read) and offer a refresh when a run committed."""
    shown_id, data_dir = store.snapshot.id, store.data_dir
    shown_events = store_event_ids(store)  # now: the fragment reruns after this run closed the store

    @st.fragment(run_every=POLL_SECONDS)
    def poll() -> None:
        try:
            latest = Snapshots(data_dir).current()
        except StoreError:
            return
        if latest.id == shown_id or latest.id is None:
            return
        key = f"_new_{shown_id}_{latest.id}"
        if key not in st.session_state:
            try:
                newer = Store(data_dir)
                try:
                    st.session_state[key] = len(newer.current_event_ids() - shown_events)
                finally:
                    newer.close()
            except UnreadableStore:
                return
        n = st.session_state[key]
        what = f"{n} new event{'s' if n != 1 else ''}" if n else "New stories"
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.html(f'<div class="sf-banner" data-testid="new-events">{what} since this page was loaded.</div>')
        if right.button("Refresh", key="refresh", type="primary"):
            st.rerun(scope="app")

    poll()


def store_event_ids(store: Store) -> set[str]:
    key = f"_ids_{store.snapshot.id}"
    if key not in st.session_state:
        st.session_state[key] = store.current_event_ids()
    return st.session_state[key]


# --- the event list ----------------------------------------------------------------------------


def coverage_cells(row) -> list[str]:
    first = esc(row.get("first_outlet")) if isinstance(row.get("first_outlet"), str) else "–"
    return [count(row.get("n_stories")), count(row.get("n_copies")), count(row.get("n_outlets")) or "–", first]


def event_table(rows: pd.DataFrame, back: dict) -> str:
    out = []
    for row in rows.to_dict("records"):
        keywords = names_of(row["keywords"])
        headline = page_link({"event": row["event_id"], **back}, esc(row["headline"]) or esc(row["event_id"]))
        if keywords:
            headline += f'<br><span class="sf-kw">{esc(" · ".join(keywords))}</span>'
        if embargo := embargo_badge(row.get("embargoed_until")):
            headline += f"<br>{embargo}"
        line = ""
        if isinstance(row.get("storyline_id"), str):
            label = row.get("storyline") if isinstance(row.get("storyline"), str) else row["storyline_id"]
            line = page_link({"storyline": row["storyline_id"]}, esc(label))
        out.append([headline, *coverage_cells(row), when(row["first_seen"]), when(row["last_seen"]), line])
    return html_table(["Event", "Stories", "Copies", "Outlets", "First to report", "First seen", "Last seen", "Storyline"],
                      out, {1, 2, 3}, "event-list")


def facet_options(counts: dict[str, int], chosen: list[str]) -> list[str]:
    return list(dict.fromkeys([*chosen, *counts]))


def events_tab(store: Store, state: dict) -> dict:
    """The event list under the filters in `state`; returns the state it shows (page clamped)."""
    left, mid, right = st.columns([4, 3, 2], vertical_alignment="bottom")
    state["q"] = left.text_input("Search headlines, names and story text", key="q",
                                 placeholder="e.g. earthquake iran (any order)")
    sorts = list(SORT_LABELS) if state["q"].strip() else ["newest", "biggest"]
    if st.session_state.get("sort") not in sorts:
        st.session_state["sort"] = "best match" if state["q"].strip() else "newest"
    state["range"] = mid.segmented_control("Time range", list(TIME_RANGES), key="range") or "all"
    state["sort"] = right.selectbox("Order", sorts, key="sort")
    with st.sidebar:
        st.html('<b>Filters</b>')
        outlets = store.source_counts()
        state["src"] = st.multiselect("Outlets", facet_options(outlets, st.session_state.get("src", [])), key="src",
                                      format_func=lambda o: f"{o} ({outlets.get(o, 0)})", placeholder="all outlets")
        for kind, label in ENTITY_LABELS.items():
            counts = store.entity_counts(kind)
            state[kind] = st.multiselect(label, facet_options(counts, st.session_state.get(kind, [])), key=kind,
                                         format_func=lambda n, c=counts: f"{n} ({c.get(n, 0)})", placeholder="any")
    signature = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in state.items() if k != "page")
    if st.session_state.get("_filters") not in (None, signature):
        st.session_state["page"] = 1  # new filters: back to the first page
    st.session_state["_filters"] = signature
    # the page the URL or a filter change set; the pager widget, keyed by it, holds the editor's clicks since
    base = max(1, int(st.session_state.get("page", 1)))
    pager = f"pager-{abs(hash((signature, base))):x}"
    page = max(1, int(st.session_state.get(pager) or base))
    entities = {k: state[k] for k in ENTITY_KINDS if state[k]}

    def fetch(page: int):
        return store.event_list(state["range"], state["src"], state["q"], state["sort"], PAGE_SIZE,
                                (page - 1) * PAGE_SIZE, entities=entities)

    result = fetch(page)
    pages = max(1, -(-result.total // PAGE_SIZE))
    if page > pages:  # a page past the end (an old link, a shrunk store): the last page
        page = pages
        st.session_state["page"] = base = pages
        pager = f"pager-{abs(hash((signature, base))):x}"
        result = fetch(page)
    state["page"] = page
    if result.total == 0:
        if store.has("events"):
            st.info("No events match these filters.")
        else:
            notice(f"No events in {store.data_dir} yet: run storyflow run INPUT --data {store.data_dir}", "info")
        return state
    first = (page - 1) * PAGE_SIZE + 1
    capped = f" (the best {result.total:,} matches)" if result.capped else ""
    st.html(f'<div class="sf-sub" data-testid="list-count">{result.total:,} events{capped} · '
            f'showing {first:,}–{first + len(result.rows) - 1:,}</div>')
    st.html(event_table(result.rows, list_params(state)))
    if pages > 1:
        st.pagination(pages, key=pager, default=page, max_visible_pages=7)
    return state


def storylines_tab(store: Store) -> None:
    rows = store.storylines(limit=PAGE_SIZE)
    if rows.empty:
        st.info("This output has no storylines (the clustering run that wrote it did not group events into storylines).")
        return
    table = [
        [page_link({"storyline": r["storyline_id"]}, esc(r["headline"]) or esc(r["storyline_id"]))
         + (f'<br><span class="sf-kw">{esc(" · ".join(names_of(r["keywords"])))}</span>' if names_of(r["keywords"]) else ""),
         count(r["n_events"]), count(r["size"]), when(r["first_seen"]), when(r["last_seen"])]
        for r in rows.to_dict("records")
    ]
    total = store.n_storylines()
    st.caption(f"{total:,} storylines" + (f" · showing the newest {len(rows):,}" if total > len(rows) else ""))
    st.html(html_table(["Storyline", "Events", "Stories", "First seen", "Last seen"], table, {1, 2}, "storyline-list"))


# --- run health --------------------------------------------------------------------------------


def run_kind(row, snapshot_kind: dict[str, str]) -> str:
    """ingest, backfill, recluster or rollback: the runs table's own kind where it has one, else the
    snapshot's manifest, else what the inputs say."""
    kind = row.get("kind")
    if not isinstance(kind, str) or not kind:
        kind = snapshot_kind.get(row["run_id"], "")
    inputs = row.get("inputs") if isinstance(row.get("inputs"), str) else ""
    if not kind:
        kind = "recluster" if inputs.startswith("recluster") else "ingest"
    return kind


def is_empty_run(row, kind: str) -> bool:
    """A run that found nothing new: no story read, nothing rejected, nothing taken down."""
    return kind == "ingest" and not any(
        isinstance(row.get(c), (int, float)) and not pd.isna(row.get(c)) and row.get(c) > 0
        for c in ("n_stories_read", "n_new_articles", "n_rejects", "n_withdrawn"))


def prefect_cell(row) -> str:
    url = row.get("prefect_url")
    if isinstance(url, str) and safe_url(url):
        return external_link(url, "Prefect run")
    return ""


def health_tab(store: Store) -> None:
    totals = store.totals()
    st.html('<div class="sf-sub">In the store now (the current snapshot'
            + (f' {store.snapshot.id}' if store.snapshot.id is not None else '') + ')</div>')
    cols = st.columns(5)
    for col, (label, name) in zip(cols, (("Stories", "articles"), ("Copies folded", "duplicates"), ("Events", "events"),
                                         ("Runs", "runs"), ("Rejected inputs", "rejects"))):
        col.metric(label, f"{totals[name]:,}")
    st.subheader("Runs")
    runs = store.runs()
    snapshots = store.snapshots()
    snapshot_kind = {s["run_id"]: s["kind"] for s in snapshots if s.get("run_id") and s.get("kind")}
    if runs.empty:
        st.info("No runs recorded.")
    else:
        rows, empty = [], []

        def flush() -> None:
            if len(empty) == 1:
                rows.append(run_row(empty[0], "ingest"))
            elif empty:
                span = f"{when(empty[-1]['started_at'])} – {when(empty[0]['started_at'])}"
                rows.append([f'<i data-testid="empty-runs">{len(empty)} scheduled runs found nothing new</i>', "ingest",
                             span, "", *[""] * 9])
            empty.clear()

        for row in runs.head(200).to_dict("records"):
            kind = run_kind(row, snapshot_kind)
            if is_empty_run(row, kind):
                empty.append(row)
                continue
            flush()
            rows.append(run_row(row, kind))
            if len(rows) >= 30:
                break
        flush()
        per_run = ["Read", "New", "Already stored", "Taken down", "Rejected"]
        store_after = ["Stories", "Events", "Copies"]
        st.html(html_table(["Run", "Type", "Started", "Seconds", *per_run, *store_after, "Prefect"], rows,
                           set(range(3, 12)), "runs",
                           groups=[("", 4), ("This run", len(per_run)), ("The store after it", len(store_after)), ("", 1)]))
    rollbacks = [s for s in snapshots if s.get("kind") == "rollback"]
    if rollbacks:
        st.html(html_table(["Snapshot", "When", "Restored"],
                           [[esc(s["snapshot"]), esc((s.get("created_at") or "")[:16].replace("T", " ")),
                             f"snapshot {esc(s.get('rolled_back_to'))}"] for s in rollbacks], test_id="rollbacks"))
    st.subheader("Rejects")
    rejects = store.rejects()
    if rejects.empty:
        st.success("No input has been rejected.")
        return
    reasons = [[esc(r["reason"]), count(r["n"])] for r in store.reject_reasons().to_dict("records")]
    st.html(html_table(["Reason", "Count"], reasons, {1}, "reject-reasons"))
    st.html(html_table(
        ["When", "Run", "Input", "Reason"],
        [[when(r["rejected_at"]), esc(r["run_id"]), esc(r["origin"]), esc(r["reason"])] for r in rejects.to_dict("records")],
        test_id="rejects",
    ))


def run_row(row, kind: str) -> list[str]:
    seconds = f"{row['seconds']:.1f}" if pd.notna(row["seconds"]) else ""
    copies = (row.get("n_exact_duplicates") or 0) + (row.get("n_near_duplicates") or 0) \
        if pd.notna(row.get("n_exact_duplicates")) else None
    return [esc(row["run_id"]), esc(kind), when(row["started_at"]), seconds,
            *(count(row.get(c)) for c in ("n_stories_read", "n_new_articles", "n_already_stored", "n_withdrawn", "n_rejects")),
            count(row.get("n_articles_total")), count(row.get("n_events")), count(copies), prefect_cell(row)]


# --- one event ---------------------------------------------------------------------------------


def timeline(stories: pd.DataFrame) -> alt.Chart:
    points = stories.assign(
        outlet=stories["outlet"].fillna("").replace("", "(unknown)"),
        kind=stories["is_canonical"].map({True: "story", False: "copy"}),
        title=[card_text(t, x)[0] for t, x in zip(stories["title"], stories["excerpt"])],
    )[["published_at", "outlet", "kind", "title"]]
    return (
        alt.Chart(points)
        .mark_circle(size=140, opacity=0.8)
        .encode(
            x=alt.X("published_at:T", title="published", axis=alt.Axis(format="%Y-%m-%d %H:%M")),
            y=alt.Y("outlet:N", title=None, axis=alt.Axis(labelLimit=0)),  # whole outlet names
            color=alt.Color("kind:N", scale=alt.Scale(domain=["story", "copy"], range=["#1f77b4", "#ff7f0e"])),
            tooltip=["title", "outlet", alt.Tooltip("published_at:T", format="%Y-%m-%d %H:%M"), "kind"],
        )
        .properties(height=max(120, 32 * points["outlet"].nunique()))
    )


def how_close(copy) -> str:
    if copy.get("method") == "exact":
        return "word for word"
    share = copy.get("containment")
    if share is None or pd.isna(share):
        share = copy.get("similarity")
    if share is None or pd.isna(share):
        return "near copy"
    return f"{round(100 * share)}% of the text shared"


def published_cell(row) -> str:
    if pd.notna(row.get("published_at")):
        return when(row["published_at"])
    return f'<span class="sf-kw">undated (received {when(row["ingested_at"])})</span>'


def copies_table(mine: pd.DataFrame) -> str:
    rows, details = [], []
    for c in mine.to_dict("records"):
        title, _ = card_text(c["title"], c["excerpt"], title_limit=90)
        rows.append([esc(c["outlet"]) or "(unknown)", published_cell(c), esc(how_close(c)), esc(title),
                     external_link(c["url"], "open") if safe_url(c["url"]) else ""])
        details.append([esc(c["source_id"]), esc(c["method"]),
                        *(f"{c[k]:.2f}" if pd.notna(c[k]) else "" for k in ("similarity", "jaccard", "containment", "char_containment")),
                        esc(c["rule"])])
    return (html_table(["Outlet", "Published", "How close", "Title", "Link"], rows, test_id="copies")
            + '<details data-testid="copy-scores"><summary class="sf-kw">How the copies were matched (scores)</summary>'
            + html_table(["Copy id", "Method", "Similarity", "Jaccard", "Containment", "Char containment", "Rule"],
                         details, {2, 3, 4, 5}, "copy-scores-table") + "</details>")


def export_csv(stories: pd.DataFrame) -> bytes:
    """The event's stories as CSV: outlet, title, link, times, and which story a copy copies."""
    rows = []
    for r in stories.to_dict("records"):
        title, _ = card_text(r["title"], r["excerpt"])
        rows.append({"outlet": r["outlet"], "title": title, "url": safe_url(r["url"]),
                     "published_at": when(r["published_at"]), "received_at": when(r["ingested_at"]),
                     "is_copy": not r["is_canonical"], "copy_of": "" if r["is_canonical"] else r["canonical_id"],
                     "story_id": r["source_id"], "article_id": r["article_id"]})
    frame = pd.DataFrame(rows)
    # a cell opening with = + - @ would run as a formula in a spreadsheet
    for col in ("outlet", "title", "story_id"):
        frame[col] = frame[col].map(lambda v: "'" + v if isinstance(v, str) and v[:1] in "=+-@\t\r" else v)
    return frame.to_csv(index=False).encode("utf-8")


def entity_chips(event: dict, back: dict) -> str:
    parts = []
    for kind, column in ENTITY_KINDS.items():
        names = names_of(event.get(column))
        if names:
            chips = "".join(f'<span class="sf-chip">{page_link({kind: n}, esc(n))}</span>' for n in names)
            parts.append(f'{ENTITY_LABELS[kind]}: {chips}')
    return "<br>".join(parts)


def event_page(store: Store, event_id: str, back: dict) -> None:
    st.html(page_link(back, "← all events"))
    event = store.event(event_id)
    if event is None:
        notice(f"No event {event_id} in this output.")
        return
    st.html(f'<div class="sf-h" data-testid="event-headline">{esc(event["headline"] or event_id)}</div>')
    if event.get("status") == "merged":
        target = event.get("merged_into")
        into = page_link({"event": target}, esc(target)) if isinstance(target, str) and target else "another event"
        st.html(f"<b>This event was merged into {into}</b>; it is no longer listed as a live event.")
    elif event.get("status") == "withdrawn":
        st.html("<b>Every story of this event was withdrawn by its sender</b>; it is no longer listed as a live event.")
    stories = store.event_articles(event_id)
    outlets = store.event_sources(event)
    named = stories[stories["outlet"].fillna("") != ""]
    first = named.iloc[0]["outlet"] if len(named) else "–"
    cols = st.columns(4)
    cols[0].metric("Stories", int(stories["is_canonical"].sum()))
    cols[1].metric("Copies", int((~stories["is_canonical"]).sum()))
    cols[2].metric("Outlets", len(outlets))
    cols[3].html(f'<div class="sf-kw">First to report</div><div data-testid="first-outlet"><b>{esc(first)}</b></div>')
    facts = [f"Seen: {when(event['first_seen'])} – {when(event['last_seen'])} UTC"]
    if isinstance(event.get("storyline_id"), str):
        line = store.storyline(event["storyline_id"])
        facts.append("Storyline: " + page_link({"storyline": event["storyline_id"]},
                                               esc(line["headline"] if line else event["storyline_id"])))
    keywords = names_of(event.get("keywords"))
    if keywords:
        facts.append("Keywords: " + "".join(f'<span class="sf-chip">{esc(k)}</span>' for k in keywords))
    if chips := entity_chips(event, back):
        facts.append(chips)
    facts.append("Outlets: " + ("".join(f'<span class="sf-chip">{esc(s)}</span>' for s in outlets) or "(unknown)"))
    st.html(f'<div data-testid="event-facts">{"<br>".join(facts)}</div>')
    if stories.empty:
        st.info("No stories recorded for this event.")
        return
    st.download_button("Export stories (CSV)", export_csv(stories), file_name=f"event-{safe_name(event_id)}.csv",
                       mime="text/csv", key="export")

    st.subheader("Coverage")
    dated = stories[stories["published_at"].notna()]
    if len(dated) >= 2 and dated["published_at"].nunique() > 1:
        st.altair_chart(timeline(dated), width="stretch")
        if len(dated) < len(stories):
            st.caption(f"{len(stories) - len(dated)} undated stories are not on the timeline.")
    else:  # undated: one instant for every dot says nothing; list the order they came in
        why = ("These stories carry no publication date" if dated.empty
               else "These stories carry one publication time between them")
        st.html(f'<div class="sf-kw">{why}: listed in the order they were received.</div>'
                + html_table(["Received", "Outlet", "Story"],
                             [[when(r["ingested_at"]), esc(r["outlet"]) or "(unknown)",
                               esc(card_text(r["title"], r["excerpt"], title_limit=100)[0])
                               + ("" if r["is_canonical"] else ' <span class="sf-kw">(copy)</span>')]
                              for r in stories.sort_values(["ingested_at", "article_id"]).to_dict("records")],
                             test_id="coverage-list"))

    st.subheader("Stories")
    copies = stories[~stories["is_canonical"]]
    for row in stories[stories["is_canonical"]].to_dict("records"):
        title, excerpt = card_text(row["title"], row["excerpt"])
        with st.container(border=True):
            byline = " · ".join(x for x in (esc(row["outlet"]) or "(unknown outlet)", published_cell(row),
                                            esc(row["source_id"])) if x)
            url = f" · {external_link(row['url'], 'open story')}" if safe_url(row["url"]) else ""
            embargo = embargo_badge(row["embargoed"])
            st.html(f'<div data-testid="story"><b>{esc(title)}</b><br><span class="sf-kw">{byline}{url}</span>'
                    f'{"<br>" + embargo if embargo else ""}'
                    f'<p>{esc(excerpt)}</p></div>')
            mine = copies[copies["canonical_id"] == row["article_id"]]
            if len(mine):
                with st.expander(f"+{len(mine)} {'copy' if len(mine) == 1 else 'copies'}"):
                    st.html(copies_table(mine))
    orphans = copies[~copies["canonical_id"].isin(stories["article_id"])]
    if len(orphans):  # a copy whose canonical story sits in another event
        st.html(f'<div class="sf-kw">{len(orphans)} copies of stories filed under other events: '
                f'{esc(", ".join(orphans["source_id"].astype(str)))}</div>')


def safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:80]


def storyline_page(store: Store, storyline_id: str) -> None:
    st.html(page_link({}, "← all events"))
    line = store.storyline(storyline_id)
    headline = line["headline"] if line and line["headline"] else f"Storyline {storyline_id}"
    st.html(f'<div class="sf-h">{esc(headline)}</div>')
    if line:
        cols = st.columns(2)
        cols[0].metric("Events", int(line["n_events"]) if pd.notna(line["n_events"]) else 0)
        cols[1].metric("Stories", int(line["size"]) if pd.notna(line["size"]) else 0)
        st.html(f"Seen: {when(line['first_seen'])} – {when(line['last_seen'])} UTC")
        keywords = names_of(line["keywords"])
        if keywords:
            st.html("Keywords: " + "".join(f'<span class="sf-chip">{esc(k)}</span>' for k in keywords))
    events = store.event_list(sort="newest", limit=1000, storyline_id=storyline_id)
    if events.total == 0:
        st.info("No live events in this storyline.")
    else:
        st.subheader(f"Events ({events.total:,})")
        st.html(event_table(events.rows, {}))


# --- the page ----------------------------------------------------------------------------------


def open_store(data_dir: Path) -> Store | None:
    """The store, or None after saying plainly why it cannot be shown."""
    if not data_dir.exists():
        notice(f"The data folder {data_dir} does not exist. Start the dashboard with --data pointing at "
               f"the folder a storyflow run wrote (storyflow run INPUT --data FOLDER).")
        return None
    try:
        store = Store(data_dir)
    except UnreadableStore as exc:
        notice(f"The data folder {data_dir} cannot be read: {exc}")
        return None
    if store.snapshot.id is None:
        notice(f"The data folder {data_dir} holds no storyflow output yet. Run: storyflow run INPUT --data {data_dir}",
               "warning")
        store.close()
        return None
    return store


def main() -> None:
    st.set_page_config(page_title="storyflow newsroom", layout="wide", initial_sidebar_state="auto")
    st.html(STYLE)
    data_dir = data_dir_setting(sys.argv[1:])
    store = open_store(data_dir)
    if store is None:
        return
    try:
        params = st.query_params
        if url_changed_outside():
            for key, value in list_state_from_url().items():
                st.session_state[key] = value
            st.session_state["tab"] = TAB_OF_URL.get(params.get("tab", ""), "Events")
            st.session_state.pop("_filters", None)
        state = {k: st.session_state.get(k, v) for k, v in LIST_KEYS.items()}
        back = list_params(state)
        if params.get("event"):
            new_events_banner(store)
            event_page(store, params["event"], back)
            sync_url({"event": params["event"], **back})
        elif params.get("storyline"):
            storyline_page(store, params["storyline"])
            sync_url({"storyline": params["storyline"]})
        else:
            st.html(f'<div class="sf-title">storyflow newsroom</div><div class="sf-sub">{esc(data_dir)} · '
                    f'snapshot {esc(store.snapshot.id)}</div>')
            new_events_banner(store)
            tabs = ["Events", "Storylines", "Run health"]
            tab = st.segmented_control("View", tabs, key="tab", label_visibility="collapsed") or "Events"
            if tab == "Events":
                state = events_tab(store, state)
                sync_url(list_params(state))
            elif tab == "Storylines":
                storylines_tab(store)
                sync_url({"tab": "storylines"})
            else:
                health_tab(store)
                sync_url({"tab": "health"})
    finally:
        store.close()


main()
