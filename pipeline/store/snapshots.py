"""Snapshots: every commit is one whole, immutable set of Parquet tables; readers never see a mix.

Layout of a store folder::

    data/
      current -> snapshots/000042     the committed snapshot (a relative symlink)
      snapshots/000042/               one folder per commit: <table>.parquet, manifest.json
      snapshots/000041/               older commits, kept for readers and rollback
      .lock                           held by the one writing run (released by the OS if it dies)
      _cache/                         derived data (embeddings), rebuilt when unreadable

A commit writes every new table file into a hidden temporary folder, links the tables it
did not change from the snapshot it started from, records them in ``manifest.json``, syncs
the files and the folder to disk, renames the folder to the next snapshot number and then
swaps the ``current`` link to it: that swap is the commit point. A run that dies before it
leaves the store as it was (its half-written folder is removed by the next writer); readers
that resolved ``current`` keep reading their snapshot, which is kept until it falls out of
the last `keep_snapshots`. Every path is relative to the store, so a store can be moved or
copied whole, also mid-commit.

Writers hold ``.lock`` (an OS file lock: a crashed writer's lock is released with its
process) from reading the state to committing, and the commit checks that ``current`` is
still the snapshot the run read, so no route to the store can interleave two runs.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import filelock
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import StoreConfig
from pipeline.store.schema import SCHEMAS, empty_table

log = logging.getLogger(__name__)

CURRENT = "current"
SNAPSHOTS = "snapshots"
MANIFEST = "manifest.json"
LOCK = ".lock"
FORMAT = 1
ID_WIDTH = 6


class StoreError(RuntimeError):
    """The store cannot be read or written as it is; the message names the file and what to do."""


class StoreBusyError(StoreError):
    """Another writing run held the store for longer than this run would wait."""


class StoreChangedError(StoreError):
    """The store was committed to by someone else after this run read it; nothing was written."""


def table_file_name(table: str) -> str:
    return f"{table}.parquet"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _snapshot_name(snapshot_id: int) -> str:
    return f"{snapshot_id:0{ID_WIDTH}d}"


def _snapshot_id(name: str) -> int | None:
    return int(name) if name.isdigit() and len(name) == ID_WIDTH else None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One committed state of the store (id None: nothing was committed yet)."""

    id: int | None
    path: Path | None
    manifest: dict = field(default_factory=dict)

    @property
    def tables(self) -> dict[str, dict]:
        return self.manifest.get("tables", {})

    def file(self, table: str) -> Path:
        return self.path / self.tables[table]["file"]

    def derived(self, name: str) -> Path | None:
        """A derived file committed with this snapshot's tables (such as its search index), or
        None where it has none: a reader rebuilds what it needs from the tables."""
        entry = self.manifest.get("derived", {}).get(name)
        path = self.path / entry["file"] if entry and self.path else None
        return path if path is not None and path.is_file() else None

    def read(self, table: str) -> pa.Table:
        """The table as committed; empty if this snapshot has none of it (a store nothing wrote
        yet). A table the manifest lists that is missing or unreadable is an error naming it:
        reading it as empty would lose what it held."""
        if self.id is None or table not in self.tables:
            return empty_table(table)
        path = self.file(table)
        if not path.is_file():
            raise StoreError(f"{path}: table {table!r} of snapshot {self.id} is missing; "
                             f"restore the file or `storyflow rollback` to an earlier snapshot")
        try:
            return pq.read_table(path, schema=SCHEMAS[table])
        except (OSError, pa.ArrowException) as exc:
            raise StoreError(f"{path}: table {table!r} of snapshot {self.id} is unreadable ({exc}); "
                             f"restore the file or `storyflow rollback` to an earlier snapshot") from exc


def write_parquet_atomically(path: Path, table: pa.Table) -> None:
    """Replace one file whole or not at all (for derived files beside the snapshots, such as caches)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Store:
    """A store folder (see the module docstring)."""

    def __init__(self, root: Path | str, keep_snapshots: int | None = None):
        self.root = Path(root)
        self.keep_snapshots = max(2, keep_snapshots or StoreConfig().keep_snapshots)

    @property
    def snapshots_dir(self) -> Path:
        return self.root / SNAPSHOTS

    # --- reading ------------------------------------------------------------------------------

    def current(self) -> Snapshot:
        """The committed snapshot now (resolved once: read every table of a run from it)."""
        link = self.root / CURRENT
        if not os.path.lexists(link):
            committed = self.committed_ids()
            if committed:
                raise StoreError(f"{link} is missing but {len(committed)} snapshots exist: "
                                 f"`storyflow rollback --to {committed[-1]}` makes the newest current")
            if legacy_tables(self.root):
                raise StoreError(f"{self.root} has the layout of an earlier storyflow; "
                                 f"the next writing run converts it")
            return Snapshot(None, None)
        return self.load(self._current_id())

    def _current_id(self) -> int | None:
        link = self.root / CURRENT
        if not os.path.lexists(link):
            return None
        if not link.is_symlink():  # copied without keeping links (cp -rL, a sync tool): its manifest names it
            try:
                return int(json.loads((link / MANIFEST).read_text(encoding="utf-8"))["snapshot"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise StoreError(f"{link} is neither a link to a snapshot nor a copy of one ({exc})") from exc
        snapshot_id = _snapshot_id(Path(os.readlink(link)).name)
        if snapshot_id is None:
            raise StoreError(f"{link} points at {os.readlink(link)!r}, not at a snapshot folder")
        return snapshot_id

    def load(self, snapshot_id: int) -> Snapshot:
        path = self.snapshots_dir / _snapshot_name(snapshot_id)
        manifest_file = path / MANIFEST
        try:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise StoreError(f"{manifest_file}: snapshot {snapshot_id} is missing; "
                             f"`storyflow rollback` to an earlier snapshot") from exc
        except (OSError, ValueError) as exc:
            raise StoreError(f"{manifest_file}: unreadable manifest ({exc})") from exc
        return Snapshot(snapshot_id, path, manifest)

    def committed_ids(self) -> list[int]:
        if not self.snapshots_dir.is_dir():
            return []
        found = (_snapshot_id(p.name) for p in self.snapshots_dir.iterdir() if (p / MANIFEST).is_file())
        return sorted(i for i in found if i is not None)

    def history(self) -> list[Snapshot]:
        """Every snapshot kept, oldest first."""
        return [self.load(i) for i in self.committed_ids()]

    # --- writing ------------------------------------------------------------------------------

    @contextmanager
    def writer(self, timeout_s: float | None = None) -> Iterator["Writer"]:
        """Hold the store for one read-modify-write; waits up to `timeout_s` (default: the
        setting's) for another writer."""
        timeout_s = StoreConfig().lock_timeout_s if timeout_s is None else timeout_s
        self.root.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(self.root / LOCK))
        began = time.monotonic()
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            log.info("store busy: another run is writing %s; waiting up to %.0f s", self.root, timeout_s)
            try:
                lock.acquire(timeout=timeout_s)
            except filelock.Timeout as exc:
                raise StoreBusyError(f"refused: another run held {self.root} for more than {timeout_s:.0f} s; "
                                     f"nothing was written") from exc
        try:
            log.info("holding the store %s (waited %.1f s)", self.root, time.monotonic() - began)
            self._clean_up()
            if not os.path.lexists(self.root / CURRENT) and not self.committed_ids() and legacy_tables(self.root):
                convert_legacy(self)
            yield Writer(self, self.current())
        finally:
            lock.release()
            log.info("released the store %s", self.root)

    def _clean_up(self) -> None:
        """Remove what dead writers left: temporary folders and snapshots never made current."""
        if not self.snapshots_dir.is_dir():
            return
        current = self._current_id()
        for path in self.snapshots_dir.iterdir():
            snapshot_id = _snapshot_id(path.name)
            uncommitted = snapshot_id is not None and current is not None and snapshot_id > current
            if path.name.startswith(".") or uncommitted:
                shutil.rmtree(path, ignore_errors=True)
        for stale in self.root.glob(f".{CURRENT}.*"):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)

    def _publish(self, files: dict[str, Path], links: dict[str, Path], base: Snapshot, meta: dict,
                 derived: dict[str, Path] | None = None, derived_links: dict[str, Path] | None = None) -> Snapshot:
        """Write a new snapshot from written `files` and `links` to earlier files; swap `current` to it.
        `derived` (written) and `derived_links` (earlier) are other files of the snapshot, by name."""
        self.snapshots_dir.mkdir(parents=True, exist_ok=True)
        next_id = max([0, *self.committed_ids(), *([base.id] if base.id else [])]) + 1
        staging = self.snapshots_dir / f".{_snapshot_name(next_id)}-{uuid.uuid4().hex[:8]}.tmp"
        staging.mkdir()
        tables = {}
        for table, written in files.items():
            target = staging / table_file_name(table)
            os.replace(written, target)
            tables[table] = target
        for table, earlier in links.items():
            target = staging / table_file_name(table)
            try:
                os.link(earlier, target)
            except OSError:  # a file system without hard links
                shutil.copy2(earlier, target)
            tables[table] = target
        extra = {}
        for name, written in (derived or {}).items():
            os.replace(written, staging / name)
            extra[name] = staging / name
        for name, earlier in (derived_links or {}).items():
            try:
                os.link(earlier, staging / name)
            except OSError:
                shutil.copy2(earlier, staging / name)
            extra[name] = staging / name
        manifest = {
            "format": FORMAT, "snapshot": next_id, "parent": base.id,
            "created_at": datetime.now(timezone.utc).isoformat(), **meta,
            "tables": {name: {"file": path.name, "rows": pq.ParquetFile(path).metadata.num_rows,
                              "bytes": path.stat().st_size} for name, path in sorted(tables.items())},
        }
        if extra:
            manifest["derived"] = {name: {"file": path.name, "bytes": path.stat().st_size} for name, path in sorted(extra.items())}
        manifest_tmp = staging / MANIFEST
        with open(manifest_tmp, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        _fsync(staging)
        final = self.snapshots_dir / _snapshot_name(next_id)
        os.rename(staging, final)
        _fsync(self.snapshots_dir)
        link_tmp = self.root / f".{CURRENT}.{uuid.uuid4().hex[:8]}"
        os.symlink(Path(SNAPSHOTS) / final.name, link_tmp)
        current = self.root / CURRENT
        if current.is_dir() and not current.is_symlink():  # a copied store's folder: set aside, then linked
            aside = self.root / f".{CURRENT}.{uuid.uuid4().hex[:8]}.copy"
            os.rename(current, aside)
            os.replace(link_tmp, current)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.replace(link_tmp, current)  # the commit point
        _fsync(self.root)
        self._prune(next_id)
        return self.load(next_id)

    def _prune(self, current_id: int) -> None:
        for old in self.committed_ids()[:-self.keep_snapshots]:
            if old != current_id:
                # hidden first (one rename), so a prune cut short never leaves half a snapshot listed
                doomed = self.snapshots_dir / f".{_snapshot_name(old)}-pruned"
                os.rename(self.snapshots_dir / _snapshot_name(old), doomed)
                shutil.rmtree(doomed, ignore_errors=True)


class Writer:
    """One run's hold on the store: the snapshot it read, and its one commit."""

    def __init__(self, store: Store, base: Snapshot):
        self.store, self.base = store, base
        self.committed: Snapshot | None = None
        self.derived: dict[str, Path] = {}  # derived files written for the commit, by name
        self._staging: Path | None = None

    @property
    def staging(self) -> Path:
        """This run's hidden folder for what it will commit (removed by the next writer if the run dies)."""
        if self._staging is None:
            self._staging = self.store.snapshots_dir / f".write-{uuid.uuid4().hex[:8]}.tmp"
            self._staging.mkdir(parents=True)
        return self._staging

    def derive(self, name: str, build: Callable[..., Any], *args: Any) -> Any:
        """Write a derived file (not a table: a search index, say) to commit with the tables:
        `build(path, earlier, *args)` writes `path`, where `earlier` is the same file of the
        snapshot this run read, or None. Listed in the manifest under "derived"; never carried
        over by a later commit (it would describe tables that changed), only by a rollback."""
        if not name or "/" in name or name.startswith(".") or name.endswith(".parquet") or name == MANIFEST:
            raise ValueError(f"not a derived file name: {name!r}")
        path = self.staging / name
        result = build(path, self.base.derived(name), *args)
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
        self.derived[name] = path
        return result

    def commit(self, tables: dict[str, pa.Table], **meta) -> Snapshot:
        """Commit `tables` (the others carry over from the snapshot this run read) and the files
        made with `derive` as one snapshot."""
        if self.committed is not None:
            raise StoreError("this run has committed already")
        now = self.store.current()
        if now.id != self.base.id:
            raise StoreChangedError(f"refused: {self.store.root} changed from snapshot {self.base.id} to {now.id} "
                                    f"while this run worked; nothing was written")
        staging = self.staging
        files = {}
        for name, table in tables.items():
            path = staging / table_file_name(name)
            pq.write_table(table.cast(SCHEMAS[name]), path, compression="zstd")
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
            files[name] = path
        links = {name: self.base.file(name) for name in self.base.tables if name not in files}
        try:
            self.committed = self.store._publish(files, links, self.base, meta, self.derived)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            self._staging = None
        return self.committed

    def rollback(self, to: int | None = None, record=None) -> Snapshot:
        """Commit a copy of snapshot `to` (default: the one before the current) as the newest.

        `record(target_snapshot)`, if given, returns tables to write in place of the target's (the
        runs table with a row for the rollback); the others are linked as they were."""
        if self.base.id is None:
            raise StoreError(f"{self.store.root} has no snapshot to roll back from")
        kept = self.store.committed_ids()
        if to is None:
            earlier = [i for i in kept if i < self.base.id]
            if not earlier:
                raise StoreError(f"no snapshot before {self.base.id} is kept")
            to = earlier[-1]
        if to not in kept:
            raise StoreError(f"snapshot {to} is not kept (kept: {', '.join(map(str, kept))})")
        target = self.store.load(to)
        links = {name: target.file(name) for name in target.tables}
        for path in links.values():
            if not path.is_file():
                raise StoreError(f"{path}: missing, snapshot {to} cannot be restored")
        replaced = record(target) if record else {}
        staging = self.store.snapshots_dir / f".write-{uuid.uuid4().hex[:8]}.tmp"
        staging.mkdir(parents=True)
        files = {}
        for name, table in replaced.items():
            files[name] = staging / table_file_name(name)
            pq.write_table(table.cast(SCHEMAS[name]), files[name], compression="zstd")
            with open(files[name], "rb") as fh:
                os.fsync(fh.fileno())
            links.pop(name, None)
        # its derived files describe exactly these stories: they come along
        derived = {name: target.derived(name) for name in target.manifest.get("derived", {}) if target.derived(name)}
        try:
            self.committed = self.store._publish(files, links, self.base, {"kind": "rollback", "rolled_back_to": to},
                                                 derived_links=derived)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return self.committed


# --- the layout of earlier versions: one folder per table, renamed into place under a journal ----

LEGACY_NAMES = {"_minhash_index": ("_minhash_index", "minhash_index")}  # table -> (folder, file stem)
LEGACY_JOURNAL = "_commit.json"


def legacy_tables(root: Path) -> dict[str, Path]:
    found = {}
    for name in SCHEMAS:
        folder, stem = LEGACY_NAMES.get(name, (name, name))
        path = Path(root) / folder / f"{stem}.parquet"
        if path.is_file():
            found[name] = path
    return found


def convert_legacy(store: Store) -> None:
    """Make snapshot 1 of a store in the earlier layout (finishing its last commit's renames
    first), then remove the old folders. The caller holds the writer lock."""
    journal = store.root / LEGACY_JOURNAL
    if journal.exists():
        # the journal holds absolute paths of wherever the store was: rebase them on this folder
        for tmp, final in json.loads(journal.read_text()):
            tmp_here, final_here = (store.root / Path(p).parent.name / Path(p).name for p in (tmp, final))
            if tmp_here.exists():
                os.replace(tmp_here, final_here)
        journal.unlink()
    tables = legacy_tables(store.root)
    log.info("converting %s to snapshots (%d tables)", store.root, len(tables))
    store._publish({}, tables, Snapshot(None, None), {"kind": "conversion"})
    for name, path in tables.items():
        shutil.rmtree(path.parent, ignore_errors=True)
