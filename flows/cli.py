"""`storyflow`: run the pipeline on a store, and look after the store's snapshots.

    storyflow run INPUT [--feed URL ...] --data DIR    ingest (the ingest flow, on Prefect)
    storyflow history --data DIR                       the snapshots kept
    storyflow rollback [--to N] --data DIR             make an earlier snapshot current again
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def run(args) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.server import temporary_server

    with temporary_server():
        from flows.ingest import ingest_flow  # Prefect import is slow: after argument parsing

        print(ingest_flow(inputs=args.inputs, data_dir=args.data, feeds=args.feed))
    return 0


def history(args) -> int:
    from pipeline.store import Store

    store = Store(args.data)
    current = store.current().id
    for snapshot in store.history():
        m = snapshot.manifest
        rows = m.get("tables", {})
        print(f"{'*' if snapshot.id == current else ' '} {snapshot.id:>6}  {m.get('created_at', '')[:19]}  "
              f"{m.get('kind', ''):10s} {m.get('run_id') or ''}  "
              f"articles {rows.get('articles', {}).get('rows', 0)}  events {rows.get('events', {}).get('rows', 0)}"
              + (f"  (rollback to {m['rolled_back_to']})" if "rolled_back_to" in m else ""))
    return 0


def rollback(args) -> int:
    from pipeline.config import Settings
    from pipeline.store import Store

    settings = Settings(data_dir=Path(args.data))
    with Store(args.data, settings.store.keep_snapshots).writer(settings.store.lock_timeout_s) as writer:
        before = writer.base.id
        after = writer.rollback(args.to)
    print(f"{args.data}: snapshot {after.id} is current, a copy of snapshot {after.manifest['rolled_back_to']} "
          f"(was {before})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="storyflow", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--data", default=os.environ.get("STORYFLOW_DATA_DIR", "data"), help="the store (default: data)")
    p = sub.add_parser("run", parents=[data], help="ingest an inbox folder, a file or a feed URL into the store")
    p.add_argument("inputs", help="inbox directory, one story file, or a feed URL (see README for formats)")
    p.add_argument("--feed", action="append", default=[], metavar="URL", help="also read this RSS/Atom feed (repeatable)")
    p.set_defaults(handler=run)
    p = sub.add_parser("history", parents=[data], help="list the snapshots the store keeps")
    p.set_defaults(handler=history)
    p = sub.add_parser("rollback", parents=[data], help="make an earlier snapshot current (as a new snapshot)")
    p.add_argument("--to", type=int, default=None, help="snapshot number (default: the one before the current)")
    p.set_defaults(handler=rollback)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
