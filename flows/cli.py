"""`storyflow`: run the pipeline on a store from the command line or cron, and look after the store's snapshots.

The run, backfill and recluster commands run the Prefect flows on a temporary Prefect server that
lives as long as the command (or on the server PREFECT_API_URL names). Their arguments and the store
are checked before any of that starts, so a mistake costs a second, not a model load.
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import date, datetime, time, timedelta, timezone
from importlib import metadata
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ALL_REJECTED = 0, 1, 2, 3

EXIT_CODES = f"""exit codes:
  {EXIT_OK}  the run committed (also when there was nothing new to read)
  {EXIT_FAILED}  the run failed; the store is as it was (an error in a stage, the store busy too long ...)
  {EXIT_USAGE}  nothing was started: a wrong argument, a missing input, or --data that is not a usable store
  {EXIT_ALL_REJECTED}  everything read was rejected: the rejects are recorded, no story was stored"""

PROGRESS = """progress: on a terminal, live bars on stderr; otherwise (cron, a pipe) plain time-stamped lines on stderr,
at most one every 10 s per stage. The report goes to stdout."""


class UsageError(Exception):
    """A mistake found before any work: one line for the operator, exit code 2."""


def version() -> str:
    try:
        own = metadata.version("storyflow")
    except metadata.PackageNotFoundError:
        own = "unknown"
    try:
        prefect = metadata.version("prefect")
    except metadata.PackageNotFoundError:
        prefect = "not installed"
    return f"storyflow {own} (Python {sys.version.split()[0]}, Prefect {prefect})"


# --- checks before any work -----------------------------------------------------------------------

def check_inputs(inputs: list[str]) -> None:
    """Every local input exists and can be read; URLs are http(s)."""
    from pipeline.ingest.read import OTHER_URL, is_url

    for source in inputs:
        if is_url(source):
            continue
        if OTHER_URL.match(source):
            raise UsageError(f"input {source}: only http and https URLs are read")
        path = Path(source)
        if not path.exists():
            raise UsageError(f"input not found: {source}" + (" (a broken link)" if path.is_symlink() else ""))
        if not os.access(path, os.R_OK) or (path.is_dir() and not os.access(path, os.X_OK)):
            raise UsageError(f"input {source}: not readable (permission denied)")


def check_store(data: Path, writing: bool, empty_ok: bool) -> None:
    """`data` is a store this command can use: a folder (or, where `empty_ok`, one it can create) whose
    current snapshot and its table files are there, writable for a `writing` command."""
    from pipeline.store import Store, StoreError
    from pipeline.store.snapshots import legacy_tables

    if data.exists() and not data.is_dir():
        raise UsageError(f"--data {data} is a file, not a store folder")
    if not data.exists():
        if not empty_ok:
            raise UsageError(f"--data {data}: no such folder (no run has written a store there)")
        parent = data.parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            raise UsageError(f"--data {data}: cannot create it ({parent} is not a writable folder)")
        return
    if not os.access(data, os.R_OK | os.X_OK) or (writing and not os.access(data, os.W_OK)):
        raise UsageError(f"--data {data}: permission denied ({'read and write' if writing else 'read'} access needed)")
    if writing and empty_ok and legacy_tables(data) and not (data / "current").exists():
        return  # the layout of an earlier version: the writing run converts it
    try:
        snapshot = Store(data).current()
    except StoreError as exc:
        raise UsageError(f"--data {data}: {exc}") from None
    if snapshot.id is None and not empty_ok:
        raise UsageError(f"--data {data}: no snapshot yet (no run has committed to this store)")
    for table in snapshot.tables:
        if not snapshot.file(table).is_file():
            raise UsageError(f"--data {data}: {snapshot.file(table)} (table {table!r} of snapshot {snapshot.id}) is "
                             f"missing; restore it or `storyflow rollback --data {data}` to an earlier snapshot")


def check_settings(args) -> object | None:
    """The --set overrides, validated as the run will apply them (types and bounds)."""
    from flows.form import parse_sets
    from pipeline.config import Settings

    try:
        overrides = parse_sets(args.set)
        Settings(data_dir=Path(args.data)).with_overrides(overrides)
    except ValueError as exc:  # pydantic's ValidationError is one
        raise UsageError(str(exc).splitlines()[0]) from None
    return overrides


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def moment(text: str) -> datetime:
    """An ISO time or day, UTC unless it names a zone."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO day or time (2017-04-01 or 2017-04-01T06:00): {text!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def is_day(text: str) -> bool:
    return len(text.strip()) == 10


def shown(text: str) -> int | None:
    if text == "all":
        return None
    if text.isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(f"a number or 'all', not {text!r}")


# --- the commands that run a flow ---------------------------------------------------------------------

def _run_flow(args, start) -> int:
    """Start the temporary server, run the flow `start()` calls with a progress display, print the report."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # the model's own loading bar
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not args.verbose:  # on the terminal, log lines only from warnings up (a run's full log: -v)
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    from flows.progress import RunDisplay
    from flows.server import temporary_server

    display = RunDisplay(live=False if args.verbose else None)  # bars would tangle with Prefect's log lines
    try:
        with temporary_server():
            from flows.stages import watching  # Prefect is slow to import: only once the arguments are good

            if not args.verbose:
                _one_line_failures()
            with display, watching(display):
                state = start()
    except Exception as exc:  # the server did not start, or Prefect itself failed
        print(f"storyflow {args.command}: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if not state.is_completed():
        try:
            state.result()
            reason = state.message or "the run did not finish"
        except BaseException as exc:  # noqa: BLE001 - the run's own error, reported in one line
            reason = f"{type(exc).__name__}: {exc}"
        committed = display.result.snapshot if display.result else None  # a failure after the commit (artifacts)
        written = f"snapshot {committed.id} was committed" if committed else "nothing was written"
        print(f"storyflow {args.command}: failed, {written}: {reason}"
              + ("" if args.verbose else " (-v prints the run's whole log)"), file=sys.stderr)
        return EXIT_FAILED
    from pipeline.report import outcome, summary_text

    result = display.result
    if args.command == "backfill":  # a run per window: a line each, the last in full, then the backfill's summary
        for window in display.results[:-1]:
            row = window.tables["runs"].slice(window.tables["runs"].num_rows - 1).to_pylist()[0]
            print(f"{row['published_from']}..{row['published_to']}: {outcome(window.report.counts)}")
        if result is not None:
            print(summary_text(result.report, result.run_id, args.show_events))
            print(f"Committed as snapshot {result.snapshot.id} of {args.data}\n")
        print(state.result())
        return EXIT_OK if result is None or result.report.counts["stories_in"] or not result.report.counts["rejects"] \
            else EXIT_ALL_REJECTED
    if result is None:  # a flow that reports no run: never the case for storyflow's flows
        print(f"storyflow {args.command}: the run finished without a report", file=sys.stderr)
        return EXIT_FAILED
    print(summary_text(result.report, result.run_id, args.show_events))
    if result.snapshot is not None:
        print(f"Committed as snapshot {result.snapshot.id} of {args.data}")
    counts = result.report.counts
    if counts["stories_in"] == 0 and counts["rejects"] > 0:
        return EXIT_ALL_REJECTED
    return EXIT_OK


class _RunErrors:
    """Drops the errors Prefect logs when a task or flow run fails (a traceback each): the command
    reports the failure in one line instead."""

    def filter(self, record) -> bool:
        return not (record.name.startswith(("prefect.flow_runs", "prefect.task_runs")) and record.levelno >= 40)


def _one_line_failures() -> None:
    import logging

    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler):
            handler.addFilter(_RunErrors())


def run(args) -> int:
    check_inputs([args.input, *args.feed])
    check_store(Path(args.data), writing=True, empty_ok=True)
    overrides = check_settings(args)

    def start():
        from flows.ingest import ingest_flow

        return ingest_flow(inputs=args.input, data_dir=args.data, feeds=args.feed or None, overrides=overrides,
                           dask_address=args.dask, return_state=True)

    return _run_flow(args, start)


def backfill(args) -> int:
    from pipeline.ingest.read import is_url

    if args.start > args.end:
        raise UsageError(f"--from {args.start} is after --to {args.end}")
    if is_url(args.source):
        raise UsageError(f"a backfill reads an archive folder or file, not a URL: {args.source}")
    check_inputs([args.source])
    check_store(Path(args.data), writing=True, empty_ok=True)
    overrides = check_settings(args)

    def start():
        from flows.backfill import backfill_flow

        return backfill_flow(source=args.source, start=args.start, end=args.end, data_dir=args.data,
                             overrides=overrides, dask_address=args.dask, return_state=True)

    return _run_flow(args, start)


def recluster(args) -> int:
    try:
        first = moment(args.start) if args.start else None
        last = moment(args.end) if args.end else None
    except argparse.ArgumentTypeError as exc:
        raise UsageError(str(exc)) from None
    if last is not None and is_day(args.end):  # a day as the end: all of it
        last = datetime.combine(last.date() + timedelta(days=1), time(), timezone.utc) - timedelta(microseconds=1)
    if args.last_days is not None and (first or last):
        raise UsageError("--last-days replaces --from and --to: give one or the other")
    if args.last_days is not None and not args.last_days > 0:
        raise UsageError(f"--last-days must be more than 0, not {args.last_days}")
    if first and last and first > last:
        raise UsageError(f"--from {args.start} is after --to {args.end}")
    check_store(Path(args.data), writing=True, empty_ok=False)
    overrides = check_settings(args)

    def start():
        from flows.recluster import recluster_flow

        return recluster_flow(start=first, end=last, data_dir=args.data, overrides=overrides,
                              last_days=args.last_days, dask_address=args.dask, return_state=True)

    return _run_flow(args, start)


# --- the store's snapshots ------------------------------------------------------------------------

def history(args) -> int:
    from pipeline.store import Store

    check_store(Path(args.data), writing=False, empty_ok=False)
    store = Store(args.data)
    current = store.current().id
    runs = {r["run_id"]: r for r in store.current().read("runs").to_pylist()}
    print(f"{'':1} {'snapshot':>8}  {'committed (UTC)':19}  {'kind':9}  {'run':22}  {'stories':>7}  {'events':>6}")
    for snapshot in store.history():
        m = snapshot.manifest
        rows = m.get("tables", {})
        run = runs.get(m.get("run_id"), {})
        note = f"  (a copy of snapshot {m['rolled_back_to']})" if "rolled_back_to" in m else ""
        if run.get("flow_run_url"):
            note += f"  {run['flow_run_url']}"
        print(f"{'*' if snapshot.id == current else ' '} {snapshot.id:>8}  {m.get('created_at', '')[:19].replace('T', ' '):19}  "
              f"{m.get('kind', ''):9}  {m.get('run_id') or '':22}  {rows.get('articles', {}).get('rows', 0):>7}  "
              f"{rows.get('events', {}).get('rows', 0):>6}{note}")
    print("* the current snapshot; events counts every event row (merged and withdrawn ones too)")
    return EXIT_OK


def rollback(args) -> int:
    from pipeline.config import Settings
    from pipeline.run import run_rollback
    from pipeline.store import StoreError

    check_store(Path(args.data), writing=True, empty_ok=False)
    try:
        before, after = run_rollback(Settings(data_dir=Path(args.data)), args.to)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    print(f"{args.data}: snapshot {after.id} is current, a copy of snapshot {after.manifest['rolled_back_to']} "
          f"(was {before})")
    return EXIT_OK


# --- arguments ------------------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    from flows.form import settings_help  # light: pydantic, no Prefect

    top = argparse.ArgumentParser(
        prog="storyflow", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Fold copies of news stories together and group stories into events, in a store of Parquet "
                    "tables.\nEach command has its own help: storyflow COMMAND --help.",
        epilog=EXIT_CODES)
    top.add_argument("--version", action="version", version=version())
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--data", default=os.environ.get("STORYFLOW_DATA_DIR", "data"), metavar="DIR",
                      help="the store folder (default: $STORYFLOW_DATA_DIR, else ./data)")
    running = argparse.ArgumentParser(add_help=False)
    running.add_argument("--set", action="append", default=[], metavar="SECTION__FIELD=VALUE",
                         help="change a setting for this run only (repeatable); see the list below")
    running.add_argument("--show-events", type=shown, default=25, metavar="N",
                         help="list at most N of the events the run touched, largest first ('all': every one; default 25)")
    running.add_argument("-v", "--verbose", action="store_true", help="also print Prefect's log of the run")
    running.add_argument("--dask", default="", metavar="ADDRESS",
                         help="run the per-story work on this Dask scheduler (tcp://host:8786); its workers need "
                              "storyflow installed and the inputs at the same paths (default: $STORYFLOW_DASK__ADDRESS, "
                              "else this process)")
    settings = f"settings --set takes:\n{settings_help()}\n\n{PROGRESS}\n\n{EXIT_CODES}"

    def command(name: str, parents: list, help: str, description: str, epilog: str = settings):
        return sub.add_parser(name, parents=parents, help=help, description=description, epilog=epilog,
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = command("run", [data, running], "read new stories from a folder, a file or a feed into the store",
                "Read new stories into the store: every story file in a folder (files read by earlier runs are "
                "skipped), one file, or a feed URL; then fold copies together and group stories into events.\n"
                "Formats: .txt, .json/.jsonl records or IPTC ninjs, NewsML-G2, RSS or Atom .xml, .html.")
    p.add_argument("input", help="a folder, one story file, or an http(s) feed URL")
    p.add_argument("--feed", action="append", default=[], metavar="URL", help="also read this RSS/Atom feed (repeatable)")
    p.set_defaults(handler=run)

    p = command("backfill", [data, running], "read an archive, keeping the stories published between two days",
                "Read an archive folder or file into the store, keeping only the stories published from --from to "
                "--to (UTC days, both included), one window of days at a time (a run and a snapshot each, oldest "
                "first; --set ingest__backfill_window_days=N). Undated stories are left out. Run the same command "
                "again after an interruption: it goes on at the first window not yet committed. The archive is "
                "read whole each time, so later backfills can take other days from the same files.")
    p.add_argument("source", help="the archive: a folder or one file of stories")
    p.add_argument("--from", dest="start", type=day, required=True, metavar="DAY", help="first publication day, YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=day, required=True, metavar="DAY", help="last publication day, YYYY-MM-DD")
    p.set_defaults(handler=backfill)

    p = command("recluster", [data, running], "group stored stories into events again, from scratch",
                "Group the stored stories of a period (all of them by default) into events again from scratch, "
                "e.g. after changing a setting with --set. Events keep their ids where they keep their stories; the "
                "report lists the events split and merged and the stories moved. Stories without a publication time "
                "count by when they were read.")
    p.add_argument("--from", dest="start", metavar="TIME", help="first publication time or day (ISO, UTC unless a zone is given)")
    p.add_argument("--to", dest="end", metavar="TIME", help="last publication time, or day (all of it)")
    p.add_argument("--last-days", type=float, metavar="N", help="instead of --from/--to: the last N days up to now")
    p.set_defaults(handler=recluster)

    p = command("history", [data], "list the snapshots the store keeps",
                "List the snapshots the store keeps (each run commits one; the newest are kept), the current one "
                "marked with *.", epilog="")
    p.set_defaults(handler=history)
    p = command("rollback", [data], "make an earlier snapshot current again (as a new snapshot)",
                "Make an earlier snapshot current again by committing a copy of it as the newest snapshot (so a "
                "rollback can itself be rolled back). The runs table records the rollback.", epilog="")
    p.add_argument("--to", type=int, default=None, metavar="N", help="snapshot number (default: the one before the current)")
    p.set_defaults(handler=rollback)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as exc:
        print(f"storyflow {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"storyflow {args.command}: interrupted; nothing was written unless a snapshot was reported", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
