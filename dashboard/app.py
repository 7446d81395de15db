"""The newsroom dashboard (Streamlit): events, their stories and copies, storylines, run health.

Start it with `make dashboard` or `python -m dashboard --data DIR`. It reads only the Parquet
output through `dashboard.queries`; it never writes. Pages are addressed by query string
(`?event=ID`, `?storyline=ID`) so every event has a link an editor can share.
"""
from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.queries import SORTS, TIME_RANGES, Store, default_data_dir

PAGE_SIZE = 100
STYLE = """
<style>
table.sf { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
table.sf th { text-align: left; border-bottom: 2px solid #ccc; padding: 4px 8px; white-space: nowrap; }
table.sf td { border-bottom: 1px solid #eee; padding: 4px 8px; vertical-align: top; }
table.sf td.n { text-align: right; font-variant-numeric: tabular-nums; }
.sf-kw { color: #666; font-size: 0.8rem; }
.sf-embargo { color: #a40000; font-weight: 600; font-size: 0.8rem; }
.sf-chip { display: inline-block; background: #eef2f7; border-radius: 10px; padding: 1px 9px; margin: 2px; font-size: 0.85rem; }
</style>
"""


def data_dir_setting(argv: list[str]) -> Path:
    """`--data DIR` after `streamlit run app.py --`, else STORYFLOW_DATA_DIR, else `data`."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data", type=Path, default=None)
    args, _ = parser.parse_known_args(argv)
    return args.data or default_data_dir()


def esc(value) -> str:
    return "" if value is None or pd.isna(value) else html.escape(str(value))


def when(value) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%d %H:%M")


def link(query: str, label: str) -> str:
    return f'<a href="?{html.escape(query)}" target="_self">{label}</a>'


def keyword_list(value) -> list[str]:
    return [str(k) for k in value] if isinstance(value, (list, tuple)) else []


def html_table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset(), test_id: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f'<table class="sf" data-testid="{test_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def embargo_badge(until) -> str:
    """A warning for a story (or an event with a story) that must not be published yet."""
    if until is None or pd.isna(until):
        return ""
    return f'<span class="sf-embargo" data-testid="embargo">EMBARGOED until {when(until)} UTC</span>'


def storyline_cell(row) -> str:
    if row.get("storyline_id") is None or pd.isna(row.get("storyline_id")):
        return ""
    label = row.get("storyline") if isinstance(row.get("storyline"), str) else row["storyline_id"]
    return link(f"storyline={row['storyline_id']}", esc(label))


def event_table(rows: pd.DataFrame) -> str:
    out = []
    for row in rows.to_dict("records"):
        keywords = keyword_list(row["keywords"])
        headline = link(f"event={row['event_id']}", esc(row["headline"]) or esc(row["event_id"]))
        if keywords:
            headline += f'<br><span class="sf-kw">{esc(", ".join(keywords))}</span>'
        if embargo := embargo_badge(row.get("embargoed_until")):
            headline += f"<br>{embargo}"
        # no named source (no source name or URL in the input) reads as unknown, not as none
        out.append([headline, esc(row["size"]), esc(row["n_sources"]) if row["n_sources"] else "–", when(row["first_seen"]),
                    when(row["last_seen"]), storyline_cell(row)])
    return html_table(["Event", "Stories", "Sources", "First seen", "Last seen", "Storyline"], out, {1, 2}, "event-list")


# --- pages -----------------------------------------------------------------------------------


def events_tab(store: Store) -> None:
    left, mid, right = st.columns([2, 3, 2])
    time_range = left.radio("Time range", list(TIME_RANGES), index=list(TIME_RANGES).index("all"), horizontal=True)
    search = mid.text_input("Search headlines and keywords", placeholder="e.g. sanctuary")
    sort = right.radio("Order", list(SORTS), horizontal=True)
    sources = st.multiselect("Sources", store.sources(), placeholder="all sources")
    page = st.session_state.get("event_page", 1)
    result = store.event_list(time_range, sources, search, sort, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    pages = max(1, -(-result.total // PAGE_SIZE))
    if result.total == 0:
        st.info("No events match these filters." if store.has("events") else "No events in this output yet.")
        return
    first = (page - 1) * PAGE_SIZE + 1
    st.caption(f"{result.total:,} events · showing {first:,}–{first + len(result.rows) - 1:,}")
    st.html(event_table(result.rows))
    if pages > 1:
        st.number_input("Page", 1, pages, key="event_page")


def storylines_tab(store: Store) -> None:
    rows = store.storylines(limit=PAGE_SIZE)
    if rows.empty:
        st.info("This output has no storylines (the clustering run that wrote it did not group events into storylines).")
        return
    table = [
        [link(f"storyline={r['storyline_id']}", esc(r["headline"]) or esc(r["storyline_id"]))
         + (f'<br><span class="sf-kw">{esc(", ".join(keyword_list(r["keywords"])))}</span>' if keyword_list(r["keywords"]) else ""),
         esc(r["n_events"]), esc(r["size"]), when(r["first_seen"]), when(r["last_seen"])]
        for r in rows.to_dict("records")
    ]
    total = store.n_storylines()
    st.caption(f"{total:,} storylines" + (f" · showing the newest {len(rows):,}" if total > len(rows) else ""))
    st.html(html_table(["Storyline", "Events", "Stories", "First seen", "Last seen"], table, {1, 2}, "storyline-list"))


def health_tab(store: Store) -> None:
    totals = store.totals()
    cols = st.columns(5)
    for col, name in zip(cols, ("articles", "duplicates", "events", "runs", "rejects")):
        col.metric(name.capitalize(), f"{totals[name]:,}")
    st.subheader("Last runs")
    runs = store.runs()
    if runs.empty:
        st.info("No runs recorded.")
    else:
        shown = runs.assign(started_at=runs["started_at"].map(when), finished_at=runs["finished_at"].map(when))
        st.html(html_table(
            ["Run", "Started", "Seconds", "Read", "New", "Already stored", "Taken down", "Rejects", "Exact dups",
             "Near dups", "Events", "Articles"],
            [[esc(r["run_id"]), r["started_at"], f"{r['seconds']:.1f}" if pd.notna(r["seconds"]) else "",
              *(esc(r[c]) for c in ("n_stories_read", "n_new_articles", "n_already_stored", "n_withdrawn",
                                    "n_rejects", "n_exact_duplicates", "n_near_duplicates", "n_events",
                                    "n_articles_total"))]
             for r in shown.to_dict("records")],
            set(range(2, 12)), "runs",
        ))
    st.subheader("Rejects")
    rejects = store.rejects()
    if rejects.empty:
        st.success("No input has been rejected.")
        return
    reasons = [[esc(r["reason"]), esc(r["n"])] for r in store.reject_reasons().to_dict("records")]
    st.html(html_table(["Reason", "Count"], reasons, {1}, "reject-reasons"))
    st.html(html_table(
        ["When", "Run", "Input", "Reason"],
        [[when(r["rejected_at"]), esc(r["run_id"]), esc(r["origin"]), esc(r["reason"])] for r in rejects.to_dict("records")],
        test_id="rejects",
    ))


def timeline(stories: pd.DataFrame) -> alt.Chart:
    points = stories.assign(
        source=stories["source"].fillna("").replace("", "(unknown)"),
        kind=stories["is_canonical"].map({True: "story", False: "copy"}),
        title=stories["title"].fillna("").where(stories["title"].fillna("") != "", stories["excerpt"].str.slice(0, 80)),
    )[["seen_at", "source", "kind", "title"]]
    return (
        alt.Chart(points)
        .mark_circle(size=140, opacity=0.8)
        .encode(
            # a date-and-time format: with one timestamp vega-lite's own ticks read ".931" (milliseconds)
            x=alt.X("seen_at:T", title="published (ingested where undated)", axis=alt.Axis(format="%Y-%m-%d %H:%M")),
            y=alt.Y("source:N", title=None),
            color=alt.Color("kind:N", scale=alt.Scale(domain=["story", "copy"], range=["#1f77b4", "#ff7f0e"])),
            tooltip=["title", "source", alt.Tooltip("seen_at:T", format="%Y-%m-%d %H:%M"), "kind"],
        )
        .properties(height=max(120, 40 * points["source"].nunique()))
    )


def story_title(row, limit: int = 140) -> str:
    """The story's title, or its opening cut at a word boundary."""
    if isinstance(row["title"], str) and row["title"]:
        return row["title"]
    text = " ".join((row["excerpt"] or "").split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def event_page(store: Store, event_id: str) -> None:
    st.html(link("", "← all events"))
    event = store.event(event_id)
    if event is None:
        st.error(f"No event {event_id} in this output.")
        return
    st.header(event["headline"] or event_id)
    if event.get("status") == "merged":
        target = event.get("merged_into")
        into = link(f"event={target}", esc(target)) if isinstance(target, str) and target else "another event"
        st.html(f"<b>This event was merged into {into}</b>; it is no longer listed as a live event.")
    elif event.get("status") == "withdrawn":
        st.html("<b>Every story of this event was withdrawn by its sender</b>; it is no longer listed as a live event.")
    stories = store.event_articles(event_id)
    sources = store.event_sources(event)
    cols = st.columns(3)
    cols[0].metric("Stories", len(stories))
    cols[1].metric("Copies", int((~stories["is_canonical"]).sum()))
    cols[2].metric("Sources", len(sources))
    facts = [f"Seen: {when(event['first_seen'])} – {when(event['last_seen'])} UTC"]
    if isinstance(event.get("storyline_id"), str):
        line = store.storyline(event["storyline_id"])
        facts.append("Storyline: " + link(f"storyline={event['storyline_id']}", esc(line["headline"] if line else event["storyline_id"])))
    keywords = keyword_list(event.get("keywords"))
    if keywords:
        facts.append("Keywords: " + "".join(f'<span class="sf-chip">{esc(k)}</span>' for k in keywords))
    facts.append("Sources: " + ("".join(f'<span class="sf-chip">{esc(s)}</span>' for s in sources) or "(unknown)"))
    st.html("<br>".join(facts))

    st.subheader("Coverage")
    if stories.empty:
        st.info("No stories recorded for this event.")
        return
    st.altair_chart(timeline(stories), use_container_width=True)

    st.subheader("Stories")
    copies = stories[~stories["is_canonical"]]
    for row in stories[stories["is_canonical"]].to_dict("records"):
        with st.container(border=True):
            byline = " · ".join(x for x in (esc(row["source"]) or "(unknown source)", when(row["seen_at"]), esc(row["source_id"])) if x)
            url = f' · <a href="{esc(row["url"])}" target="_blank">link</a>' if isinstance(row["url"], str) and row["url"] else ""
            embargo = embargo_badge(row["embargoed"])
            st.html(f'<div data-testid="story"><b>{esc(story_title(row))}</b><br><span class="sf-kw">{byline}{url}</span>'
                    f'{"<br>" + embargo if embargo else ""}'
                    f'<p>{esc(row["excerpt"])}</p></div>')
            mine = copies[copies["canonical_id"] == row["article_id"]]
            if len(mine):
                with st.expander(f"+{len(mine)} {'copy' if len(mine) == 1 else 'copies'}"):
                    st.html(html_table(
                        ["Copy", "Source", "Published", "Method", "Similarity", "Jaccard", "Containment", "Char containment", "Rule"],
                        [[esc(story_title(c)), esc(c["source"]), when(c["seen_at"]), esc(c["method"]),
                          *(f"{c[k]:.2f}" if pd.notna(c[k]) else "" for k in ("similarity", "jaccard", "containment", "char_containment")),
                          esc(c["rule"])] for c in mine.to_dict("records")],
                        {4, 5, 6, 7}, "copies",
                    ))
    orphans = copies[~copies["canonical_id"].isin(stories["article_id"])]
    if len(orphans):  # a copy whose canonical story sits in another event
        st.caption(f"{len(orphans)} copies of stories filed under other events: "
                   + ", ".join(orphans["source_id"].astype(str)))


def storyline_page(store: Store, storyline_id: str) -> None:
    st.html(link("", "← all events"))
    line = store.storyline(storyline_id)
    st.header(line["headline"] if line and line["headline"] else f"Storyline {storyline_id}")
    if line:
        cols = st.columns(2)
        cols[0].metric("Events", int(line["n_events"]) if pd.notna(line["n_events"]) else 0)
        cols[1].metric("Stories", int(line["size"]) if pd.notna(line["size"]) else 0)
        st.html(f"Seen: {when(line['first_seen'])} – {when(line['last_seen'])} UTC")
        keywords = keyword_list(line["keywords"])
        if keywords:
            st.html("Keywords: " + "".join(f'<span class="sf-chip">{esc(k)}</span>' for k in keywords))
    events = store.event_list(sort="newest", limit=1000, storyline_id=storyline_id)
    if events.total == 0:
        st.info("No live events in this storyline.")
    else:
        st.subheader(f"Events ({events.total:,})")
        st.html(event_table(events.rows))


def main() -> None:
    st.set_page_config(page_title="storyflow newsroom", layout="wide")
    st.html(STYLE)
    data_dir = data_dir_setting(sys.argv[1:])
    store = Store(data_dir)
    try:
        params = st.query_params
        if params.get("event"):
            event_page(store, params["event"])
        elif params.get("storyline"):
            storyline_page(store, params["storyline"])
        else:
            st.title("storyflow newsroom")
            st.caption(f"Output in `{data_dir}`")
            events, storylines, health = st.tabs(["Events", "Storylines", "Run health"])
            with events:
                events_tab(store)
            with storylines:
                storylines_tab(store)
            with health:
                health_tab(store)
    finally:
        store.close()


main()
